/**
 * Guest side of tests/e2e/expose_guest_test.ts (needs VRF and dummy: run it in the QEMU guest).
 * One node namespace with FRR and a real `vpnv4-agent run` process (binding_source nb against
 * a real NB ovsdb-server), a GoBGP ipv4/ipv6-unicast peer in a second namespace. For expose
 * methods `table` and then `dummy` (the second agent takes over the first one's state): the
 * dual-stack VM bound to this node reaches GoBGP with 64512:200, its subnets with 64512:100;
 * the node's main table gets no route for them (the leak from bgp-vrf stays out of zebra);
 * moving the binding away withdraws them. Prints one `EXPOSE_RESULT {json}` line.
 * @module
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { startFrr } from "../../support/frr.ts";
import { type GobgpPath, startGobgp } from "../../support/gobgp.ts";
import { startOvnDb } from "../../support/ovn_nb.ts";
import { freePort, waitFor } from "../../support/proc.ts";
import { createTopology } from "../../support/topology.ts";

const started = performance.now();
/** Progress on stderr (the guest harness streams it), with seconds since start. */
const step = (what: string) =>
  console.error(`[expose-guest ${((performance.now() - started) / 1000).toFixed(1)}s] ${what}`);
const MAIN = new URL("../../../main.ts", import.meta.url).pathname;
const PORT = "vm-workloads_web-vm";
const PREFIXES = ["192.168.100.10/32", "192.168.100.0/24", "fd00:100::10/128", "fd00:100::/64"];

function communitiesOf(path: GobgpPath): number[] {
  const attr = path.attrs.find((a) => a.type === 8) as { communities?: number[] } | undefined;
  return attr?.communities ?? [];
}

await using topo = await createTopology({ prefix: "xg" });
const node = topo.a, peer = topo.b;
const dir = await Deno.makeTempDir({ prefix: "vpnv4-expose-guest-" });
await using nb = await startOvnDb();
await nb.nbctl(["ls-add", "l2-vm-net"]);
await nb.nbctl([
  ...["set", "Logical_Switch", "l2-vm-net", 'external_ids:"k8s.ovn.org/network"=vm-net'],
  ...["other_config:subnet=192.168.100.0/24", "other_config:ipv6_prefix=fd00:100::/64"],
]);
await nb.nbctl(["lsp-add", "l2-vm-net", PORT]);
await nb.nbctl(["lsp-set-addresses", PORT, "0a:58:c0:a8:64:0a 192.168.100.10 fd00:100::10"]);
const bind = (chassis: string) =>
  nb.nbctl([
    ...["set", "Logical_Switch_Port", PORT, 'external_ids:"k8s.ovn.org/namespace"=vm-workloads'],
    `options:requested-chassis=${chassis}`,
  ]);

step("topology and NB ready");
await using gobgp = await startGobgp({
  netns: peer.netns,
  config: {
    global: { config: { as: 65000, "router-id": peer.address, port: 179 } },
    neighbors: [{
      config: { "neighbor-address": node.address, "peer-as": 65001 },
      "afi-safis": [
        { config: { "afi-safi-name": "ipv4-unicast" } },
        { config: { "afi-safi-name": "ipv6-unicast" } },
      ],
    }],
  },
});
await using frr = await startFrr({ netns: node.netns, name: "xgnode" });
step("GoBGP and FRR running");

