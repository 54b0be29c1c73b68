/**
 * "A prefix belongs to exactly one tenant's VRF" in the kernel plane. FRR no longer lists any
 * tenant prefix: each tenant instance redistributes its VRF's route table through the shared
 * export policy, so what a tenant exports is exactly what the kernel plane put into the table
 * allocated to it. Over generated sequences of tenant sets (tenants coming, going and coming
 * back, prefixes moving between tenants and claimed by several), driven through the real
 * Reconciler:
 * - the kernel plane's desired routes (model in _kernel_routes.ts) put every exportable prefix
 *   into exactly one table, the one allocated to its owning tenant, never into another
 *   tenant's table, and nothing into a retired tenant's table;
 * - the real KernelPlaneAdapter, reconciling incrementally in a throwaway netns
 *   (`vrf_mode: table`: this kernel has no VRF devices), leaves exactly those routes in the
 *   kernel (`ip -j route show table all` as the witness).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { isRoot, withNetns } from "../support/netns.ts";
import { waitFor } from "../support/proc.ts";
import { mixSeed } from "../fuzz/prng.ts";
import { exampleConfig } from "../frr/example.ts";
import type { Config } from "../../src/config/mod.ts";
import { isDefaultRoute, parsePrefix } from "../../src/net/mod.ts";
import { buildTenantSet, compilePolicy, type RawTenant } from "../../src/tenants/mod.ts";
import { Allocator } from "../../src/allocate/mod.ts";
import type { Plane } from "../../src/agent/plane.ts";
import { Reconciler } from "../../src/agent/reconciler.ts";
import { KernelPlaneAdapter } from "../../src/agent/kernel_plane.ts";
import { type PolicySection, policySection, prefixText, rawTenants, Rng } from "./_gen.ts";
import { contains, expectedExports } from "./_oracle.ts";
import { desiredKernelRoutes, kernelRoutes, type TableRoutes } from "./_kernel_routes.ts";

const PROTOCOL = 245;

function configFor(section: PolicySection): Config {
  const config = exampleConfig();
  return {
    ...config,
    tenants: { ...config.tenants, policy: section },
    kernel: { vrf_mode: "table", mpls: "off", route_protocol: PROTOCOL },
    reconcile: { ...config.reconcile, debounce_ms: 0 },
  };
}

/**
 * The next tenant set of a sequence: some tenants leave, some come (back), prefixes move from
 * one tenant to another or get a second claimant.
 */
function nextRaws(rng: Rng, raws: readonly RawTenant[], pool: readonly RawTenant[]): RawTenant[] {
  const out = raws.filter(() => rng.chance(0.75)).map((r) => ({ ...r, prefixes: [...r.prefixes] }));
  for (const r of pool) if (rng.chance(0.15)) out.push({ ...r, prefixes: [...r.prefixes] });
  const all = out.flatMap((r) => r.prefixes);
  for (const r of out) {
    if (all.length > 0 && rng.chance(0.3)) r.prefixes.push(rng.pick(all)); // moved or shared
    if (rng.chance(0.3)) r.prefixes.splice(rng.int(r.prefixes.length + 1), 1);
    if (rng.chance(0.3)) r.prefixes.push(prefixText(rng, all));
  }
  return out;
}

/** Steps the reconciler through tenant sets, calling `check` after each settled round. */
async function drive(
  options: {
    seed: number;
    steps: number;
    planes: (config: Config) => Promise<Plane[]>;
    check: (ctx: StepContext) => Promise<void> | void;
  },
): Promise<void> {
  const rng = new Rng(options.seed);
  const section = policySection(rng);
  const config = configFor(section);
  const policy = compilePolicy(section);
  const model = {
    allowed: section.allowed.map((p) => parsePrefix(p)),
    deny: section.deny.map((p) => parsePrefix(p)),
  };
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-isolation-kernel-" });
  const planes = await options.planes(config);
  try {
    const allocator = await Allocator.open({ config, statePath: `${dir}/state.json` });
    const reconciler = new Reconciler({ config, allocator, planes });
    try {
      const pool = rawTenants(rng);
      let raws = rawTenants(rng);
      for (let step = 0; step < options.steps; step++) {
        if (step > 0) raws = nextRaws(rng, raws, pool);
        const set = buildTenantSet(raws, policy);
        reconciler.setTenants(set);
        const where = `seed ${options.seed.toString(16)} step ${step}`;
        await waitFor(() => {
          const b = reconciler.backlog;
          return b.pendingTenants === 0 && !b.pendingRound && !b.running &&
            reconciler.tenants === set && reconciler.desired !== undefined;
        }, { timeoutMs: 60_000, intervalMs: 2, describe: () => `${where}: round did not settle` });
        const desired = reconciler.desired!;
        assertEquals([...desired.tenants.keys()], [...set.tenants.keys()], where);
        for (const s of reconciler.tenantStatus()) {
          assertEquals(s.errors, {}, `${where}: tenant ${s.name} failed`);
        }
        const tableOf = new Map([...desired.tenants].map(([n, d]) => [n, d.allocation.table]));
        await options.check({
          where,
          step,
          routes: desiredKernelRoutes(desired),
          want: expectedExports(raws, model),
          tableOf,
          retiredTables: desired.retired.map((a) => a.table),
          model,
        });
      }
    } finally {
      await reconciler.stop();
    }
  } finally {
    for (const p of planes) await p.close();
    await Deno.remove(dir, { recursive: true });
  }
}

