/**
 * Load benchmark (issue #9): a real agent process (`main.ts run`) with an OVN NB source
 * (real ovsdb-server with the NB schema), a real FRR and the kernel plane (`vrf_mode: table`)
 * in a fresh network namespace.
 *
 * 1. `--tenants` namespaces with `--pods` pods in total are written into NB in one transaction
 *    (host prefixes: one /32 per pod), and the agent's initial sync is awaited (every plane
 *    ran, nothing pending, kernel routes = pods, FRR VRF instances = tenants with pods).
 * 2. Churn: `--rate` changes per second (a pod deleted or a pod added, alternating, each its
 *    own transaction) for `--duration-s` seconds, while the agent's RSS (/proc/PID/status
 *    VmRSS) and its /metrics (reconcile backlog, reconcile runs) are sampled every
 *    `--sample-s` seconds.
 * 3. The backlog must drain after the churn and the kernel and FRR must match NB again.
 *
 * Prints one table row per sample and, last, a summary line
 * `rss_max_mb=… rss_growth_mb=… backlog_max=… …`. rss_growth_mb is the mean RSS of the last
 * third of the churn samples minus the mean of the first third.
 *
 * Run as root: `deno task bench:load [--tenants 10000] [--pods 100000] [--duration-s 300]
 * [--rate 100] [--sample-s 5] [--agent-v8-flags=…]`. The agent runs with the product's
 * environment for memory (`DENO_V8_FLAGS`, `MALLOC_ARENA_MAX` from scripts/permissions.ts, as
 * the unit, image and DaemonSet set them); `--agent-v8-flags` adds V8 flags on top (e.g. a
 * larger `--max-old-space-size` to see the uncapped growth).
 * tests/load/ runs a short version through {@link runLoad}.
 * @module
 */
import { parseArgs } from "node:util";
import { productEnvironment } from "../scripts/permissions.ts";
import { fillPods, NS_KEY, podInsert, podSwitch } from "./nb_pods.ts";
import { ops, OvsdbClient } from "../src/ovsdb/mod.ts";
import { startFrr } from "../tests/support/frr.ts";
import { ip, withNetns } from "../tests/support/netns.ts";
import { startOvnDb } from "../tests/support/ovn_nb.ts";
import { freePort, shortId, waitFor } from "../tests/support/proc.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Options of {@link runLoad}. */
export interface LoadOptions {
  tenants: number;
  pods: number;
  durationS: number;
  /** Changes per second during the churn. */
  rate: number;
  sampleS: number;
  /** How long the initial sync and the final drain may take. */
  settleTimeoutS: number;
  /** `--v8-flags=` for the agent's `deno run` (e.g. `--max-old-space-size=64`). */
  agentV8Flags?: string;
  /** Called with each sample (printing). */
  onSample?: (s: LoadSample) => void;
  /** Progress messages. */
  onInfo?: (message: string) => void;
}

/** One sample of the agent during the churn. */
export interface LoadSample {
  /** Seconds since the churn started. */
  t: number;
  rssMb: number;
  /** V8 heap in use (nodejs_heap_size_used_bytes), MB. */
  heapUsedMb: number;
  /** V8 heap committed (nodejs_heap_size_total_bytes), MB. */
  heapTotalMb: number;
  /** Memory outside the V8 heap that V8 knows of (nodejs_external_memory_bytes), MB. */
  externalMb: number;
  /** vpnv4_reconcile_pending_tenants */
  pendingTenants: number;
  /** vpnv4_reconcile_oldest_pending_seconds */
  oldestPendingS: number;
  /** vpnv4_reconcile_runs_total{result="ok"} per plane. */
  runs: Record<string, number>;
  /** Seconds spent in each plane so far (vpnv4_reconcile_duration_seconds_sum). */
  busyS: Record<string, number>;
  /** vpnv4_reconcile_runs_total{result="error"}, all planes. */
  errors: number;
  /** vpnv4_prefixes{family="ipv4"} */
  prefixes: number;
  /** Changes written to NB so far. */
  changes: number;
}

/** What {@link runLoad} measured. */
export interface LoadResult {
  initialSyncS: number;
  rssAfterSyncMb: number;
  /** Highest RSS seen while the initial sync ran. */
  rssSyncMaxMb: number;
  samples: LoadSample[];
  /** Seconds from the last change until nothing was pending and the kernel matched NB. */
  drainS: number;
  changes: number;
  /** Pods in NB at the end; kernel routes and FRR entries found at the end. */
  finalPods: number;
  finalKernelRoutes: number;
  /** `router bgp ASN vrf X` instances in FRR at the end. */
  finalFrrInstances: number;
  /** Tenants with at least one pod at the end. */
  finalTenants: number;
  rssMaxMb: number;
  rssGrowthMb: number;
  backlogMax: number;
  oldestPendingMaxS: number;
}

