/**
 * Heap profile of the agent's in-memory state at scale, per component, with an OVN NB source.
 *
 * 1. A real ovsdb-server with the OVN NB schema is filled (by a child process, so its garbage
 *    stays out of this one) with `--tenants` namespaces and `--pods` Logical_Switch_Port rows
 *    in one transaction, shaped as bench/load.ts writes them (one /32 per pod,
 *    `external_ids:k8s.ovn.org/namespace`, 5,000 ports per Logical_Switch).
 * 2. In this process, each stage is built and the V8 heap in use is read after forced
 *    garbage collection (each line also shows V8's committed heap, the RSS and what glibc
 *    malloc holds in use and free):
 *    - `ovsdb_cache`: a bare {@link OvsdbClient} monitoring what the OVN source monitors, its
 *      cache keeping the rows (what the source's `row_cache: true` adds);
 *    - `ovn_index`: a {@link TenantIndex} fed from that cache's rows, configured as the source
 *      configures it; both are dropped again (`(dropped)`);
 *    - `ovn_source`: a real {@link OvnTenantSource} (client, cache keeping no rows, and index:
 *      the default), holding its first view as the agent does;
 *    - `tenant_set`: {@link buildTenantSet} of that view (with its per-policy caches);
 *    - `kernel_desired`: the allocation and the desired state the kernel plane reconciles
 *      from (what the reconciler computes for each round);
 *    - `churn` (`--changes`, default 200): pods deleted and added one transaction each, the
 *      tenant set and desired state rebuilt after every source update as the agent does; the
 *      heap growth and the bytes allocated per change are reported.
 * 3. After a last-resort GC (V8 gives committed memory back) and `malloc_trim`, the tenant set
 *    is checked against one rebuilt from scratch with a fresh client and cold caches.
 *
 * Last line of the profile: `heap_mb total=… ovn_source=… row_cache=… ovn_index=… tenant_set=…
 * kernel_desired=… churn_growth=… heap_used=… rss_mb=…` (total: the kept stages over the base;
 * row_cache and ovn_index: the stages measured apart).
 * `HEAP_SNAPSHOT_DIR=DIR` writes a V8 heap snapshot per measurement, `HEAP_SMAPS=FILE` copies
 * /proc/self/smaps at the end.
 *
 * Run: `deno task heap [--tenants 10000] [--pods 100000] [--changes 200]` (the task passes
 * `--v8-flags=--expose-gc`, which this script requires; add more V8 flags with
 * `deno run -A --v8-flags=--expose-gc,--max-old-space-size=… scripts/heap_profile.ts`).
 * @module
 */
import { parseArgs } from "node:util";
import v8 from "node:v8";
import { Allocator } from "../src/allocate/mod.ts";
import { type DesiredTenant, desiredTenants } from "../src/agent/plane.ts";
import { type Config, configSchema, parseWithSchema } from "../src/config/mod.ts";
import {
  NB_DATABASE,
  ovnMonitorSpec,
  type OvnSourceSettings,
  OvnTenantSource,
  TenantIndex,
} from "../src/ovn/mod.ts";
import { ops, OvsdbClient } from "../src/ovsdb/mod.ts";
import { formatPrefix } from "../src/net/mod.ts";
import {
  buildTenantSet,
  compilePolicy,
  type PrefixPolicy,
  type SourceUpdate,
  type TenantSet,
} from "../src/tenants/mod.ts";
import { startOvnDb } from "../tests/support/ovn_nb.ts";
import { fillPods, NS_KEY, podInsert, podSwitch } from "../bench/nb_pods.ts";

/** Child process: fills NB in one transaction. */
async function fillChild(remote: string, tenants: number, pods: number): Promise<void> {
  const client = new OvsdbClient({ remotes: remote, database: NB_DATABASE, reconnect: false });
  await client.connect();
  await fillPods(client, { tenants, pods });
  await client.close();
}

const MB = 2 ** 20;

