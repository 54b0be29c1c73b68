/**
 * Convergence benchmark (`deno task bench:convergence`): how long from a write to OVN NB until
 * GoBGP (the "FortiGate") holds the VPNv4 route, and from the delete until GoBGP withdrew it,
 * with 1, 100 and 1,000 tenants present.
 *
 * The lab topology of deploy/lab/scenario.ts (node namespace with FRR and vpnv4-agent, GoBGP in
 * the FortiGate namespace, the agent's lab configuration) runs in the QEMU guest (Debian kernel
 * with VRF and MPLS, **under TCG software emulation**: the figures are far slower than on
 * hardware) or directly on a kernel with VRF. Per level, the tenants are added to NB in one
 * transaction and the benchmark waits until GoBGP holds every tenant's route; then, 50 times,
 * a pod of tenant `demo` is inserted into NB (one transact of this process's OVSDB client) and
 * the time until `gobgp monitor global rib -a vpnv4` reports its /32 is taken; then the pod is
 * deleted and the time until the withdrawal is taken. Timestamps are taken in the guest:
 * `Date.now()` just before the transact, and on receipt of the monitor line.
 *
 * Prints a table (p50/p99/max per level) and, last, `p99_advertise_ms=… p99_withdraw_ms=…` for
 * the largest level. Environment: BENCH_LEVELS (default `1,100,1000`), BENCH_CHANGES (50),
 * BENCH_GUEST_MEMORY_MB (3072), BENCH_TIMEOUT_MIN (80), BENCH_AGENT_LOG (set: print the agent's
 * last log lines at the end).
 * @module
 */
import { guestAvailable, hostHasVrf, runInGuest } from "../deploy/lab/guest/mod.ts";
import {
  createLabNetwork,
  LAB,
  LAB_FRR_CONFIG,
  labAgentConfig,
  type LabCleanups,
  REPO_ROOT,
} from "../deploy/lab/scenario.ts";
import { GobgpRibMonitor } from "../deploy/lab/faults.ts";
import { startFrr } from "../tests/support/frr.ts";
import { startGobgp } from "../tests/support/gobgp.ts";
import { startOvnDb } from "../tests/support/ovn_nb.ts";
import { Daemon, waitFor } from "../tests/support/proc.ts";
import { ops, OvsdbClient } from "../src/ovsdb/mod.ts";

const RESULT_TAG = "CONVERGENCE_RESULT ";
const NS_KEY = "k8s.ovn.org/namespace";
const MEASURED = "demo";
const SWITCH = "node0";

/** One level's measurements (milliseconds). */
export interface LevelResult {
  tenants: number;
  /** Time until GoBGP held every tenant's route after the level's tenants were written. */
  setupMs: number;
  advertiseMs: number[];
  withdrawMs: number[];
  /**
   * Mean duration per reconcile run of each plane during the level's changes (ms), from the
   * agent's `vpnv4_reconcile_duration_seconds` (sum/count deltas); empty when unavailable.
   */
  planeMeanMs: Record<string, number>;
  /** Reconcile runs per plane during the level's changes. */
  planeRuns: Record<string, number>;
}

/** What the guest side prints as one `CONVERGENCE_RESULT {json}` line. */
export interface ConvergenceResult {
  ok: boolean;
  error?: string;
  emulated: boolean;
  changes: number;
  levels: LevelResult[];
}

function envInt(name: string, fallback: number): number {
  const v = Deno.env.get(name);
  return v ? Number(v) : fallback;
}

function levelsFromEnv(): number[] {
  const text = Deno.env.get("BENCH_LEVELS") ?? "1,100,1000";
  return text.split(",").map((x) => Number(x.trim())).filter((n) => n >= 1).sort((a, b) => a - b);
}

/** Nearest-rank percentile. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function log(text: string): void {
  console.log(`[bench +${(performance.now() / 1000).toFixed(1)}s] ${text}`);
}

function mac(i: number): string {
  return `0a:58:${
    [(i >> 16) & 255, (i >> 8) & 255, i & 255, 7].map((b) => b.toString(16).padStart(2, "0"))
      .join(":")
  }`;
}

/** Tenant `i` (1-based) of the filler tenants and its pod address. */
function filler(i: number): { name: string; ip: string } {
  return { name: `t${String(i).padStart(4, "0")}`, ip: `10.${100 + (i >> 8)}.${i & 255}.5` };
}

function portRow(name: string, tenant: string, ip: string, i: number) {
  return {
    name,
    addresses: [`${mac(i)} ${ip}`],
    external_ids: new Map([[NS_KEY, tenant]]),
  };
}

type PlaneTotals = Record<string, { sum: number; count: number }>;