interface StepContext {
  where: string;
  step: number;
  /** The kernel plane's desired routes per table (full-round model). */
  routes: TableRoutes;
  /** The oracle: tenant → what it must export. */
  want: Map<string, string[]>;
  /** Tenant → allocated table. */
  tableOf: Map<string, number>;
  retiredTables: number[];
  model: { allowed: ReturnType<typeof parsePrefix>[]; deny: ReturnType<typeof parsePrefix>[] };
}

/** Each exportable prefix in exactly one table, its owner's; nothing else anywhere. */
function assertOwnership(routes: TableRoutes, ctx: StepContext): number {
  const { where, want, tableOf } = ctx;
  assertEquals([...tableOf.keys()].sort(), [...want.keys()].sort(), `${where}: tenants`);
  const tables = [...tableOf.values()];
  assertEquals(new Set(tables).size, tables.length, `${where}: two tenants share a table`);
  for (const t of ctx.retiredTables) {
    assert(!tables.includes(t), `${where}: retired table ${t} is also a current tenant's`);
  }
  const tenantOf = new Map([...tableOf].map(([name, table]) => [table, name]));
  const holder = new Map<string, number>();
  for (const [table, prefixes] of routes) {
    const owner = tenantOf.get(table);
    assert(owner !== undefined, `${where}: routes in table ${table} of no current tenant`);
    for (const text of prefixes) {
      const p = parsePrefix(text);
      const at = `${where}: ${text} in table ${table} (${owner})`;
      assert(!holder.has(text), `${at}: also in table ${holder.get(text)}`);
      holder.set(text, table);
      assert(!isDefaultRoute(p), `${at}: default route`);
      assert(ctx.model.allowed.some((a) => contains(a, p)), `${at}: outside allowed`);
      assert(!ctx.model.deny.some((d) => contains(d, p)), `${at}: inside deny`);
      assert(want.get(owner)!.includes(text), `${at}: not ${owner}'s to export`);
    }
  }
  let exported = 0;
  for (const [name, prefixes] of want) {
    for (const text of prefixes) {
      assertEquals(holder.get(text), tableOf.get(name), `${where}: ${text} of ${name}`);
      exported++;
    }
  }
  return exported;
}

Deno.test("isolation: the kernel plane puts each exportable prefix into its owner's table only", async () => {
  let exported = 0, tables = 0, retired = 0;
  for (let run = 0; run < 60; run++) {
    await drive({
      seed: mixSeed(0x4e7, run),
      steps: 5,
      planes: () => Promise.resolve([]),
      check: (ctx) => {
        exported += assertOwnership(ctx.routes, ctx);
        tables += ctx.routes.size;
        retired += ctx.retiredTables.length;
      },
    });
  }
  // The sequences really exported, spread over many tables, and retired tenants.
  assert(
    exported > 1000 && tables > 300 && retired > 100,
    JSON.stringify({ exported, tables, retired }),
  );
});

Deno.test({
  name: "isolation: the real kernel plane leaves exactly each owner's prefixes in its table",
  ignore: !isRoot,
  fn: async () => {
    let routes = 0;
    for (let run = 0; run < 6; run++) {
      await withNetns(async (ns) => {
        await drive({
          seed: mixSeed(0x4e8, run),
          steps: 8,
          planes: async (config) => [await KernelPlaneAdapter.open({ config }, { netns: ns })],
          check: async (ctx) => {
            const kernel = await kernelRoutes(ns, PROTOCOL);
            assertEquals([...kernel], [...ctx.routes], `${ctx.where}: kernel vs. model`);
            routes += assertOwnership(kernel, ctx);
          },
        });
      });
    }
    assert(routes > 200, `only ${routes} routes checked`);
  },
});
