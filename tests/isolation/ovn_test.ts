/**
 * Tenant isolation from OVN NB data: generated Logical_Switch_Port rows (hostile namespace
 * names, 0.0.0.0 and ::, default routes in neutron:cidrs, addresses outside `allowed` or in
 * `deny`, the same address on ports of different tenants) through the tenant index and the
 * tenant-set gate, against the independent model; and once through a real ovsdb-server and the
 * real OVSDB client (snapshotOvnTenants).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startOvnDb } from "../support/ovn_nb.ts";
import { mixSeed } from "../fuzz/prng.ts";
import { formatPrefix, parsePrefix } from "../../src/net/mod.ts";
import { buildTenantSet, compilePolicy, type RawTenant } from "../../src/tenants/mod.ts";
import { snapshotOvnTenants, TenantIndex } from "../../src/ovn/mod.ts";
import { namespaceName, POLICY_CONFIG, Rng } from "./_gen.ts";
import { expectedExports } from "./_oracle.ts";

const NS = "k8s.ovn.org/namespace";
const PROJECT = "neutron:project_id";
const policy = compilePolicy(POLICY_CONFIG);
const model = {
  allowed: POLICY_CONFIG.allowed.map((p) => parsePrefix(p)),
  deny: POLICY_CONFIG.deny.map((p) => parsePrefix(p)),
};

interface GenPort {
  name: string;
  type: string;
  addresses: string[];
  ids: Record<string, string>;
  /** What the model expects this port to contribute (host prefixes of usable addresses). */
  tenant?: string;
  hosts: string[];
}

function mac(rng: Rng): string {
  return Array.from(
    { length: 6 },
    (_, i) => (i === 0 ? 0x0a : rng.int(256)).toString(16).padStart(2, "0"),
  ).join(":");
}

function genPorts(rng: Rng, count: number): GenPort[] {
  const tenants = Array.from({ length: rng.range(2, 6) }, () => namespaceName(rng));
  const shared = Array.from(
    { length: 3 },
    () => `10.${rng.int(4)}.${rng.int(4)}.${rng.range(1, 4)}`,
  );
  const ports: GenPort[] = [];
  for (let i = 0; i < count; i++) {
    const tenant = rng.pick(tenants);
    const ips = Array.from({ length: rng.range(0, 3) }, () =>
      rng.pick([
        rng.pick(shared),
        `10.${rng.int(256)}.${rng.int(256)}.${rng.range(1, 254)}`,
        `10.${rng.range(96, 111)}.0.${rng.range(1, 254)}`, // deny
        `192.168.${rng.int(256)}.${rng.range(1, 254)}`, // outside allowed
        "0.0.0.0",
        "::",
        `fd00:${rng.int(65536).toString(16)}::${rng.range(1, 999)}`,
        "2001:db8::1",
      ]));
    const type = rng.pick(["", "", "", "router", "localnet", "virtual"]);
    const key = rng.pick([NS, NS, PROJECT, "other"]);
    const cidrs = rng.chance(0.2) ? rng.pick(["0.0.0.0/0", "::/0", "10.7.0.9/24"]) : undefined;
    const ids: Record<string, string> = {
      [key]: tenant,
      ...(cidrs ? { "neutron:cidrs": cidrs } : {}),
    };
    const entry = ips.length > 0
      ? [`${mac(rng)} ${ips.join(" ")}`]
      : [rng.pick(["unknown", "router", mac(rng) + " dynamic"])];
    const workload = type === "" || type === "virtual";
    const named = key !== "other" && tenant !== "";
    const all = [...ips, ...(cidrs ? [cidrs.split("/")[0]] : [])];
    ports.push({
      name: `p${i}`,
      type,
      addresses: entry,
      ids,
      tenant: workload && named ? tenant : undefined,
      hosts: all.map((ip) => formatPrefix(parsePrefix(ip, { allowBareAddress: true }))),
    });
  }
  return ports;
}

/** The model: raw tenants as the rows describe them. */
function modelRaws(ports: GenPort[]): RawTenant[] {
  return ports.filter((p) => p.tenant !== undefined).map((p) => ({
    name: p.tenant!,
    prefixes: p.hosts,
  }));
}

function exported(raws: RawTenant[]): Record<string, string[]> {
  const set = buildTenantSet(raws, policy);
  return nonEmpty([...set.tenants.values()]);
}

/** Tenant → sorted prefixes, leaving out tenants left without any (e.g. after conflicts). */
function nonEmpty(
  tenants: { name: string; prefixes: readonly Parameters<typeof formatPrefix>[0][] }[],
) {
  return Object.fromEntries(
    tenants.filter((t) => t.prefixes.length > 0).map((
      t,
    ) => [t.name, t.prefixes.map(formatPrefix).sort()]),
  );
}

function expected(ports: GenPort[]): Record<string, string[]> {
  return Object.fromEntries(
    [...expectedExports(modelRaws(ports), model)].filter(([, p]) => p.length > 0),
  );
}

Deno.test("isolation: OVN rows export only a tenant's own, allowed, unclaimed host prefixes", () => {
  let total = 0;
  for (let run = 0; run < 200; run++) {
    const rng = new Rng(mixSeed(0x0f1, run));
    const ports = genPorts(rng, rng.range(1, 20));
    const index = new TenantIndex({ namespaceKeys: [NS, PROJECT], prefixMode: "host", policy });
    ports.forEach((p, i) =>
      index.upsertPort({
        _uuid: `u${i}`,
        name: p.name,
        type: p.type,
        addresses: p.addresses,
        external_ids: new Map(Object.entries(p.ids)),
      })
    );
    const got = exported(index.tenants());
    assertEquals(got, expected(ports), `run ${run}`);
    total += Object.values(got).flat().length;
  }
  assert(total > 300, `only ${total} prefixes exported`);
});

Deno.test("isolation: the same through a real ovsdb-server and the OVSDB client", async () => {
  await using nb = await startOvnDb();
  const rng = new Rng(0x0f2);
  const ports = genPorts(rng, 40);
  // One transaction with the exact strings (ovsdb-client takes any UTF-8, unlike shell args).
  const ops: unknown[] = [{
    op: "insert",
    table: "Logical_Switch",
    row: { name: "sw0", ports: ["set", ports.map((_, i) => ["named-uuid", `p${i}`])] },
  }];
  ports.forEach((p, i) =>
    ops.push({
      op: "insert",
      table: "Logical_Switch_Port",
      "uuid-name": `p${i}`,
      row: {
        name: p.name,
        type: p.type,
        addresses: ["set", p.addresses],
        external_ids: ["map", Object.entries(p.ids)],
      },
    })
  );
  await nb.client(["transact", "{remote}", JSON.stringify(["OVN_Northbound", ...ops])]);
  const set = await snapshotOvnTenants({
    connection: nb.unixRemote,
    namespace_keys: [NS, PROJECT],
    prefix_mode: "host",
    subnets: {},
    debounce_ms: 0,
  }, policy);
  const got = nonEmpty([...set.tenants.values()]);
  assertEquals(got, expected(ports));
  assert(Object.keys(got).length > 0, "nothing exported");
  // Hostile names were refused, not exported.
  for (const name of Object.keys(got)) assert(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name), name);
});