/** The agent's per-plane reconcile duration totals from /metrics (inside the node netns). */
async function planeTotals(): Promise<PlaneTotals | undefined> {
  const url = `http://${LAB.httpListen}/metrics`;
  const tries: [string, string[]][] = [
    ["ip", ["netns", "exec", LAB.nodeNetns, "curl", "-sf", "--max-time", "10", url]],
    [
      "ip",
      [
        ...["netns", "exec", LAB.nodeNetns, Deno.execPath(), "run", "-A"],
        `${REPO_ROOT}/deploy/lab/http_get.ts`,
        url,
      ],
    ],
  ];
  for (const [cmd, args] of tries) {
    try {
      const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
      if (!out.success) continue;
      const totals: PlaneTotals = {};
      const re = /^vpnv4_reconcile_duration_seconds_(sum|count)\{plane="([a-z]+)"\} ([0-9.e+-]+)$/;
      for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
        const m = re.exec(line.trim());
        if (!m) continue;
        const t = totals[m[2]] ??= { sum: 0, count: 0 };
        t[m[1] as "sum" | "count"] = Number(m[3]);
      }
      return totals;
    } catch {
      // next way
    }
  }
  return undefined;
}

/** The node's VPNv4 keys GoBGP holds now (updates minus withdrawals, in event order). */
function heldKeys(monitor: GobgpRibMonitor): Set<string> {
  const held = new Set<string>();
  for (const e of monitor.events) {
    if (!e.key.startsWith(`${LAB.nodeAsn}:`)) continue;
    if (e.withdrawal) held.delete(e.key);
    else held.add(e.key);
  }
  return held;
}

