/**
 * buildTenantSet's per-raw-tenant cache: results equal a build without cache through random
 * updates (conflicts appearing and going, tenants merged from several sources, arrays replaced
 * in place), and unchanged tenants keep their Tenant object.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { buildTenantSet, compilePolicy, type RawTenant } from "../../src/tenants/mod.ts";
import type { PolicyConfig } from "../../src/config/mod.ts";
import { formatPrefix } from "../../src/net/mod.ts";
import { uniform } from "../fuzz/prng.ts";

const CONFIG: PolicyConfig = {
  allowed: ["10.0.0.0/8", "fd00::/8"],
  deny: ["10.99.0.0/16"],
  max_prefixes_per_tenant: 6,
};

/** A build without any cache: a policy object of its own. */
function reference(raws: RawTenant[]) {
  return buildTenantSet(raws, compilePolicy({ ...CONFIG }));
}

function view(set: ReturnType<typeof buildTenantSet>) {
  return {
    tenants: [...set.tenants.values()].map((t) => ({
      name: t.name,
      prefixes: t.prefixes.map(formatPrefix),
      rt: t.rt,
      rd: t.rd,
    })),
    rejected: set.rejected.map((r) => JSON.stringify(r)).sort(),
  };
}

const POOL = [
  "10.1.0.1",
  "10.1.0.2",
  "10.1.0.0/24",
  "10.2.0.0/16",
  "10.99.1.0/24", // denied
  "192.168.1.0/24", // outside allowed
  "fd00::1",
  "fd00:1::/64",
  "not-a-prefix",
  "0.0.0.0/0",
];

function randomRaw(name: string, rand: () => number, origin: string): RawTenant {
  const prefixes: string[] = [];
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) prefixes.push(POOL[Math.floor(rand() * POOL.length)]);
  return { name, prefixes, origin, ...(rand() < 0.2 ? { rt: "65000:7" } : {}) };
}

Deno.test("buildTenantSet: cached builds equal uncached ones through random updates", () => {
  const rand = uniform(7);
  const policy = compilePolicy(CONFIG);
  assert(compilePolicy(CONFIG) === policy, "the same section compiles to the same policy");
  const names = ["a", "b", "c", "d", "e", "bad name!"];
  let raws: RawTenant[] = names.map((n) => randomRaw(n, rand, "ovn"));
  for (let round = 0; round < 300; round++) {
    const next = [...raws];
    const i = Math.floor(rand() * next.length);
    const r = rand();
    if (r < 0.4) next[i] = randomRaw(next[i].name, rand, next[i].origin ?? "ovn");
    else if (r < 0.55) next.push(randomRaw(names[Math.floor(rand() * names.length)], rand, "file"));
    else if (r < 0.7 && next.length > 3) next.splice(i, 1);
    else if (r < 0.8) {
      // The same object with its prefixes array replaced (a source reusing its objects).
      next[i].prefixes = [...next[i].prefixes, POOL[Math.floor(rand() * POOL.length)]];
    }
    raws = next;
    assertEquals(view(buildTenantSet(raws, policy)), view(reference(raws)), `round ${round}`);
  }
});

Deno.test("buildTenantSet: an unchanged raw tenant keeps its Tenant object", () => {
  const policy = compilePolicy({ ...CONFIG, max_prefixes_per_tenant: 100 });
  const a: RawTenant = { name: "a", prefixes: ["10.1.0.1", "10.1.0.2"], origin: "ovn" };
  const b: RawTenant = { name: "b", prefixes: ["10.2.0.1"], origin: "ovn" };
  const first = buildTenantSet([a, b], policy);
  const b2: RawTenant = { name: "b", prefixes: ["10.2.0.1", "10.2.0.2"], origin: "ovn" };
  const second = buildTenantSet([a, b2], policy);
  assert(second.tenants.get("a") === first.tenants.get("a"), "a was rebuilt");
  assert(second.tenants.get("b") !== first.tenants.get("b"), "b was not rebuilt");
  assertEquals(second.tenants.get("b")!.prefixes.map(formatPrefix), [
    "10.2.0.1/32",
    "10.2.0.2/32",
  ]);
  // b now claims a's prefix too: both drop it; once b lets go, a gets it back.
  const b3: RawTenant = { name: "b", prefixes: ["10.2.0.1", "10.1.0.1"], origin: "ovn" };
  const third = buildTenantSet([a, b3], policy);
  assertEquals(third.tenants.get("a")!.prefixes.map(formatPrefix), ["10.1.0.2/32"]);
  assertEquals(third.rejected.filter((r) => r.prefix === "10.1.0.1/32").length, 2);
  const fourth = buildTenantSet([a, b2], policy);
  assertEquals(fourth.tenants.get("a")!.prefixes.map(formatPrefix), [
    "10.1.0.1/32",
    "10.1.0.2/32",
  ]);
  assertEquals(fourth.rejected, []);
});
