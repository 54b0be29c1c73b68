/**
 * TenantIndex without per-port state (previousRows, as the OVN source runs it) agrees with the
 * index that keeps it, through random port adds, changes and deletes, hostile rows included.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type LspRow, TenantIndex } from "../../src/ovn/mod.ts";
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

Deno.test("tenant index: recomputing from previous rows equals keeping per-port state", () => {
  for (const seed of [1, 2, 3]) {
    const rand = uniform(seed);
    const options = { namespaceKeys: [NS], prefixMode: "host" as const, policy };
    const kept = new TenantIndex(options);
    const stateless = new TenantIndex({ ...options, previousRows: true });
    const rows = new Map<string, LspRow>();
    let checks = 0;
    for (let step = 0; step < 600; step++) {
      const uuid = `u${Math.floor(rand() * 40)}`;
      const prev = rows.get(uuid);
      if (prev && rand() < 0.3) {
        rows.delete(uuid);
        kept.deletePort(uuid);
        stateless.deletePort(uuid, prev);
      } else {
        const row = randomRow(uuid, rand);
        rows.set(uuid, row);
        kept.upsertPort(row);
        stateless.upsertPort(row, prev);
      }
      if (rand() < 0.2) {
        assertEquals(state(stateless), state(kept), `seed ${seed} step ${step}`);
        checks++;
      }
    }
    assertEquals(state(stateless), state(kept));
    // And both equal an index built from the final rows alone.
    const fresh = new TenantIndex(options);
    for (const r of rows.values()) fresh.upsertPort(r);
    assertEquals(
      stateless.tenants().map((t) => [t.name, t.prefixes]),
      fresh.tenants().map((t) => [t.name, t.prefixes]),
    );
    assert(checks > 50);
    assert(kept.tenants().length > 0);
  }
});

Deno.test("tenant index: an unchanged tenant keeps its view object; views are sorted", () => {
  const index = new TenantIndex({ namespaceKeys: [NS], prefixMode: "host", previousRows: true });
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
  const old = row("1", "b", "10.0.0.2");
  index.upsertPort(row("1", "b", "10.0.0.3"), old);
  const second = index.tenants();
  assert(second[0] === first[0], "tenant a untouched");
  assertEquals(second[1].prefixes, ["10.0.0.3/32"]);
  assertEquals([...index.takeChanged()], ["b"]);
  index.deletePort("2", row("2", "a", "10.0.0.9"));
  index.deletePort("3", row("3", "a", "10.0.0.10"));
  assertEquals(index.tenants().map((t) => t.name), ["b"]);
  assertEquals(index.portCount, 1);
});