/** glibc's malloc statistics (Deno allocates ArrayBuffers and its own state with malloc). */
const libc = (() => {
  try {
    return Deno.dlopen("libc.so.6", {
      mallinfo2: { parameters: [], result: { struct: Array(10).fill("usize") } },
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
  } catch {
    return undefined;
  }
})();

/** Bytes malloc has handed out and holds free (MB), when glibc is there. */
function mallocMb(): { used: number; free: number } | undefined {
  const raw = libc?.symbols.mallinfo2();
  if (!raw) return undefined;
  const f = new BigUint64Array(raw.buffer, raw.byteOffset, 10);
  // arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost
  return { used: Number(f[7] + f[4]) / MB, free: Number(f[8]) / MB };
}

interface Mem {
  heap: number;
  /** malloc in use / held free, MB. */
  malloc?: { used: number; free: number };
  /** V8 heap committed. */
  total: number;
  rss: number;
  external: number;
}

let snapshot = 0;

/** Bytes V8 allocated so far. */
function allocated(): number {
  return (v8.getHeapStatistics() as { total_allocated_bytes?: number }).total_allocated_bytes ??
    NaN;
}

async function measure(): Promise<Mem> {
  // Let closed connections' pending reads settle first (they hold their clients until then).
  await new Promise((r) => setTimeout(r, 50));
  const gc = (globalThis as { gc?: () => void }).gc!;
  for (let i = 0; i < 4; i++) gc();
  const dir = Deno.env.get("HEAP_SNAPSHOT_DIR");
  if (dir) v8.writeHeapSnapshot(`${dir}/${snapshot++}.heapsnapshot`);
  const m = Deno.memoryUsage();
  return {
    heap: m.heapUsed / MB,
    total: m.heapTotal / MB,
    rss: m.rss / MB,
    external: m.external / MB,
    malloc: mallocMb(),
  };
}

function configFor(remote: string, tenants: number, stateFile: string): Config {
  return parseWithSchema(
    `bgp: {asn: 65000, router_id: 192.0.2.1}
tenants:
  sources: [{type: ovn, connection: "${remote}", namespace_keys: ["${NS_KEY}"], prefix_mode: host}]
  policy: {allowed: [10.0.0.0/8], max_prefixes_per_tenant: 100000}
allocation:
  state_file: ${stateFile}
  table_range: {min: 10000, max: ${10000 + Math.max(2000, tenants * 3)}}
kernel: {vrf_mode: table, mpls: off}
`,
    configSchema,
    { file: "heap_profile.yaml" },
  );
}

/** The reconciler's desired state for the kernel plane (as in Reconciler#computeDesired). */
function desiredOf(
  set: TenantSet,
  allocator: Allocator,
  previous?: Map<string, DesiredTenant>,
): Map<string, DesiredTenant> {
  const plan = allocator.allocate(set.tenants.values());
  return desiredTenants(set.tenants, plan.allocations, { previous });
}

/**
 * Checks the tenant set the measured path ended with against one rebuilt from scratch (a new
 * client, an index keeping per-port state, a policy with cold caches); throws on a difference.
 */
async function verify(
  remote: string,
  sc: OvnSourceSettings,
  config: Config,
  set: TenantSet,
): Promise<void> {
  const client = new OvsdbClient({ remotes: remote, database: NB_DATABASE, reconnect: false });
  await client.connect();
  try {
    const cache = await client.monitor(ovnMonitorSpec(sc.prefix_mode, { rowCache: true }));
    const policy = compilePolicy({ ...config.tenants.policy });
    const index = new TenantIndex({
      namespaceKeys: sc.namespace_keys,
      prefixMode: sc.prefix_mode,
      policy,
    });
    for (const r of cache.table("Logical_Switch_Port").rows()) index.upsertPort(r);
    const fresh = buildTenantSet(index.tenants(), policy);
    const text = (s: TenantSet) =>
      [...s.tenants.values()].map((t) => `${t.name}=${t.prefixes.map(formatPrefix).join(",")}`)
        .join(" ");
    if (text(fresh) !== text(set)) {
      throw new Error("the tenant set after the churn differs from a fresh rebuild");
    }
    let n = 0;
    for (const t of set.tenants.values()) n += t.prefixes.length;
    console.log(`check: equal to a fresh rebuild (${set.tenants.size} tenants, ${n} prefixes)`);
  } finally {
    await client.close();
  }
}

type RowPrinter = (stage: string, m: Mem, delta: number) => void;

/**
 * Measures a bare client's cache keeping the rows (what `row_cache: true` adds), then a tenant
 * index fed from its rows; drops both.
 */
async function cacheAndIndex(
  remote: string,
  sc: OvnSourceSettings,
  policy: PrefixPolicy,
  pods: number,
  base: Mem,
  row: RowPrinter,
): Promise<{ cacheMb: number; indexMb: number }> {
  const client = new OvsdbClient({ remotes: remote, database: NB_DATABASE, reconnect: false });
  await client.connect();
  const spec = ovnMonitorSpec(sc.prefix_mode, { namespaceKeys: sc.namespace_keys, rowCache: true });
  const cache = await client.monitor(spec);
  const lsp = cache.table("Logical_Switch_Port");
  if (lsp.size !== pods) throw new Error(`cache has ${lsp.size} rows, expected ${pods}`);
  const mCache = await measure();
  const cacheMb = mCache.heap - base.heap;
  row("ovsdb_cache", mCache, cacheMb);
  const index = new TenantIndex({
    namespaceKeys: sc.namespace_keys,
    prefixMode: sc.prefix_mode,
    subnets: sc.subnets,
    policy,
  });
  for (const r of lsp.rows()) index.upsertPort(r);
  index.takeChanged();
  const view = index.tenants();
  const mIndex = await measure();
  const indexMb = mIndex.heap - mCache.heap;
  row("ovn_index", mIndex, indexMb);
  if (view.length === 0) throw new Error("empty index");
  await client.close();
  return { cacheMb, indexMb };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tenants: { type: "string", default: "10000" },
      pods: { type: "string", default: "100000" },
      changes: { type: "string", default: "200" },
    },
  });
  const tenants = Number(values.tenants);
  const pods = Number(values.pods);
  const changes = Number(values.changes);
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    throw new Error("run with --v8-flags=--expose-gc (deno task heap does)");
  }
  const row: RowPrinter = (stage, m, delta) =>
    console.log(
      `${stage.padEnd(16)} heap ${m.heap.toFixed(1).padStart(7)} MB  delta ${
        delta.toFixed(1).padStart(7)
      } MB  committed ${m.total.toFixed(1).padStart(7)} MB  rss ${
        m.rss.toFixed(1).padStart(7)
      } MB  malloc ${
        m.malloc ? `${m.malloc.used.toFixed(1)}+${m.malloc.free.toFixed(1)} free` : "?"
      } MB`,
    );

  await using nb = await startOvnDb({ schema: "nb", startTimeoutMs: 60_000 });
  const remote = nb.unixRemote;
  const t0 = performance.now();
  const fill = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL(import.meta.url).pathname,
      "--fill",
      remote,
      String(tenants),
      String(pods),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (fill.code !== 0) throw new Error(`fill child exited ${fill.code}`);
  console.log(
    `NB: ${pods} pods in ${tenants} namespaces (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-heap-" });
  const config = configFor(remote, tenants, `${dir}/state.json`);
  const policy = compilePolicy(config.tenants.policy);
  const sc = config.tenants.sources[0];
  if (sc.type !== "ovn") throw new Error("unreachable");

  const base = await measure();
  row("base", base, 0);

  // ovsdb_cache and ovn_index: a bare client with the source's monitor keeping the rows, then
  // a tenant index fed from its rows; both dropped again.
  const split = await cacheAndIndex(remote, sc, policy, pods, base, row);
  const afterSplit = await measure();
  row("(dropped)", afterSplit, afterSplit.heap - base.heap);

  // The real source (client + cache + index) and its first view, kept to the end.
  let latest: SourceUpdate | undefined;
  let updates = 0;
  let notify: (() => void) | undefined;
  const source = new OvnTenantSource({ ...sc, debounce_ms: 0 }, { policy });
  // (sc.row_cache is the default, false: the source's cache keeps no rows.)
  await source.start({
    onUpdate: (u) => {
      latest = u;
      updates++;
      notify?.();
    },
  });
  const mSource = await measure();
  const sourceMb = mSource.heap - afterSplit.heap;
  row("ovn_source", mSource, sourceMb);
  const cacheMb = split.cacheMb;
  const indexMb = split.indexMb;
  console.log(
    `  (measured apart: ovsdb_cache ${cacheMb.toFixed(1)} MB with row_cache: true, ovn_index ${
      indexMb.toFixed(1)
    } MB)`,
  );

  // tenant_set
  let set = buildTenantSet(latest!.tenants, policy);
  let prefixes = 0;
  for (const t of set.tenants.values()) prefixes += t.prefixes.length;
  if (set.tenants.size !== Math.min(tenants, pods) || prefixes !== pods) {
    throw new Error(`tenant set: ${set.tenants.size} tenants, ${prefixes} prefixes`);
  }
  const mSet = await measure();
  const setMb = mSet.heap - mSource.heap;
  row("tenant_set", mSet, setMb);

  // kernel_desired
  const allocator = await Allocator.open({ config, readOnly: true });
  let desired = desiredOf(set, allocator);
  const mDesired = await measure();
  const desiredMb = mDesired.heap - mSet.heap;
  row("kernel_desired", mDesired, desiredMb);

  // churn
  let churnMb = 0;
  if (changes > 0) {
    const client = new OvsdbClient({ remotes: remote, database: NB_DATABASE, reconnect: false });
    await client.connect();
    let next = pods;
    let deleted = 0;
    const tChurn = performance.now();
    const allocStart = allocated();
    let allocSet = 0, allocDesired = 0;
    for (let c = 0; c < changes; c++) {
      const seen = updates;
      const arrived = new Promise<void>((r) => (notify = r));
      if (c % 2 === 0) {
        // Delete pod number `deleted * 7919 % pods` (distinct while deleted < pods).
        const i = (deleted++ * 7919) % pods;
        const [sel] = await client.transact([
          ops.select("Logical_Switch_Port", [ops.cond("name", "==", `ns${i % tenants}_pod${i}`)], {
            columns: ["_uuid"],
          }),
        ]);
        const uuid = (sel.rows?.[0]?._uuid as [string, string] | undefined)?.[1];
        if (!uuid) continue;
        await client.transact([
          ops.mutate("Logical_Switch", [ops.cond("name", "==", `node${podSwitch(i, pods)}`)], {
            mutations: [["ports", "delete", ops.uuid(uuid)]],
          }),
          ops.del("Logical_Switch_Port", [ops.cond("_uuid", "==", ops.uuid(uuid))]),
        ]);
      } else {
        const i = next++;
        await client.transact([
          podInsert(i, (i * 31) % tenants, "new"),
          ops.mutate("Logical_Switch", [ops.cond("name", "==", `node${podSwitch(i, pods)}`)], {
            mutations: [["ports", "insert", ops.namedUuid("new")]],
          }),
        ]);
      }
      if (updates === seen) await arrived;
      notify = undefined;
      // As the agent: every source update rebuilds the tenant set and the desired state.
      const a0 = allocated();
      set = buildTenantSet(latest!.tenants, policy);
      const a1 = allocated();
      desired = desiredOf(set, allocator, desired);
      allocSet += a1 - a0;
      allocDesired += allocated() - a1;
    }
    const allocAll = allocated() - allocStart;
    await client.close();
    const mChurn = await measure();
    churnMb = mChurn.heap - mDesired.heap;
    row("churn", mChurn, churnMb);
    console.log(
      `  allocated per change: ${(allocAll / changes / MB).toFixed(2)} MB (buildTenantSet ${
        (allocSet / changes / MB).toFixed(2)
      } MB, allocation + desired ${(allocDesired / changes / MB).toFixed(2)} MB, the rest: ` +
        `NB client, OVSDB cache, OVN index)`,
    );
    console.log(
      `  ${changes} changes, ${updates - 1} source updates in ${
        ((performance.now() - tChurn) / 1000).toFixed(1)
      } s`,
    );
  }
  const end = await measure();
  const total = end.heap - base.heap;
  console.log(
    `heap_mb total=${total.toFixed(1)} ovn_source=${sourceMb.toFixed(1)} row_cache=${
      cacheMb.toFixed(1)
    } ovn_index=${indexMb.toFixed(1)} tenant_set=${setMb.toFixed(1)} kernel_desired=${
      desiredMb.toFixed(1)
    } churn_growth=${churnMb.toFixed(1)} heap_used=${end.heap.toFixed(1)} rss_mb=${
      end.rss.toFixed(1)
    } (${set.tenants.size} tenants, ${
      [...desired.values()].reduce((n, d) => n + d.tenant.prefixes.length, 0)
    } prefixes)`,
  );
  {
    const gc = (globalThis as { gc?: (o?: unknown) => void }).gc!;
    gc({ type: "major", execution: "sync", flavor: "last-resort" });
    const m = Deno.memoryUsage();
    console.log(
      `after a last-resort GC: heap ${(m.heapUsed / MB).toFixed(1)} MB, committed ${
        (m.heapTotal / MB).toFixed(1)
      } MB, rss ${(m.rss / MB).toFixed(1)} MB`,
    );
  }
  if (Deno.env.get("HEAP_SMAPS")) {
    await Deno.copyFile("/proc/self/smaps", Deno.env.get("HEAP_SMAPS")!);
  }
  if (libc) {
    libc.symbols.malloc_trim(0n);
    console.log(`rss after malloc_trim(0): ${(Deno.memoryUsage().rss / MB).toFixed(1)} MB`);
  }
  await verify(remote, sc, config, set);
  await source.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

if (Deno.args[0] === "--fill") {
  await fillChild(Deno.args[1], Number(Deno.args[2]), Number(Deno.args[3]));
} else {
  await main();
}
