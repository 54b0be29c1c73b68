/**
 * Selectors against real OVN NB and SB databases (ovsdb-server with Debian's schemas, filled
 * with ovn-nbctl/ovn-sbctl), read through the agent's own OVSDB client and cache.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type OvnDbInstance, startOvnDb } from "../support/ovn_nb.ts";
import { type OvnSbInstance, startOvnSb } from "../support/ovn_sb.ts";
import { configSchema, type ExposeConfig } from "../../src/config/mod.ts";
import { type DatabaseCache, OvsdbClient } from "../../src/ovsdb/mod.ts";
import {
  type ChassisIdentity,
  exposedPrefixes,
  NB_EXPOSE_SPEC,
  SB_EXPOSE_SPEC,
  selectExposure,
} from "../../src/expose/mod.ts";
import { formatPrefix } from "../../src/net/mod.ts";

function settings(expose: Record<string, unknown>): ExposeConfig {
  return configSchema.parse({
    bgp: { asn: 65000, router_id: "192.0.2.1" },
    expose: { enabled: true, sb_connection: "unix:/unused", ...expose },
  }).expose;
}

/** Fills NB and SB with a small but complete topology, hostile rows included. */
async function fill(nb: OvnDbInstance, sb: OvnSbInstance): Promise<void> {
  const n = (args: string[]) => nb.nbctl(args);
  // Provider network (localnet) with a VM.
  await n(["ls-add", "public"]);
  await n(["set", "Logical_Switch", "public", "other_config:subnet=172.24.4.0/24"]);
  await n(["lsp-add", "public", "ln-public"]);
  await n(["lsp-set-type", "ln-public", "localnet"]);
  await n(["lsp-set-addresses", "ln-public", "unknown"]);
  await n(["lsp-add", "public", "vm-prov"]);
  await n(["lsp-set-addresses", "vm-prov", "fa:16:3e:00:00:01 172.24.4.10"]);
  // Layer-2 UDN with KubeVirt VMs in two namespaces, plus a hostile port.
  await n(["ls-add", "l2-vm-net"]);
  await n([
    "set",
    "Logical_Switch",
    "l2-vm-net",
    'external_ids:"k8s.ovn.org/network"=vm-net',
    "other_config:subnet=192.168.100.0/24",
  ]);
  const vm = async (name: string, addr: string, namespace: string, sw = "l2-vm-net") => {
    await n(["lsp-add", sw, name]);
    await n(["lsp-set-addresses", name, addr]);
    await n([
      "set",
      "Logical_Switch_Port",
      name,
      `external_ids:"k8s.ovn.org/namespace"=${namespace}`,
      "options:requested-chassis=node-a",
    ]);
  };
  await vm("vm1", "0a:58:c0:a8:64:0a 192.168.100.10", "vm-workloads");
  await vm("vm-other-ns", "0a:58:c0:a8:64:0c 192.168.100.12", "other");
  await vm(
    "evil; rm -rf / #\u00e9",
    "0a:58:c0:a8:64:0b 0.0.0.0 127.0.0.1 999.1.1.1 224.0.0.5 192.168.100.11 not-an-ip",
    "vm-workloads",
  );
  // A switch claiming the whole Internet as its subnet.
  await n(["ls-add", "badnet"]);
  await n([
    "set",
    "Logical_Switch",
    "badnet",
    'external_ids:"k8s.ovn.org/network"=vm-net',
    'other_config:subnet="0.0.0.0/0 1.0.0.0/1"',
  ]);
  await vm("vm-bad", "0a:58:0a:09:09:09 10.9.9.9", "vm-workloads", "badnet");
  // Tenant network VM with a floating IP, router with a gateway port.
  await n(["ls-add", "tenant"]);
  await n(["lsp-add", "tenant", "tenant-vm"]);
  await n(["lsp-set-addresses", "tenant-vm", "fa:16:3e:00:00:05 10.0.0.5"]);
  await n(["set", "Logical_Switch_Port", "tenant-vm", "options:requested-chassis=node-a"]);
  await n(["lr-add", "r1"]);
  await n(["lrp-add", "r1", "lrp-gw", "fa:16:3e:00:00:aa", "172.24.4.1/24"]);
  await n(["lrp-set-gateway-chassis", "lrp-gw", "node-a", "10"]);
  await n(["lrp-set-gateway-chassis", "lrp-gw", "node-b", "5"]);
  await n([
    "lr-nat-add",
    "r1",
    "dnat_and_snat",
    "172.24.4.100",
    "10.0.0.5",
    "tenant-vm",
    "fa:16:3e:00:00:06",
  ]);
  // Hostile NAT rows: unspecified and garbage external IPs on a bound port.
  for (const ext of ["0.0.0.0", "999.999.1.1"]) {
    await n([
      "--",
      "--id=@n",
      "create",
      "NAT",
      "type=dnat_and_snat",
      `external_ip="${ext}"`,
      "logical_ip=10.0.0.5",
      "logical_port=tenant-vm",
      "--",
      "add",
      "Logical_Router",
      "r1",
      "nat",
      "@n",
    ]);
  }
  await n(["set", "Logical_Switch_Port", "vm-prov", "options:requested-chassis=node-a"]);

  await sb.addChassis("node-a", { hostname: "worker-a" });
  await sb.addChassis("node-b");
  for (
    const p of ["vm-prov", "vm1", "vm-other-ns", "evil; rm -rf / #\u00e9", "vm-bad", "tenant-vm"]
  ) {
    await sb.addPortBinding(p);
    await sb.bind(p, "node-a");
  }
  await sb.addPortBinding("cr-lrp-gw", { type: "chassisredirect" });
  await sb.bind("cr-lrp-gw", "node-a");
}