/** Parses the Prometheus text into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

function sum(m: Map<string, number>, prefix: string, part: string): number {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith(prefix) && k.includes(part)) n += v;
  return n;
}

async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+([0-9]+) kB$/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Runs the load scenario (root needed: netns, FRR); see the module documentation. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const info = options.onInfo ?? (() => {});
  return await withNetns(async (ns) => {
    await using frr = await startFrr({ netns: ns, bgpPort: 0, name: `l${shortId(5)}` });
    await using nb = await startOvnDb({ schema: "nb" });
    const dir = await Deno.makeTempDir({ prefix: "vpnv4-load-" });
    const client = new OvsdbClient({
      remotes: nb.unixRemote,
      database: "OVN_Northbound",
      reconnect: false,
    });
    let agent: Deno.ChildProcess | undefined;
    try {
      await client.connect();
      const t0 = performance.now();
      const pods = await fillPods(client, options);
      info(
        `NB: ${options.pods} pods in ${options.tenants} namespaces written in one transaction ` +
          `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/vpnv4-agent.yaml`,
        `bgp:
  asn: 65000
  router_id: 192.0.2.1
  peers:
    - address: 192.0.2.254
      remote_asn: 65001
      description: fortigate
tenants:
  sources:
    - type: ovn
      connection: ${nb.unixRemote}
      namespace_keys: [${NS_KEY}]
      prefix_mode: host
      debounce_ms: 200
  policy:
    allowed: [10.0.0.0/8]
    max_prefixes_per_tenant: 100000
allocation:
  state_file: ${dir}/state/state.json
  table_range: { min: 10000, max: ${10000 + Math.max(2000, options.tenants * 3)} }
frr:
  pathspace: ${frr.name}
  timeout_ms: 600000
kernel:
  vrf_mode: table
  mpls: off
reconcile:
  debounce_ms: 250
  frr_check_s: 5
http:
  listen: 127.0.0.1:${port}
log:
  level: warning
  format: json
`,
      );
      agent = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          ...(options.agentV8Flags ? [`--v8-flags=${options.agentV8Flags}`] : []),
          MAIN,
          "run",
          "--config",
          `${dir}/vpnv4-agent.yaml`,
          "--netns",
          ns,
        ],
        env: {
          DENO_V8_FLAGS: productEnvironment().DENO_V8_FLAGS,
          MALLOC_ARENA_MAX: productEnvironment().MALLOC_ARENA_MAX,
          GLIBC_TUNABLES: productEnvironment().GLIBC_TUNABLES,
        },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let logTail = "";
      const draining = (async () => {
        const dec = new TextDecoder();
        for await (const chunk of agent!.stderr) {
          logTail = (logTail + dec.decode(chunk, { stream: true })).slice(-8000);
        }
      })();
      const pid = agent.pid;
      const metrics = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/metrics`);
        return parseMetrics(await r.text());
      };
      const kernelRoutes = async () =>
        (await ip(ns, "-4", "route", "show", "table", "all", "proto", "245"))
          .split("\n").filter((l) => l.trim()).length;
      const frrInstances = async () =>
        ((await frr.vtysh("show running-config")).match(/^router bgp [0-9]+ vrf /gm) ?? [])
          .length;
      const liveTenants = () => new Set(pods.map((p) => p.tenant)).size;
      let livePods = pods.length;
      /** Nothing pending, every plane ran since `since` runs, kernel and FRR match NB. */
      const settled = async (minRuns: Record<string, number>) => {
        const m = await metrics().catch(() => undefined);
        if (!m) return false;
        if ((m.get("vpnv4_reconcile_pending_tenants") ?? 1) !== 0) return false;
        if ((m.get("vpnv4_reconcile_round_running") ?? 1) !== 0) return false;
        for (const [plane, n] of Object.entries(minRuns)) {
          if (sum(m, "vpnv4_reconcile_runs_total", `plane="${plane}",result="ok"`) < n) {
            return false;
          }
        }
        return await kernelRoutes() === livePods && await frrInstances() === liveTenants();
      };
      const describe = () => `agent did not settle; log tail:\n${logTail.slice(-3000)}`;

      const tSync = performance.now();
      let rssSyncMaxMb = 0;
      let lastReport = 0;
      await waitFor(async () => {
        const rss = await rssMb(pid).catch(() => NaN);
        if (rss > rssSyncMaxMb) rssSyncMaxMb = rss;
        const elapsed = (performance.now() - tSync) / 1000;
        if (elapsed - lastReport >= options.sampleS * 6) {
          lastReport = elapsed;
          const m = await metrics().catch(() => undefined);
          info(
            `initial sync ${elapsed.toFixed(0)} s: RSS ${rss.toFixed(1)} MB, kernel runs ` +
              `${m ? sum(m, "vpnv4_reconcile_runs_total", 'plane="kernel"') : "?"}, frr runs ` +
              `${m ? sum(m, "vpnv4_reconcile_runs_total", 'plane="frr"') : "?"}, prefixes ` +
              `${m?.get('vpnv4_prefixes{family="ipv4"}') ?? "?"}`,
          );
        }
        return await settled({ kernel: 1, frr: 1 });
      }, {
        timeoutMs: options.settleTimeoutS * 1000,
        intervalMs: 2000,
        describe,
      });
      const initialSyncS = (performance.now() - tSync) / 1000;
      const rssAfterSyncMb = await rssMb(pid);
      info(
        `initial sync: ${initialSyncS.toFixed(1)} s, RSS ${rssAfterSyncMb.toFixed(1)} MB ` +
          `(max during the sync ${rssSyncMaxMb.toFixed(1)} MB)`,
      );

      // Churn.
      const samples: LoadSample[] = [];
      let changes = 0;
      let next = pods.length;
      const tChurn = performance.now();
      const total = Math.round(options.rate * options.durationS);
      let nextSample = 0;
      const sample = async () => {
        const m = await metrics();
        const runs: Record<string, number> = {};
        const busyS: Record<string, number> = {};
        for (const plane of ["kernel", "frr"]) {
          runs[plane] = sum(m, "vpnv4_reconcile_runs_total", `plane="${plane}",result="ok"`);
          busyS[plane] = m.get(`vpnv4_reconcile_duration_seconds_sum{plane="${plane}"}`) ?? NaN;
        }
        const s: LoadSample = {
          t: (performance.now() - tChurn) / 1000,
          rssMb: await rssMb(pid),
          heapUsedMb: (m.get("nodejs_heap_size_used_bytes") ?? NaN) / 2 ** 20,
          heapTotalMb: (m.get("nodejs_heap_size_total_bytes") ?? NaN) / 2 ** 20,
          externalMb: (m.get("nodejs_external_memory_bytes") ?? NaN) / 2 ** 20,
          pendingTenants: m.get("vpnv4_reconcile_pending_tenants") ?? NaN,
          oldestPendingS: m.get("vpnv4_reconcile_oldest_pending_seconds") ?? NaN,
          runs,
          busyS,
          errors: sum(m, "vpnv4_reconcile_runs_total", `result="error"`),
          prefixes: m.get('vpnv4_prefixes{family="ipv4"}') ?? NaN,
          changes,
        };
        samples.push(s);
        options.onSample?.(s);
      };
      while (changes < total) {
        const elapsed = (performance.now() - tChurn) / 1000;
        if (elapsed >= nextSample) {
          await sample();
          nextSample += options.sampleS;
        }
        const due = Math.min(total, Math.floor(elapsed * options.rate));
        if (changes >= due) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        if (changes % 2 === 0) {
          // Delete a random pod.
          const k = Math.floor(Math.random() * pods.length);
          const pod = pods[k];
          pods[k] = pods[pods.length - 1];
          pods.pop();
          const r = await client.transact([
            ops.mutate("Logical_Switch", [ops.cond("name", "==", `node${pod.sw}`)], {
              mutations: [["ports", "delete", ops.uuid(pod.uuid)]],
            }),
            ops.del("Logical_Switch_Port", [ops.cond("_uuid", "==", ops.uuid(pod.uuid))]),
          ]);
          if (r.some((x) => x?.error)) throw new Error(`delete failed: ${JSON.stringify(r)}`);
          livePods--;
        } else {
          // Add a pod to a random tenant.
          const i = next++;
          const tenant = Math.floor(Math.random() * options.tenants);
          const sw = podSwitch(i, options.pods);
          const r = await client.transact([
            podInsert(i, tenant, "new"),
            ops.mutate("Logical_Switch", [ops.cond("name", "==", `node${sw}`)], {
              mutations: [["ports", "insert", ops.namedUuid("new")]],
            }),
          ]);
          if (r.some((x) => x?.error)) throw new Error(`insert failed: ${JSON.stringify(r)}`);
          pods.push({ uuid: r[0].uuid![1], sw, tenant });
          livePods++;
        }
        changes++;
      }
      await sample();
      const tDrain = performance.now();
      const runsAtEnd = samples.at(-1)!.runs;
      // Drained: a round of each plane after the last change, nothing pending, state = NB.
      await waitFor(() => settled({ kernel: runsAtEnd.kernel, frr: runsAtEnd.frr }), {
        timeoutMs: options.settleTimeoutS * 1000,
        intervalMs: 1000,
        describe,
      });
      const drainS = (performance.now() - tDrain) / 1000;
      const finalKernelRoutes = await kernelRoutes();
      const finalFrrInstances = await frrInstances();

      const churn = samples.filter((s) => s.t > 0);
      const third = Math.max(1, Math.floor(churn.length / 3));
      const result: LoadResult = {
        initialSyncS,
        rssAfterSyncMb,
        rssSyncMaxMb,
        samples,
        drainS,
        changes,
        finalPods: livePods,
        finalKernelRoutes,
        finalFrrInstances,
        finalTenants: liveTenants(),
        rssMaxMb: Math.max(...samples.map((s) => s.rssMb)),
        rssGrowthMb: mean(churn.slice(-third).map((s) => s.rssMb)) -
          mean(churn.slice(0, third).map((s) => s.rssMb)),
        backlogMax: Math.max(...samples.map((s) => s.pendingTenants)),
        oldestPendingMaxS: Math.max(...samples.map((s) => s.oldestPendingS)),
      };
      agent.kill("SIGTERM");
      await agent.status;
      await draining;
      agent = undefined;
      return result;
    } finally {
      if (agent) {
        try {
          agent.kill("SIGKILL");
        } catch { /* exited */ }
        await agent.status;
      }
      await client.close().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tenants: { type: "string", default: "10000" },
      pods: { type: "string", default: "100000" },
      "duration-s": { type: "string", default: "300" },
      rate: { type: "string", default: "100" },
      "sample-s": { type: "string", default: "5" },
      "settle-timeout-s": { type: "string", default: "3600" },
      "agent-v8-flags": { type: "string" },
    },
  });
  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(
    "t_s\trss_mb\theap_mb\theap_total_mb\text_mb\tpending\toldest_s\tkernel_runs\tfrr_runs\tkernel_busy_s\tfrr_busy_s\t" +
      "errors\tprefixes\tchanges",
  );
  const r = await runLoad({
    tenants: Number(values.tenants),
    pods: Number(values.pods),
    durationS: Number(values["duration-s"]),
    rate: Number(values.rate),
    sampleS: Number(values["sample-s"]),
    settleTimeoutS: Number(values["settle-timeout-s"]),
    agentV8Flags: values["agent-v8-flags"],
    onInfo: (m) => console.log(`# ${m}`),
    onSample: (s) =>
      console.log(
        [
          f(s.t),
          f(s.rssMb),
          f(s.heapUsedMb),
          f(s.heapTotalMb),
          f(s.externalMb),
          s.pendingTenants,
          f(s.oldestPendingS, 2),
          s.runs.kernel,
          s.runs.frr,
          f(s.busyS.kernel),
          f(s.busyS.frr),
          s.errors,
          s.prefixes,
          s.changes,
        ].join("\t"),
      ),
  });
  console.log(
    `# drained ${f(r.drainS)} s after the last change; pods=${r.finalPods} ` +
      `kernel_routes=${r.finalKernelRoutes} frr_instances=${r.finalFrrInstances} tenants=${r.finalTenants}`,
  );
  console.log(
    `rss_max_mb=${f(r.rssMaxMb)} rss_growth_mb=${f(r.rssGrowthMb)} ` +
      `rss_after_sync_mb=${f(r.rssAfterSyncMb)} rss_sync_max_mb=${f(r.rssSyncMaxMb)} ` +
      `backlog_max=${r.backlogMax} ` +
      `oldest_pending_max_s=${f(r.oldestPendingMaxS, 2)} initial_sync_s=${f(r.initialSyncS)} ` +
      `drain_s=${f(r.drainS)} changes=${r.changes}`,
  );
}