async function waitEvent(
  monitor: GobgpRibMonitor,
  mark: number,
  match: { key: string; withdrawal: boolean },
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ev = monitor.events.slice(mark).find((e) =>
      e.key === match.key && e.withdrawal === match.withdrawal
    );
    if (ev) return ev.at;
    if (Date.now() > deadline) {
      throw new Error(
        `GoBGP did not ${match.withdrawal ? "withdraw" : "receive"} ${match.key} within ` +
          `${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The guest side: builds the lab, measures every level, prints the result line. */
async function inside(): Promise<number> {
  const levels = levelsFromEnv();
  const changes = envInt("BENCH_CHANGES", 50);
  const result: ConvergenceResult = {
    ok: false,
    emulated: Deno.env.get("VPNV4_GUEST") === "1",
    changes,
    levels: [],
  };
  const cleanups: LabCleanups = [];
  let agent: Daemon | undefined;
  try {
    await createLabNetwork(cleanups, (l) => log(l.trim()));
    const workDir = await Deno.makeTempDir({ prefix: "vpnv4-bench-" });
    cleanups.push(["work dir", () => Deno.remove(workDir, { recursive: true })]);

    const nb = await startOvnDb();
    cleanups.push(["ovsdb-server", () => nb.stop()]);
    await nb.nbctl(["lr-add", LAB.router]);
    const client = new OvsdbClient({ remotes: nb.unixRemote, database: "OVN_Northbound" });
    await client.connect();
    cleanups.push(["ovsdb client", () => client.close()]);
    const switchWhere = [ops.cond("name", "==", SWITCH)];
    // Tenant demo with one pod from the start, on one switch that will hold every port.
    await client.transact([
      ops.insert("Logical_Switch_Port", portRow("demo_base", MEASURED, "10.244.0.5", 0), {
        uuidName: "p0",
      }),
      ops.insert("Logical_Switch", { name: SWITCH, ports: [ops.namedUuid("p0")] }),
    ]);

    const configPath = `${workDir}/vpnv4-agent.yaml`;
    await Deno.writeTextFile(configPath, labAgentConfig(workDir, nb.unixRemote));

    const bgp = await startGobgp({
      netns: LAB.fortigateNetns,
      config: {
        global: {
          config: { as: LAB.fortigateAsn, "router-id": LAB.fortigateAddress, port: 179 },
        },
        neighbors: [{
          config: { "neighbor-address": LAB.nodeAddress, "peer-as": LAB.nodeAsn },
          timers: { config: { "hold-time": 9, "keepalive-interval": 3 } },
          "afi-safis": [
            { config: { "afi-safi-name": "l3vpn-ipv4-unicast" } },
            { config: { "afi-safi-name": "l3vpn-ipv6-unicast" } },
          ],
        }],
      },
    });
    cleanups.push(["gobgpd", () => bgp.stop()]);
    const frr = await startFrr({
      name: LAB.frrPathspace,
      netns: LAB.nodeNetns,
      config: LAB_FRR_CONFIG,
    });
    cleanups.push(["FRR", () => frr.stop()]);

    const args = [
      ...["netns", "exec", LAB.nodeNetns, Deno.execPath(), "run", "-A"],
      ...[`${REPO_ROOT}/main.ts`, "run", "--config", configPath],
    ];
    const d = new Daemon("vpnv4-agent", "ip", args);
    agent = d;
    cleanups.push(["vpnv4-agent", () => d.stop(20_000)]);

    // The measured tenant's first route, then a live monitor of GoBGP's VPNv4 RIB.
    let demoKey = "";
    await waitFor(async () => {
      if (d.exited) throw new Error(`vpnv4-agent exited:\n${d.output}`);
      const rib = await bgp.rib("vpnv4").catch(() => ({})); // a CLI timeout: ask again
      demoKey = Object.keys(rib).find((k) => k.endsWith(":10.244.0.5/32")) ?? "";
      return demoKey !== "";
    }, {
      timeoutMs: 300_000,
      intervalMs: 500,
      describe: () => `GoBGP never received demo's route\n${d.output.slice(-3000)}`,
    });
    const demoRd = demoKey.slice(0, demoKey.length - ":10.244.0.5/32".length);
    const monitor = await GobgpRibMonitor.start(bgp, { families: ["vpnv4"], mustSee: [demoKey] });
    cleanups.push(["gobgp monitor", () => monitor.stop()]);
    log(`agent up, demo's route ${demoKey} at GoBGP; monitor live`);

    let present = 1; // tenants in NB
    let port = 1;
    for (const level of levels) {
      // Add tenants up to the level in one transaction, wait until GoBGP holds them all.
      const txn = [];
      const named = [];
      for (let i = present; i < level; i++) {
        const f = filler(i);
        txn.push(ops.insert("Logical_Switch_Port", portRow(`${f.name}_pod`, f.name, f.ip, i), {
          uuidName: `f${i}`,
        }));
        named.push(ops.namedUuid(`f${i}`));
      }
      const t0 = performance.now();
      if (txn.length) {
        txn.push(
          ops.mutate("Logical_Switch", switchWhere, { mutations: [["ports", "insert", named]] }),
        );
        await client.transact(txn);
      }
      present = Math.max(present, level);
      await waitFor(() => {
        if (d.exited) throw new Error(`vpnv4-agent exited:\n${d.output}`);
        return heldKeys(monitor).size >= level;
      }, {
        timeoutMs: 1_800_000,
        intervalMs: 500,
        describe: () =>
          `GoBGP holds ${heldKeys(monitor).size} of ${level} tenants' routes\n` +
          d.output.slice(-3000),
      });
      const setupMs = Math.round(performance.now() - t0);
      log(`${level} tenant(s) at GoBGP ${setupMs} ms after the NB write; settling`);
      // Settle: no RIB event for 5 s (the agent and FRR are idle).
      let last = monitor.mark();
      let quietSince = Date.now();
      await waitFor(() => {
        if (monitor.mark() !== last) {
          last = monitor.mark();
          quietSince = Date.now();
        }
        return Date.now() - quietSince >= 5000;
      }, { timeoutMs: 300_000, intervalMs: 250, describe: () => "GoBGP's RIB never settled" });

      const lr: LevelResult = {
        tenants: level,
        setupMs,
        advertiseMs: [],
        withdrawMs: [],
        planeMeanMs: {},
        planeRuns: {},
      };
      const before = await planeTotals();
      for (let c = 0; c < changes; c++) {
        const ip = `10.244.1.${10 + c}`;
        const name = `demo_bench-${level}-${c}`;
        const key = `${demoRd}:${ip}/32`;
        const id = 100_000 + port++;
        let mark = monitor.mark();
        let start = Date.now();
        const res = await client.transact([
          ops.insert("Logical_Switch_Port", portRow(name, MEASURED, ip, id), { uuidName: "n" }),
          ops.mutate("Logical_Switch", switchWhere, {
            mutations: [["ports", "insert", [ops.namedUuid("n")]]],
          }),
        ]);
        const uuid = (res[0] as { uuid?: [string, string] }).uuid?.[1];
        if (!uuid) throw new Error(`insert of ${name} returned ${JSON.stringify(res)}`);
        lr.advertiseMs.push(
          (await waitEvent(monitor, mark, { key, withdrawal: false }, 60_000)) - start,
        );
        mark = monitor.mark();
        start = Date.now();
        await client.transact([
          ops.mutate("Logical_Switch", switchWhere, {
            mutations: [["ports", "delete", [ops.uuid(uuid)]]],
          }),
        ]);
        lr.withdrawMs.push(
          (await waitEvent(monitor, mark, { key, withdrawal: true }, 60_000)) - start,
        );
      }
      const after = await planeTotals();
      for (const [plane, t] of Object.entries(after ?? {})) {
        const b = before?.[plane] ?? { sum: 0, count: 0 };
        const runs = t.count - b.count;
        lr.planeRuns[plane] = runs;
        if (runs > 0) lr.planeMeanMs[plane] = Math.round(((t.sum - b.sum) / runs) * 1000);
      }
      log(
        `${level} tenant(s): advertise p50 ${percentile(lr.advertiseMs, 50)} p99 ` +
          `${percentile(lr.advertiseMs, 99)} ms; withdraw p50 ${percentile(lr.withdrawMs, 50)} ` +
          `p99 ${percentile(lr.withdrawMs, 99)} ms`,
      );
      result.levels.push(lr);
    }
    result.ok = true;
    if (Deno.env.get("BENCH_AGENT_LOG")) log(`agent output tail:\n${d.output}`);
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    log(`FAILED: ${result.error}`);
    if (agent) log(`agent output tail:\n${agent.output.slice(-3000)}`);
  } finally {
    for (const [what, fn] of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        log(`could not remove ${what}: ${(e as Error).message}`);
      }
    }
  }
  console.log(RESULT_TAG + JSON.stringify(result));
  return result.ok ? 0 : 1;
}