interface Caches {
  nb: DatabaseCache;
  sb: DatabaseCache;
  close(): Promise<void>;
}

async function monitor(nb: OvnDbInstance, sb: OvnSbInstance): Promise<Caches> {
  const n = new OvsdbClient({ remotes: nb.unixRemote, database: "OVN_Northbound" });
  const s = new OvsdbClient({ remotes: sb.unixRemote, database: "OVN_Southbound" });
  await n.connect();
  await s.connect();
  return {
    nb: await n.monitor(NB_EXPOSE_SPEC),
    sb: await s.monitor(SB_EXPOSE_SPEC),
    close: async () => {
      await n.close();
      await s.close();
    },
  };
}

function select(c: Caches, chassis: ChassisIdentity, cfg: ExposeConfig) {
  const rows = (db: DatabaseCache, t: string) => db.table(t).rows();
  return selectExposure({
    switches: rows(c.nb, "Logical_Switch"),
    ports: rows(c.nb, "Logical_Switch_Port"),
    routerPorts: rows(c.nb, "Logical_Router_Port"),
    gatewayChassis: rows(c.nb, "Gateway_Chassis"),
    nats: rows(c.nb, "NAT"),
    chassis: rows(c.sb, "Chassis"),
    bindings: rows(c.sb, "Port_Binding"),
  }, { chassis, settings: cfg });
}

const hostsOf = (s: ReturnType<typeof select>) =>
  s.hosts.map((h) => `${h.text} ${h.reason} ${h.port}`);

Deno.test("expose selectors: real NB/SB rows, every selector, hostile rows rejected", async () => {
  await using nb = await startOvnDb();
  await using sb = await startOvnSb();
  await fill(nb, sb);
  const c = await monitor(nb, sb);
  try {
    const cfg = settings({
      select: { layer2: { networks: ["vm-net"], namespaces: ["vm-workloads"] } },
      subnets: true,
    });
    const a = select(c, { name: "node-a" }, cfg);
    assertEquals(hostsOf(a), [
      "10.9.9.9/32 layer2 vm-bad",
      "172.24.4.1/32 gateway lrp-gw",
      "172.24.4.10/32 provider vm-prov",
      "172.24.4.100/32 floating_ip tenant-vm",
      "192.168.100.10/32 layer2 vm1",
      "192.168.100.11/32 layer2 evil; rm -rf / #\u00e9",
    ]);
    assertEquals([...new Set(a.subnets.map((s) => s.text))], ["172.24.4.0/24", "192.168.100.0/24"]);
    const reasons = a.rejected.map((r) => r.reason).join("\n");
    for (
      const bad of [
        "0.0.0.0/32: inside special-purpose range 0.0.0.0/8",
        "127.0.0.1/32: inside special-purpose range 127.0.0.0/8",
        "224.0.0.5/32: inside special-purpose range 224.0.0.0/3",
        '"999.1.1.1" is not an IP address',
        '"not-an-ip" is not an IP address',
        "0.0.0.0/0: default route",
        "0.0.0.0/1: subnet shorter than /8", // 1.0.0.0/1 with host bits cleared
        'external_ip "999.999.1.1" is not an IP address',
      ]
    ) assert(reasons.includes(bad), `missing rejection ${bad} in:\n${reasons}`);
    // Nothing hostile is in what would reach the kernel and FRR.
    const all = exposedPrefixes(a).map(formatPrefix);
    for (const p of all) {
      assert(!/^(0\.|127\.|224\.)/.test(p) && !p.endsWith("/0") && !p.endsWith("/1"), p);
    }

    // Node B: nothing is bound there (the gateway's priority 5 chassis does not count).
    const b = select(c, { name: "node-b" }, cfg);
    assertEquals(b.hosts.length + b.subnets.length, 0);

    // Aggregation: host routes inside an advertised subnet are left out.
    const agg = select(c, { name: "node-a" }, { ...cfg, aggregate: true });
    assertEquals(agg.hosts.map((h) => h.text), ["10.9.9.9/32"]);

    // Selectors off: only the layer-2 namespace filter picks vm1 and the evil port.
    const l2only = select(
      c,
      { name: "node-a" },
      settings({
        select: {
          provider_networks: false,
          floating_ips: false,
          gateway_ports: false,
          layer2: { networks: ["l2-vm-net"], namespaces: ["vm-workloads"] },
        },
        allowed: ["192.168.100.0/24"],
      }),
    );
    assertEquals(l2only.hosts.map((h) => h.text), ["192.168.100.10/32", "192.168.100.11/32"]);

    // binding_source nb: requested-chassis and Gateway_Chassis priorities give the same set.
    const viaNb = select(c, { name: "node-a" }, { ...cfg, binding_source: "nb" });
    assertEquals(hostsOf(viaNb), hostsOf(a));

    // Moving the VM's binding in SB moves it out of node A's set and into node B's.
    await sb.bind("vm1", "node-b");
    await waitForRow(() => select(c, { name: "node-b" }, cfg).hosts.some((h) => h.port === "vm1"));
    assert(!select(c, { name: "node-a" }, cfg).hosts.some((h) => h.port === "vm1"));
  } finally {
    await c.close();
  }
});

async function waitForRow(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error("cache never saw the change");
    await new Promise((r) => setTimeout(r, 20));
  }
}
