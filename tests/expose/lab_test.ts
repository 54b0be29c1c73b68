/**
 * Expose mode end to end on the host kernel (no VRF: `kernel.vrf_mode: table`, so
 * `expose.method: network`): two node namespaces, each with its own FRR and a real
 * `vpnv4-agent run` process (binding_source sb against a real SB ovsdb-server, topology from a
 * real NB), and a plain ipv4/ipv6-unicast GoBGP peer in a third namespace. A dual-stack VM
 * port bound to node A is advertised by A only (IPv4 and IPv6), with community 64512:200, its
 * subnets with 64512:100; moving Port_Binding.chassis to B moves the advertisements to B, and
 * A withdraws them. Neither node gets a route in its kernel (FRR network statements only).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startFrr } from "../support/frr.ts";
import { type GobgpPath, startGobgp } from "../support/gobgp.ts";
import { startOvnDb } from "../support/ovn_nb.ts";
import { startOvnSb } from "../support/ovn_sb.ts";
import { startOvsLocal } from "../support/ovs_local.ts";
import { freePort, run, runOk, shortId, waitFor } from "../support/proc.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Standard community as GoBGP prints it (a uint32). */
const community = (text: string) => {
  const [a, b] = text.split(":").map(Number);
  return a * 65536 + b;
};

function communitiesOf(path: GobgpPath): number[] {
  const attr = path.attrs.find((a) => a.type === 8) as { communities?: number[] } | undefined;
  return attr?.communities ?? [];
}

/** prefix → neighbor ips advertising it, with their communities. */
async function ribView(
  rib: () => Promise<Record<string, GobgpPath[]>>,
): Promise<Map<string, Map<string, number[]>>> {
  const out = new Map<string, Map<string, number[]>>();
  for (const [prefix, paths] of Object.entries(await rib())) {
    const m = new Map<string, number[]>();
    for (const p of paths) m.set(String(p["neighbor-ip"]), communitiesOf(p));
    out.set(prefix, m);
  }
  return out;
}

function show(v: Map<string, Map<string, number[]>>): string {
  return JSON.stringify([...v].map(([p, m]) => [p, [...m]]));
}

/**
 * The IPv4 and IPv6 routes of `netns` (all tables, main included) that the kernel did not make
 * itself for an address (`proto kernel`) and that were not learned from the GoBGP peer (it
 * passes one node's routes to the other: `via 172.31.x.2`), one line each, sorted.
 */
async function allRoutes(netns: string): Promise<string[]> {
  const out = (await runOk("ip", ["-n", netns, "-4", "route", "show", "table", "all"])) +
    (await runOk("ip", ["-n", netns, "-6", "route", "show", "table", "all"]));
  return out.split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.includes(" proto kernel ") && !/ via 172\.31\.[12]\.2 /.test(l))
    .sort();
}

interface AgentProc {
  child: Deno.ChildProcess;
  log: () => string;
  done: Promise<string>;
}

function startAgent(config: string, netns: string): AgentProc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "run", "--config", config, "--netns", netns],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) text += dec.decode(chunk, { stream: true });
    return text;
  })();
  return { child, log: () => text, done };
}

async function reap(agent: AgentProc | undefined): Promise<void> {
  if (!agent) return;
  try {
    agent.child.kill("SIGTERM");
  } catch { /* exited */ }
  await agent.child.status;
  await agent.done;
}

