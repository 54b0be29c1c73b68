/**
 * TenantIndex kept up to date row by row, and through full snapshots (a reconnect with a
 * cache that keeps no rows), agrees with an index built from the current rows alone, hostile
 * rows included; canonical OVSDB uuids (the typed table) and other keys alike.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type LspRow, TenantIndex, type TenantIndexOptions } from "../../src/ovn/mod.ts";
import { compilePolicy } from "../../src/tenants/mod.ts";
import { uniform } from "../fuzz/prng.ts";

const NS = "k8s.ovn.org/namespace";
const policy = compilePolicy({
  allowed: ["10.0.0.0/8", "fd00::/8"],
  deny: ["10.99.0.0/16"],
  max_prefixes_per_tenant: 1000,
});

const ADDRESSES = [
  "0a:00:00:00:00:01 10.1.0.1",
  "0a:00:00:00:00:02 10.1.0.2 fd00::2",
  "0a:00:00:00:00:03 10.1.0.1", // same address as the first: counted twice in one tenant
  "0a:00:00:00:00:04 10.99.0.4", // denied
  "0a:00:00:00:00:05 192.168.0.5", // outside allowed
  "0a:00:00:00:00:06 not-an-ip",
  "unknown",
  "router",
  "0a:00:00:00:00:07 10.1.0.7/24",
];
const TENANTS = ["ns-a", "ns-b", "ns-c", "bad name!", ""];
const TYPES = ["", "", "", "router", "virtual"];

function randomRow(uuid: string, rand: () => number): LspRow {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const addresses = Array.from({ length: Math.floor(rand() * 3) }, () => pick(ADDRESSES));
  const ids = new Map<string, string>();
  if (rand() < 0.9) ids.set(NS, pick(TENANTS));
  if (rand() < 0.2) ids.set("neutron:cidrs", pick(["10.2.0.9/24", "10.99.1.1/24", "x/y"]));
  return {
    _uuid: uuid,
    type: pick(TYPES),
    addresses,
    dynamic_addresses: rand() < 0.2 ? "0a:00:00:00:00:08 10.1.0.8" : undefined,
    external_ids: ids,
  };
}

function state(index: TenantIndex) {
  return {
    tenants: index.tenants().map((t) => [t.name, t.prefixes]),
    changed: [...index.takeChanged()].sort(),
    rejections: index.rejections().map((r) => JSON.stringify(r)).sort(),
    ports: index.portCount,
  };
}

function uuidOf(i: number): string {
  // Half canonical (as ovsdb-server writes them), half other strings.
  return i % 2 ? `${i.toString(16).padStart(8, "0")}-0000-4000-8000-00000000000${i % 10}` : `u${i}`;
}

function tenantsOf(index: TenantIndex) {
  return index.tenants().map((t) => [t.name, t.prefixes]);
}

function rebuilt(options: TenantIndexOptions, rows: Map<string, LspRow>): TenantIndex {
  const fresh = new TenantIndex(options);
  for (const r of rows.values()) fresh.upsertPort(r);
  fresh.takeChanged();
  return fresh;
}

Deno.test("tenant index: row by row and through snapshots equals a rebuild from the rows", () => {
  for (const seed of [1, 2, 3]) {
    const rand = uniform(seed);
    const options = { namespaceKeys: [NS], prefixMode: "host" as const, policy };
    const index = new TenantIndex(options);
    const rows = new Map<string, LspRow>();
    let checks = 0, snapshots = 0;
    for (let step = 0; step < 600; step++) {
      const uuid = uuidOf(Math.floor(rand() * 40));
      if (rows.has(uuid) && rand() < 0.3) {
        rows.delete(uuid);
        index.deletePort(uuid);
      } else {
        const row = randomRow(uuid, rand);
        rows.set(uuid, row);
        index.upsertPort(row);
      }
      if (rand() < 0.03) {
        // A reconnect: the server's rows, some gone and some changed meanwhile, in one snapshot.
        const before = new Map(tenantsOf(index).map(([n, p]) => [n, JSON.stringify(p)]));
        index.takeChanged();
        for (const u of [...rows.keys()]) {
          const r = rand();
          if (r < 0.2) rows.delete(u);
          else if (r < 0.4) rows.set(u, randomRow(u, rand));
        }
        index.beginSnapshot("ports");
        for (const r of rows.values()) index.upsertPort(r);
        index.endSnapshot("ports");
        const after = new Map(tenantsOf(index).map(([n, p]) => [n, JSON.stringify(p)]));
        const expected = [...new Set([...before.keys(), ...after.keys()])]
          .filter((n) => before.get(n) !== after.get(n)).sort();
        assertEquals([...index.takeChanged()].sort(), expected, `seed ${seed} step ${step}`);
        snapshots++;
      }
      if (rand() < 0.2) {
        index.takeChanged();
        assertEquals(state(index), state(rebuilt(options, rows)), `seed ${seed} step ${step}`);
        checks++;
      }
    }
    index.takeChanged();
    assertEquals(state(index), state(rebuilt(options, rows)));
    assert(checks > 50 && snapshots > 5, `${checks} checks, ${snapshots} snapshots`);
    assert(index.tenants().length > 0);
  }
});

Deno.test("tenant index: a first snapshot into an empty index tracks nothing, deletes nothing", () => {
  const index = new TenantIndex({ namespaceKeys: [NS], prefixMode: "host" });
  const row: LspRow = {
    _uuid: uuidOf(1),
    type: "",
    addresses: ["0a:00:00:00:00:01 10.0.0.1"],
    external_ids: new Map([[NS, "a"]]),
  };
  index.beginSnapshot("ports");
  index.upsertPort(row);
  index.endSnapshot("ports");
  assertEquals(tenantsOf(index), [["a", ["10.0.0.1/32"]]]);
  // An empty snapshot afterwards removes the port.
  index.beginSnapshot("ports");
  index.endSnapshot("ports");
  assertEquals(tenantsOf(index), []);
  assertEquals(index.portCount, 0);
});

Deno.test("tenant index: an unchanged tenant keeps its view object; views are sorted", () => {
  const index = new TenantIndex({ namespaceKeys: [NS], prefixMode: "host" });
  const row = (uuid: string, ns: string, ip: string): LspRow => ({
    _uuid: uuid,
    type: "",
    addresses: [`0a:00:00:00:00:01 ${ip}`],
    external_ids: new Map([[NS, ns]]),
  });
  index.upsertPort(row("1", "b", "10.0.0.2"));
  index.upsertPort(row("2", "a", "10.0.0.9"));
  index.upsertPort(row("3", "a", "10.0.0.10"));
  const first = index.tenants();
  assertEquals(first.map((t) => [t.name, t.prefixes]), [
    ["a", ["10.0.0.10/32", "10.0.0.9/32"]],
    ["b", ["10.0.0.2/32"]],
  ]);
  index.takeChanged();
  index.upsertPort(row("1", "b", "10.0.0.3"));
  const second = index.tenants();
  assert(second[0] === first[0], "tenant a untouched");
  assertEquals(second[1].prefixes, ["10.0.0.3/32"]);
  assertEquals([...index.takeChanged()], ["b"]);
  index.deletePort("2");
  index.deletePort("3");
  assertEquals(index.tenants().map((t) => t.name), ["b"]);
  assertEquals(index.portCount, 1);
});
