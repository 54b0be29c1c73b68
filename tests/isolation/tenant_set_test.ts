/**
 * Tenant isolation properties of the tenant-set gate (buildTenantSet + compilePolicy), over
 * generated namespace names and prefixes, against an independent model.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { mixSeed } from "../fuzz/prng.ts";
import { formatPrefix, isDefaultRoute, parsePrefix } from "../../src/net/mod.ts";
import { buildTenantSet, compilePolicy } from "../../src/tenants/mod.ts";
import { POLICY_CONFIG, rawTenants, Rng } from "./_gen.ts";
import { contains, expectedExports } from "./_oracle.ts";

const policy = compilePolicy(POLICY_CONFIG);
const model = {
  allowed: POLICY_CONFIG.allowed.map((p) => parsePrefix(p)),
  deny: POLICY_CONFIG.deny.map((p) => parsePrefix(p)),
};
const SEED = 0x15014;
const RUNS = 400;

Deno.test("isolation: a prefix belongs to exactly one tenant; no default, nothing outside allowed", () => {
  let exported = 0;
  let conflicts = 0;
  for (let run = 0; run < RUNS; run++) {
    const rng = new Rng(mixSeed(SEED, run));
    const raws = rawTenants(rng);
    const set = buildTenantSet(raws, policy);
    const owner = new Map<string, string>();
    for (const t of set.tenants.values()) {
      for (const p of t.prefixes) {
        const key = formatPrefix(p);
        const where = `run ${run}: tenant ${JSON.stringify(t.name)} prefix ${key}`;
        assert(!isDefaultRoute(p), `${where}: default route exported`);
        assert(model.allowed.some((a) => contains(a, p)), `${where}: outside allowed`);
        assert(!model.deny.some((d) => contains(d, p)), `${where}: inside deny`);
        assert(!owner.has(key), `${where}: also exported by ${owner.get(key)}`);
        owner.set(key, t.name);
        // A tenant never gets a prefix it did not list itself.
        const own = raws.filter((r) => r.name === t.name).flatMap((r) => r.prefixes);
        assert(
          own.some((text) => {
            try {
              return formatPrefix(parsePrefix(text, { allowBareAddress: true })) === key;
            } catch {
              return false;
            }
          }),
          `${where}: not among the tenant's own prefixes`,
        );
        exported++;
      }
    }
    // Exactly what the independent model says, tenant by tenant.
    const want = expectedExports(raws, model);
    const got = new Map(
      [...set.tenants.values()].map((t) => [t.name, t.prefixes.map(formatPrefix).sort()]),
    );
    for (const [name, prefixes] of want) {
      assertEquals(got.get(name) ?? [], prefixes, `run ${run}: tenant ${JSON.stringify(name)}`);
    }
    for (const name of got.keys()) assert(want.has(name), `run ${run}: unexpected tenant ${name}`);
    // Everything dropped is accounted for: each raw prefix is exported or has a rejection.
    for (const r of raws) {
      for (const text of r.prefixes) {
        let key: string | undefined;
        try {
          key = formatPrefix(parsePrefix(text, { allowBareAddress: true }));
        } catch {
          key = undefined;
        }
        if (key && got.get(r.name)?.includes(key)) continue;
        const rejected = set.rejected.some((x) =>
          x.tenant === r.name && (x.prefix === undefined || x.prefix === text || x.prefix === key)
        );
        assert(
          rejected,
          `run ${run}: ${JSON.stringify(text)} of ${JSON.stringify(r.name)} vanished`,
        );
        if (set.rejected.some((x) => x.tenant === r.name && x.reason.includes("claimed by"))) {
          conflicts++;
        }
      }
    }
  }
  // The generator really produced exports and cross-tenant conflicts.
  assert(exported > 500, `only ${exported} prefixes exported`);
  assert(conflicts > 50, `only ${conflicts} conflicting claims`);
});