Deno.test({
  name: "expose lab: VM host route follows the SB binding from node A to node B at a GoBGP peer",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const id = shortId(4);
    const ns = { a: `xa-${id}`, b: `xb-${id}`, g: `xg-${id}` };
    const created: string[] = [];
    const agents: (AgentProc | undefined)[] = [];
    const dir = await Deno.makeTempDir({ prefix: "vpnv4-expose-lab-" });
    const cleanups: (() => Promise<void>)[] = [];
    try {
      for (const n of Object.values(ns)) {
        await runOk("ip", ["netns", "add", n]);
        created.push(n);
        await runOk("ip", ["-n", n, "link", "set", "lo", "up"]);
      }
      // a(172.31.1.1) — g(172.31.1.2), b(172.31.2.1) — g(172.31.2.2)
      for (const [side, net] of [["a", 1], ["b", 2]] as const) {
        const node = ns[side];
        await runOk("ip", [
          ...["-n", node, "link", "add", "uplink", "type", "veth"],
          ...["peer", "name", `to-${side}`, "netns", ns.g],
        ]);
        await runOk("ip", ["-n", node, "addr", "add", `172.31.${net}.1/30`, "dev", "uplink"]);
        await runOk("ip", ["-n", node, "link", "set", "uplink", "up"]);
        await runOk("ip", ["-n", ns.g, "addr", "add", `172.31.${net}.2/30`, "dev", `to-${side}`]);
        await runOk("ip", ["-n", ns.g, "link", "set", `to-${side}`, "up"]);
      }

      // OVN: NB topology (a layer-2 UDN with one VM port), SB chassis and binding.
      const nb = await startOvnDb();
      cleanups.push(() => nb.stop());
      const sb = await startOvnSb();
      cleanups.push(() => sb.stop());
      await nb.nbctl(["ls-add", "l2-vm-net"]);
      await nb.nbctl([
        "set",
        "Logical_Switch",
        "l2-vm-net",
        'external_ids:"k8s.ovn.org/network"=vm-net',
        "other_config:subnet=192.168.100.0/24",
        "other_config:ipv6_prefix=fd00:100::/64",
      ]);
      await nb.nbctl(["lsp-add", "l2-vm-net", "vm-workloads_web-vm"]);
      await nb.nbctl([
        "lsp-set-addresses",
        "vm-workloads_web-vm",
        "0a:58:c0:a8:64:0a 192.168.100.10 fd00:100::10",
      ]);
      await nb.nbctl([
        "set",
        "Logical_Switch_Port",
        "vm-workloads_web-vm",
        'external_ids:"k8s.ovn.org/namespace"=vm-workloads',
      ]);
      await sb.addChassis("node-a");
      await sb.addChassis("node-b");
      await sb.addPortBinding("vm-workloads_web-vm");
      await sb.bind("vm-workloads_web-vm", "node-a");
      // Node A learns its chassis name from its local OVS database, node B from config.
      const ovsA = await startOvsLocal({ systemId: "node-a", hostname: "worker-a" });
      cleanups.push(() => ovsA.stop());

      const frrA = await startFrr({ netns: ns.a, name: `ea${id}` });
      cleanups.push(() => frrA.stop());
      const frrB = await startFrr({ netns: ns.b, name: `eb${id}` });
      cleanups.push(() => frrB.stop());
      const gobgp = await startGobgp({
        netns: ns.g,
        config: {
          global: { config: { as: 65000, "router-id": "172.31.1.2", port: 179 } },
          neighbors: [1, 2].map((n) => ({
            config: { "neighbor-address": `172.31.${n}.1`, "peer-as": 65000 + n },
            "afi-safis": [
              { config: { "afi-safi-name": "ipv4-unicast" } },
              { config: { "afi-safi-name": "ipv6-unicast" } },
            ],
          })),
        },
      });
      cleanups.push(() => gobgp.stop());

      const listen = { a: `127.0.0.1:${freePort()}`, b: `127.0.0.1:${freePort()}` };
      const listenB = listen.b;
      const configFor = async (side: "a" | "b", n: number, frrName: string) => {
        const path = `${dir}/${side}.yaml`;
        const chassis = side === "a"
          ? `{ ovs_connection: "${ovsA.unixRemote}" }`
          : "{ name: node-b }";
        await Deno.writeTextFile(
          path,
          `bgp:
  asn: ${65000 + n}
  router_id: 172.31.${n}.1
  peers:
    - address: 172.31.${n}.2
      remote_asn: 65000
      description: lab-peer
      families: [ipv4, ipv6]
expose:
  enabled: true
  chassis: ${chassis}
  binding_source: sb
  sb_connection: "${sb.unixRemote}"
  nb_connection: "${nb.unixRemote}"
  method: network
  families: [ipv4, ipv6]
  select:
    layer2:
      networks: [vm-net]
      namespaces: [vm-workloads]
  subnets: true
allocation:
  state_file: ${dir}/${side}-state/state.json
frr:
  pathspace: ${frrName}
kernel:
  vrf_mode: table
  mpls: "off"
reconcile:
  debounce_ms: 50
  frr_check_s: 1
http:
  listen: ${listen[side]}
log:
  level: debug
  format: json
`,
        );
        return path;
      };
      const cfgA = await configFor("a", 1, frrA.name);
      const cfgB = await configFor("b", 2, frrB.name);
      // The kernel state of the nodes before the agents run: method network adds nothing.
      const before = { a: await allRoutes(ns.a), b: await allRoutes(ns.b) };
      agents.push(startAgent(cfgA, ns.a), startAgent(cfgB, ns.b));
      const logs = () =>
        agents.map((a, i) => `--- agent ${"ab"[i]}\n${a?.log().slice(-3000)}`).join("\n");

      const HOST = "192.168.100.10/32", SUBNET = "192.168.100.0/24";
      const HOST6 = "fd00:100::10/128", SUBNET6 = "fd00:100::/64";
      const rib = async () =>
        new Map([
          ...await ribView(() => gobgp.rib("ipv4")),
          ...await ribView(() => gobgp.rib("ipv6")),
        ]);
      let view = new Map<string, Map<string, number[]>>();
      await waitFor(async () => {
        view = await rib();
        return [HOST, SUBNET, HOST6, SUBNET6].every((p) => view.get(p)?.has("172.31.1.1"));
      }, {
        timeoutMs: 90_000,
        intervalMs: 500,
        describe: () =>
          `GoBGP never got ${HOST}, ${SUBNET}, ${HOST6}, ${SUBNET6} from node A: ${
            show(view)
          }\n${logs()}`,
      });
      assertEquals([...view.get(HOST)!.keys()], ["172.31.1.1"], "only node A advertises the VM");
      assertEquals(view.get(HOST)!.get("172.31.1.1"), [community("64512:200")]);
      assertEquals([...view.get(SUBNET)!.keys()], ["172.31.1.1"]);
      assertEquals(view.get(SUBNET)!.get("172.31.1.1"), [community("64512:100")]);
      assertEquals([...view.get(HOST6)!.keys()], ["172.31.1.1"], "IPv6 over ipv6 unicast");
      assertEquals(view.get(HOST6)!.get("172.31.1.1"), [community("64512:200")]);
      assertEquals(view.get(SUBNET6)!.get("172.31.1.1"), [community("64512:100")]);
      // Nothing went into either node's kernel (no blackhole for its own VM in main).
      assertEquals(await allRoutes(ns.a), before.a, "node A's routes are untouched");
      assertEquals(await allRoutes(ns.b), before.b, "node B's routes are untouched");

      // Live migration: the binding moves to node B in one SB transaction.
      const moved = performance.now();
      await sb.bind("vm-workloads_web-vm", "node-b");
      await waitFor(async () => {
        view = await rib();
        return [HOST, SUBNET, HOST6, SUBNET6].every((p) =>
          view.get(p)?.size === 1 && view.get(p)?.has("172.31.2.1")
        );
      }, {
        timeoutMs: 60_000,
        intervalMs: 200,
        describe: () => `advertisement did not move to node B: ${show(view)}\n${logs()}`,
      });
      console.log(
        `binding move → GoBGP sees only node B: ${Math.round(performance.now() - moved)} ms`,
      );
      assertEquals(view.get(HOST)!.get("172.31.2.1"), [community("64512:200")]);
      assertEquals(view.get(SUBNET)!.get("172.31.2.1"), [community("64512:100")]);
      assertEquals(view.get(HOST6)!.get("172.31.2.1"), [community("64512:200")]);
      assertEquals(await allRoutes(ns.a), before.a, "node A's routes are untouched");
      assertEquals(await allRoutes(ns.b), before.b, "node B's routes are untouched");

      // The configuration is the agents' own network statements: B has them, A none.
      const runA = await frrA.vtysh("show running-config");
      const runB = await frrB.vtysh("show running-config");
      assert(runA.includes("route-map VPNV4-EXPOSE-IPV4 permit 10"), runA);
      assert(!runA.includes("network 192.168.100"), runA);
      assert(runB.includes("network 192.168.100.10/32 route-map VPNV4-EXPOSE-IPV4"), runB);
      assert(runB.includes("network fd00:100::10/128 route-map VPNV4-EXPOSE-IPV6"), runB);

      // /status lists the expose source, synced.
      const status = await (await fetch(`http://${listenB}/status`)).json() as {
        sources: { id: string; synced: boolean; error?: string }[];
      };
      const src = status.sources.find((x) => x.id === "expose:node-b");
      assert(src?.synced === true && src.error === undefined, JSON.stringify(status.sources));
    } finally {
      for (const a of agents) await reap(a);
      for (const c of cleanups.reverse()) await c().catch(() => {});
      for (const n of created) await run("ip", ["netns", "del", n]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