/** GoBGP's paths from the node, prefix → communities (the CLI can time out under TCG: retried). */
async function rib(): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const family of ["ipv4", "ipv6"]) {
    let table: Record<string, GobgpPath[]> | undefined;
    for (let i = 0; !table; i++) {
      try {
        table = await gobgp.rib(family);
      } catch (e) {
        if (i >= 5) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    for (const [prefix, paths] of Object.entries(table)) {
      const p = paths.find((x) => x["neighbor-ip"] === node.address);
      if (p) out.set(prefix, communitiesOf(p));
    }
  }
  return out;
}

/** Routes of the node's main table (IPv4 and IPv6) that mention the VM's networks. */
async function mainTableVmRoutes(): Promise<string[]> {
  const out = (await topo.exec("a", ["ip", "-4", "route", "show", "table", "main"])) +
    (await topo.exec("a", ["ip", "-6", "route", "show", "table", "main"]));
  return out.split("\n").filter((l) => l.includes("192.168.100.") || l.includes("fd00:100:"));
}

async function runMethod(method: "table" | "dummy") {
  const listen = `127.0.0.1:${freePort()}`;
  const config = `${dir}/${method}.yaml`;
  await Deno.writeTextFile(
    config,
    `bgp:
  asn: 65001
  router_id: ${node.address}
  peers:
    - address: ${peer.address}
      remote_asn: 65000
      families: [ipv4, ipv6]
expose:
  enabled: true
  chassis: { name: node-a }
  binding_source: nb
  nb_connection: "${nb.unixRemote}"
  method: ${method}
  families: [ipv4, ipv6]
  select:
    layer2: { networks: [vm-net], namespaces: [vm-workloads] }
  subnets: true
allocation:
  state_file: ${dir}/state-${method}/state.json
frr:
  pathspace: ${frr.name}
kernel:
  vrf_mode: device
  mpls: "off"
reconcile:
  debounce_ms: 50
  frr_check_s: 1
http:
  listen: ${listen}
log:
  level: info
`,
  );
  await bind("node-a");
  step(`${method}: starting the agent`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "run", "--config", config, "--netns", node.netns],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const logDone = (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) log += dec.decode(c, { stream: true });
  })();
  let view = new Map<string, number[]>();
  try {
    const t0 = performance.now();
    await waitFor(async () => {
      view = await rib();
      return PREFIXES.every((p) => view.has(p));
    }, {
      timeoutMs: 150_000,
      intervalMs: 1000,
      describe: () =>
        `${method}: GoBGP never got ${PREFIXES.join(", ")}: ${JSON.stringify([...view])}\n${
          log.slice(-4000)
        }`,
    });
    const advertisedMs = Math.round(performance.now() - t0);
    step(`${method}: GoBGP has every prefix after ${advertisedMs} ms`);
    // Give a leaked route time to show up in zebra/the kernel if the table-map failed.
    await new Promise((r) => setTimeout(r, 3000));
    const mainBefore = await mainTableVmRoutes();
    const vrfTable = (await topo.exec("a", ["ip", "route", "show", "table", "10"])) +
      (await topo.exec("a", ["ip", "-6", "route", "show", "table", "10"]));
    const nic = method === "dummy"
      ? await topo.exec("a", ["ip", "-o", "addr", "show", "dev", "bgp-nic"])
      : "";
    const status = await (await fetch(`http://${listen}/status`)).json() as {
      sources: { id: string; synced: boolean }[];
    };
    const advertised = Object.fromEntries(PREFIXES.map((p) => [p, view.get(p)]));

    await bind("node-b");
    const t1 = performance.now();
    await waitFor(async () => {
      view = await rib();
      return PREFIXES.every((p) => !view.has(p));
    }, {
      timeoutMs: 60_000,
      intervalMs: 500,
      describe: () => `${method}: not withdrawn: ${JSON.stringify([...view])}\n${log.slice(-3000)}`,
    });
    const withdrawnMs = Math.round(performance.now() - t1);
    step(`${method}: withdrawn after ${withdrawnMs} ms`);
    const nicAfter = method === "dummy"
      ? await topo.exec("a", ["ip", "-o", "addr", "show", "dev", "bgp-nic"])
      : "";
    const result = {
      method,
      advertised,
      advertisedMs,
      withdrawnMs,
      mainTable: mainBefore,
      vrfTable: vrfTable.split("\n").filter((l) => l !== ""),
      nic: nic.split("\n").filter((l) => l !== "").map((l) => l.split(/\s+/).slice(2, 4).join(" ")),
      nicAfter: nicAfter.split("\n").filter((l) => l.includes("192.168.") || l.includes("fd00:")),
      expose: status.sources.filter((s) => s.id.startsWith("expose:")),
      running: await frr.vtysh("show running-config"),
    };
    // Checked here too, so a failure names its method with the agent's log.
    assertEquals(result.mainTable, [], `${method}: main table\n${log.slice(-3000)}`);
    assert(result.expose[0]?.synced === true, JSON.stringify(status.sources));
    return result;
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await logDone;
  }
}

const results = [];
for (const method of ["table", "dummy"] as const) results.push(await runMethod(method));
console.log(`EXPOSE_RESULT ${JSON.stringify(results)}`);
await Deno.remove(dir, { recursive: true }).catch(() => {});