/** The table and the last line for a result. */
export function report(result: ConvergenceResult): string[] {
  const lines: string[] = [];
  const where = result.emulated
    ? "QEMU guest under TCG software emulation (no KVM): far slower than on hardware"
    : "directly on this kernel";
  lines.push(
    `NB write → route at GoBGP (advertise) and NB delete → withdrawn at GoBGP, ` +
      `${result.changes} changes per level; ${where}`,
  );
  const header = [
    "TENANTS",
    "SETUP_S",
    "ADV_P50",
    "ADV_P99",
    "ADV_MAX",
    "WD_P50",
    "WD_P99",
    "WD_MAX",
  ];
  const rows = result.levels.map((l) => [
    String(l.tenants),
    (l.setupMs / 1000).toFixed(1),
    ...[50, 99, 100].map((p) => String(percentile(l.advertiseMs, p))),
    ...[50, 99, 100].map((p) => String(percentile(l.withdrawMs, p))),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) lines.push(r.map((c, i) => c.padStart(widths[i])).join("  "));
  lines.push(
    "(milliseconds unless noted; SETUP_S: NB write of the level's tenants → all at GoBGP)",
  );
  for (const l of result.levels) {
    const planes = Object.keys(l.planeMeanMs ?? {}).sort();
    if (!planes.length) continue;
    lines.push(
      `${l.tenants} tenant(s), agent reconcile per plane (mean ms per run, runs): ` +
        planes.map((p) => `${p} ${l.planeMeanMs[p]} (${l.planeRuns[p]})`).join(", "),
    );
  }
  const top = result.levels.at(-1);
  lines.push(
    top
      ? `p99_advertise_ms=${percentile(top.advertiseMs, 99)} p99_withdraw_ms=${
        percentile(top.withdrawMs, 99)
      }`
      : "p99_advertise_ms=NaN p99_withdraw_ms=NaN",
  );
  return lines;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--inside")) return await inside();
  if (Deno.uid() !== 0) {
    console.error("bench:convergence needs root (namespaces, FRR, QEMU)");
    return 2;
  }
  const self = new URL(import.meta.url).pathname;
  const script = `${Deno.execPath()} run -A ${self} --inside`;
  const env: Record<string, string> = {};
  for (const k of ["BENCH_LEVELS", "BENCH_CHANGES", "BENCH_AGENT_LOG"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  let output = "";
  const show = (line: string) => {
    if (!line.startsWith(RESULT_TAG)) console.error(line);
  };
  if (await hostHasVrf()) {
    console.error("[bench] this kernel has VRF support: running directly");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, "--inside"],
      env,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    output = new TextDecoder().decode((await child).stdout);
    output.split("\n").forEach(show);
  } else {
    const avail = await guestAvailable();
    if (!avail.ok) {
      console.error(`no VRF support here and the QEMU guest is unavailable: ${avail.reason}`);
      return 2;
    }
    console.error("[bench] no VRF support here: running in the QEMU guest (TCG emulation)");
    const r = await runInGuest(script, {
      timeoutMs: envInt("BENCH_TIMEOUT_MIN", 80) * 60_000,
      memoryMb: envInt("BENCH_GUEST_MEMORY_MB", 3072),
      env,
      cwd: REPO_ROOT,
      onOutput: show,
    });
    output = r.output;
  }
  const line = output.split("\n").find((l) => l.startsWith(RESULT_TAG));
  if (!line) {
    console.error("[bench] no result line from the benchmark");
    return 1;
  }
  const result = JSON.parse(line.slice(RESULT_TAG.length)) as ConvergenceResult;
  if (!result.ok) console.error(`[bench] FAILED: ${result.error}`);
  for (const l of report(result)) console.log(l);
  return result.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
