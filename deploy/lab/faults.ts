/**
 * Fault actions and observers for the lab's resilience cases (issues #6 and #9): they act on
 * the real components of a running lab (GoBGP, FRR, ovsdb-server, the veth, the agent) and
 * watch what the outside world saw over the whole window, not only before and after:
 *
 * - {@link GobgpRibMonitor}: `gobgp monitor global rib -a vpnv4|vpnv6 -j --current` streaming
 *   in the background; every update and withdrawal GoBGP's RIB saw, timestamped on receipt.
 * - {@link AgentProbe}: a poller run inside the node namespace (this file with `--probe`)
 *   that fetches the agent's `/readyz`, `/status` and `/metrics` every second and reports
 *   each change, so a short not-ready window or a counter step is seen when it happens.
 * - {@link LogCursor}: the agent's output lines written since a mark.
 * - fault actions: {@link killFrrDaemons}, {@link startFrrDaemon}, {@link killPidFile},
 *   {@link setLink}, {@link gobgpNeighbor}.
 * - state digests: {@link nbDigest} (OVN NB rows by content), {@link frrOperatorView}.
 *
 * ```sh
 * ip netns exec lab-node deno run -A deploy/lab/faults.ts --probe http://127.0.0.1:9183 1000
 * ```
 * @module
 */
import type { FrrInstance } from "../../tests/support/frr.ts";
import type { GobgpInstance } from "../../tests/support/gobgp.ts";
import type { OvnDbInstance } from "../../tests/support/ovn_nb.ts";
import { Daemon, inNetns, run, runOk, waitFor } from "../../tests/support/proc.ts";
import { rdText } from "./routes.ts";

/** A child process whose stdout and stderr lines are handed over as they arrive. */
class LineProcess {
  readonly child: Deno.ChildProcess;
  readonly done: Promise<void>;
  readonly stderr: string[] = [];
  /** True once the process has exited. */
  exited = false;

  constructor(cmd: string, args: string[], onLine: (line: string) => void) {
    this.child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
    const pump = async (s: ReadableStream<Uint8Array>, each: (l: string) => void) => {
      let buf = "";
      try {
        for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            each(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        }
      } catch {
        // closed
      }
      if (buf) each(buf);
    };
    this.done = Promise.all([
      pump(this.child.stdout, onLine),
      pump(this.child.stderr, (l) => {
        this.stderr.push(l);
        if (this.stderr.length > 50) this.stderr.shift();
      }),
      this.child.status.then(() => {
        this.exited = true;
      }),
    ]).then(() => {});
  }

  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.done;
  }
}

/** One event of GoBGP's RIB as `gobgp monitor global rib` reported it. */
export interface RibEvent {
  /** `Date.now()` when the line was read. */
  at: number;
  /** `vpnv4` or `vpnv6`. */
  family: string;
  /** `RD:PREFIX`. */
  key: string;
  withdrawal: boolean;
}

/**
 * Streams `gobgp monitor global rib -a FAMILY -j --current` for each family for as long as
 * it runs: the `--current` dump arrives first (so {@link GobgpRibMonitor.start} can prove the
 * stream is live), then every change. Withdrawals carry `"withdrawal": true`.
 */
export class GobgpRibMonitor {
  readonly events: RibEvent[] = [];
  readonly #procs: LineProcess[] = [];
  readonly #bad: string[] = [];

  private constructor() {}

  /**
   * Starts one monitor per family and waits until each has dumped every key of
   * `mustSee` (the current RIB), so no later event can be missed. A monitor that exits
   * before that (the CLI's gRPC deadline passes on a busy machine) is started again, twice
   * at most.
   */
  static async start(
    bgp: GobgpInstance,
    options: { families: string[]; mustSee: string[]; timeoutMs?: number },
  ): Promise<GobgpRibMonitor> {
    for (let attempt = 1;; attempt++) {
      const m = new GobgpRibMonitor();
      const exited: string[] = [];
      for (const family of options.families) {
        const [cmd, args] = inNetns(bgp.netns, "gobgp", [
          ...["-u", "127.0.0.1", "-p", String(bgp.apiPort)],
          ...["monitor", "global", "rib", "-a", family, "-j", "--current"],
        ]);
        const p = new LineProcess(cmd, args, (line) => m.#line(family, line));
        p.done.then(() => exited.push(`${family}: ${p.stderr.join(" | ")}`));
        m.#procs.push(p);
      }
      const seen = () => new Set(m.events.map((e) => e.key));
      try {
        await waitFor(() => {
          if (exited.length) throw new Error(`gobgp monitor exited: ${exited.join("; ")}`);
          return options.mustSee.every((k) => seen().has(k));
        }, {
          timeoutMs: options.timeoutMs ?? 60_000,
          intervalMs: 200,
          describe: () =>
            `gobgp monitor did not dump the current RIB (${options.mustSee.join(" ")}); saw ` +
            `${[...seen()].join(" ")}`,
        });
        return m;
      } catch (e) {
        await m.stop();
        if (attempt >= 3 || !exited.length) throw e;
      }
    }
  }

  #line(family: string, line: string): void {
    const text = line.trim();
    if (!text) return;
    let paths: unknown;
    try {
      paths = JSON.parse(text);
    } catch {
      this.#bad.push(text.slice(0, 200));
      return;
    }
    if (!Array.isArray(paths)) return;
    const at = Date.now();
    for (
      const p of paths as Array<{ nlri?: { prefix?: string; rd?: never }; withdrawal?: boolean }>
    ) {
      const prefix = p.nlri?.prefix;
      if (!prefix) continue;
      // Each monitor streams every VPN family (observed with GoBGP 3.10): keep its own.
      if (prefix.includes(":") !== (family === "vpnv6")) continue;
      const rd = rdText(p.nlri?.rd);
      this.events.push({
        at,
        family,
        key: rd ? `${rd}:${prefix}` : prefix,
        withdrawal: p.withdrawal === true,
      });
    }
  }

  /** A mark for {@link since}: the number of events so far. */
  mark(): number {
    return this.events.length;
  }

  /** Events after `mark`, optionally only those whose key is in `keys`. */
  since(mark: number, keys?: ReadonlySet<string>): RibEvent[] {
    return this.events.slice(mark).filter((e) => !keys || keys.has(e.key));
  }

  /** Lines that were not JSON (should stay empty). */
  get unparsed(): readonly string[] {
    return this.#bad;
  }

  /** True while every monitor process still runs. */
  alive(): boolean {
    return this.#procs.every((p) => !p.exited);
  }

  /** Stops the monitors. */
  async stop(): Promise<void> {
    await Promise.all(this.#procs.map((p) => p.stop()));
  }
}

/** Counts of the events in `events`: updates and withdrawals, and the keys withdrawn. */
export function summarizeEvents(
  events: RibEvent[],
): {
  updates: number;
  withdrawals: number;
  withdrawnKeys: string[];
  /** Per key, its events in order: `W` withdrawal, `U` update (e.g. `WUWU`). */
  sequence: Record<string, string>;
} {
  const w = events.filter((e) => e.withdrawal);
  const sequence: Record<string, string> = {};
  for (const e of events) sequence[e.key] = (sequence[e.key] ?? "") + (e.withdrawal ? "W" : "U");
  return {
    updates: events.length - w.length,
    withdrawals: w.length,
    withdrawnKeys: [...new Set(w.map((e) => e.key))].sort(),
    sequence,
  };
}

/** What the probe reports about the agent at one moment. */
export interface ProbeSample {
  /** `Date.now()` of the sample (the probe's clock: same machine). */
  at: number;
  /** False when the agent did not answer (stopped, killed, starting). */
  reachable: boolean;
  error?: string;
  /** `/readyz`: HTTP status and body. */
  readyzCode?: number;
  ready?: boolean;
  notReady?: string[];
  /** From `/status`. */
  startedAt?: string;
  tenants?: { name: string; vrf: string; rd: string; rt: string; table: number }[];
  peers?: { address: string; state: string }[];
  sources?: { id: string; synced: boolean; error?: string }[];
  planes?: { name: string; usable: boolean; ok: boolean; error?: string }[];
  /** `vpnv4_*` samples of `/metrics` (no histograms, no build info): series → value. */
  metrics?: Record<string, number>;
}

/** The `vpnv4_*` series of a Prometheus text exposition (histograms and build info left out). */
export function parseAgentMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith("vpnv4_") || line.startsWith("vpnv4_build_info")) continue;
    if (/^vpnv4_\w+_(bucket|sum|count)[{ ]/.test(line)) continue;
    const i = line.lastIndexOf(" ");
    const v = Number(line.slice(i + 1));
    if (Number.isFinite(v)) out[line.slice(0, i)] = v;
  }
  return out;
}

/** Sum of every series of metric `name` whose labels include all of `labels`. */
export function metricSum(
  metrics: Record<string, number> | undefined,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const [series, v] of Object.entries(metrics ?? {})) {
    const brace = series.indexOf("{");
    const n = brace < 0 ? series : series.slice(0, brace);
    if (n !== name) continue;
    if (Object.entries(labels).every(([k, val]) => series.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
}

/** Fields of a sample that make it "different" (ok run counters and timestamps excluded). */
function signature(s: ProbeSample): string {
  const m = Object.entries(s.metrics ?? {}).filter(([k]) =>
    !(k.startsWith("vpnv4_reconcile_runs_total") && k.includes('result="ok"'))
  );
  return JSON.stringify([
    s.reachable,
    s.readyzCode,
    s.ready,
    s.notReady,
    s.startedAt,
    s.tenants,
    s.peers,
    s.sources,
    s.planes,
    m,
  ]);
}

async function probeOnce(base: string): Promise<ProbeSample> {
  const at = Date.now();
  try {
    // Generous: the guest is slow, and "unreachable" must mean the agent is gone.
    const signal = AbortSignal.timeout(20_000);
    const rz = await fetch(`${base}/readyz`, { headers: { accept: "application/json" }, signal });
    const rzBody = await rz.json() as { ready: boolean; notReady: string[] };
    const st = await (await fetch(`${base}/status`, { signal })).json() as Record<string, unknown>;
    const mt = await (await fetch(`${base}/metrics`, { signal })).text();
    const pick = <T>(v: unknown, keys: string[]): T =>
      (Array.isArray(v) ? v : []).map((o) =>
        Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]))
      ) as T;
    return {
      at,
      reachable: true,
      readyzCode: rz.status,
      ready: rzBody.ready,
      notReady: rzBody.notReady,
      startedAt: String(st.startedAt ?? ""),
      tenants: pick(st.tenants, ["name", "vrf", "rd", "rt", "table"]),
      peers: pick(st.peers, ["address", "state"]),
      sources: pick(st.sources, ["id", "synced", "error"]),
      planes: pick(st.planes, ["name", "usable", "ok", "error"]),
      metrics: parseAgentMetrics(mt),
    };
  } catch (e) {
    return { at, reachable: false, error: (e as Error).message };
  }
}

/**
 * The probe loop (`--probe BASE INTERVAL_MS`): prints one `PROBE {json}` line per changed
 * sample, and a `PROBE` line at least every 10 s so the reader knows it is alive.
 */
async function probeMain(base: string, intervalMs: number): Promise<void> {
  let last = "";
  let lastAt = 0;
  while (true) {
    const s = await probeOnce(base);
    const sig = signature(s);
    if (sig !== last || s.at - lastAt > 10_000) {
      console.log(`PROBE ${JSON.stringify(s)}`);
      last = sig;
      lastAt = s.at;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - s.at))));
  }
}

/**
 * Watches the agent's HTTP surface from inside the node namespace (a `deno` child running
 * this file with `--probe`), keeping every changed sample.
 */
export class AgentProbe {
  readonly samples: ProbeSample[] = [];
  readonly #proc: LineProcess;

  private constructor(netns: string, base: string, intervalMs: number) {
    const self = new URL(import.meta.url).pathname;
    const [cmd, args] = inNetns(netns, Deno.execPath(), [
      ...["run", "-A", self, "--probe", base, String(intervalMs)],
    ]);
    this.#proc = new LineProcess(cmd, args, (line) => {
      if (!line.startsWith("PROBE ")) return;
      try {
        this.samples.push(JSON.parse(line.slice(6)) as ProbeSample);
      } catch {
        // partial line at exit
      }
    });
  }

  /** Starts the probe and waits for its first answer from a ready agent. */
  static async start(
    netns: string,
    base: string,
    options: { intervalMs?: number; timeoutMs?: number } = {},
  ): Promise<AgentProbe> {
    const p = new AgentProbe(netns, base, options.intervalMs ?? 1000);
    await waitFor(() => p.latest?.ready === true, {
      timeoutMs: options.timeoutMs ?? 90_000,
      intervalMs: 200,
      describe: () =>
        `agent probe saw no ready agent at ${base}: last ${JSON.stringify(p.latest)}; ` +
        `stderr: ${p.#proc.stderr.join(" | ")}`,
    });
    return p;
  }

  /** The newest sample. */
  get latest(): ProbeSample | undefined {
    return this.samples.at(-1);
  }

  /** A mark for {@link since}. */
  mark(): number {
    return this.samples.length;
  }

  /** Samples after `mark`. */
  since(mark: number): ProbeSample[] {
    return this.samples.slice(mark);
  }

  /** Waits until a sample after `mark` satisfies `pred`; returns it. */
  async waitSince(
    mark: number,
    pred: (s: ProbeSample) => boolean,
    options: { timeoutMs?: number; what: string },
  ): Promise<ProbeSample> {
    let hit: ProbeSample | undefined;
    await waitFor(() => (hit = this.since(mark).find(pred)) !== undefined, {
      timeoutMs: options.timeoutMs ?? 120_000,
      intervalMs: 200,
      describe: () =>
        `agent probe: ${options.what} not seen; last sample ${JSON.stringify(this.latest)}`,
    });
    return hit!;
  }

  /** Stops the probe. */
  async stop(): Promise<void> {
    await this.#proc.stop();
  }
}

/** Reads the lines an agent wrote since a mark (the agent's output is a rolling tail). */
export class LogCursor {
  #seen: string[];

  constructor(private readonly output: () => string) {
    this.#seen = output().split("\n");
  }

  /** Lines written since construction or the last {@link reset}. */
  lines(): string[] {
    const now = this.output().split("\n");
    const seen = this.#seen.filter((l) => l !== "");
    if (seen.length === 0) return now.filter((l) => l !== "");
    const last = seen.at(-1)!;
    for (let i = now.length - 1; i >= 0; i--) {
      if (now[i] !== last) continue;
      // Confirm with up to three lines of context before it.
      let ok = true;
      for (let k = 1; k <= 3 && i - k >= 0 && seen.length - 1 - k >= 0; k++) {
        if (now[i - k] !== seen[seen.length - 1 - k]) ok = false;
      }
      if (ok) return now.slice(i + 1).filter((l) => l !== "");
    }
    return now.filter((l) => l !== "");
  }

  /** Moves the mark to now. */
  reset(): void {
    this.#seen = this.output().split("\n");
  }
}

/** GoBGP 3 `session_state` numbers (`gobgp neighbor ADDR -j`) and their names. */
const SESSION_STATES: Record<string, string> = {
  "1": "idle",
  "2": "connect",
  "3": "active",
  "4": "opensent",
  "5": "openconfirm",
  "6": "established",
};

/**
 * `gobgp neighbor ADDRESS reset|disable|enable`, or with `state` the session state as a name
 * (`idle` … `established`); throws when GoBGP does not say, so a failed query is never taken
 * for a state.
 */
export async function gobgpNeighbor(
  bgp: GobgpInstance,
  address: string,
  action: "reset" | "disable" | "enable" | "state",
): Promise<string> {
  if (action !== "state") return await bgp.cli(["neighbor", address, action]);
  const out = JSON.parse(await bgp.cli(["neighbor", address, "-j"])) as {
    state?: { session_state?: number | string };
  };
  const raw = String(out.state?.session_state ?? "").toLowerCase();
  const name = SESSION_STATES[raw] ?? (Object.values(SESSION_STATES).includes(raw) ? raw : "");
  if (!name) {
    throw new Error(`gobgp neighbor ${address}: no session state in ${JSON.stringify(out.state)}`);
  }
  return name;
}

/** `ip -n NETNS link set DEV up|down`. */
export async function setLink(netns: string, dev: string, up: boolean): Promise<void> {
  await runOk("ip", ["-n", netns, "link", "set", dev, up ? "up" : "down"]);
}

async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Sends `signal` to the pid in `pidFile` and waits until the process is gone; returns the pid. */
export async function killPidFile(
  pidFile: string,
  signal: Deno.Signal = "SIGKILL",
  timeoutMs = 30_000,
): Promise<number> {
  const pid = Number((await Deno.readTextFile(pidFile)).trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`${pidFile}: no pid`);
  Deno.kill(pid, signal);
  await waitFor(async () => !(await alive(pid)), {
    timeoutMs,
    intervalMs: 100,
    describe: () => `pid ${pid} (${pidFile}) still alive after ${signal}`,
  });
  return pid;
}

/** Kills FRR daemons of `frr` by their pid files (`RUNDIR/DAEMON.pid`). */
export async function killFrrDaemons(
  frr: FrrInstance,
  daemons: string[],
  signal: Deno.Signal = "SIGKILL",
): Promise<number[]> {
  const pids: number[] = [];
  for (const d of daemons) pids.push(await killPidFile(`${frr.runDir}/${d}.pid`, signal));
  return pids;
}

/**
 * Starts one FRR daemon again in `frr`'s pathspace and namespace (same arguments as
 * tests/support/frr.ts) and waits until it answers vtysh (zebra: its zserv socket first).
 * The caller stops the returned Daemon.
 */
export async function startFrrDaemon(
  frr: FrrInstance,
  daemon: "zebra" | "bgpd" | "staticd",
  timeoutMs = 120_000,
): Promise<Daemon> {
  await Deno.remove(`${frr.runDir}/${daemon}.vty`).catch(() => {});
  if (daemon === "zebra") await Deno.remove(`${frr.runDir}/zserv.api`).catch(() => {});
  const [cmd, args] = inNetns(frr.netns, `/usr/lib/frr/${daemon}`, [
    ...["-N", frr.name, "-F", "traditional", "-f", `${frr.configDir}/frr.conf`, "-P", "0"],
  ]);
  const d = new Daemon(`${frr.name}/${daemon}`, cmd, args);
  try {
    await waitFor(async () => {
      if (d.exited) throw new Error(`${daemon} exited during start:\n${d.output}`);
      if (daemon === "zebra") {
        try {
          await Deno.stat(`${frr.runDir}/zserv.api`);
        } catch {
          return false;
        }
      }
      const r = await run("vtysh", ["-N", frr.name, "-d", daemon, "-c", "show version"]);
      return r.code === 0 && !/is not running|failed to connect/i.test(r.stdout + r.stderr);
    }, { timeoutMs, intervalMs: 250, describe: () => `${daemon} did not answer:\n${d.output}` });
  } catch (e) {
    await d.stop();
    throw e;
  }
  return d;
}

/**
 * The operator's lines of FRR's running configuration: every line that mentions one of
 * `markers`, and the bodies of the `route-map` blocks whose name holds one of them.
 */
export async function frrOperatorView(frr: FrrInstance, markers: string[]): Promise<string[]> {
  const text = await frr.vtysh("show running-config");
  const out: string[] = [];
  let inMap = false;
  for (const line of text.split("\n")) {
    const hit = markers.some((m) => line.includes(m));
    if (/^route-map /.test(line)) inMap = hit;
    else if (/^\S/.test(line)) inMap = false;
    if (hit || inMap) out.push(line.trimEnd());
  }
  return out;
}

type OvsdbValue = unknown;

function canon(v: OvsdbValue): unknown {
  if (Array.isArray(v)) {
    if (v[0] === "uuid") return "<uuid>";
    if (v[0] === "set" && Array.isArray(v[1])) {
      const items = (v[1] as unknown[]).map(canon);
      return items.every((i) => i === "<uuid>")
        ? `<${items.length} uuids>`
        : items.map((i) => JSON.stringify(i)).sort();
    }
    if (v[0] === "map" && Array.isArray(v[1])) {
      return (v[1] as unknown[][]).map(([k, x]) =>
        `${JSON.stringify(k)}=${JSON.stringify(canon(x))}`
      )
        .sort();
    }
  }
  return v;
}

/** One NB table as `{ uuid → row }` (from `ovn-nbctl --format=json list TABLE`). */
export async function nbRows(
  nb: OvnDbInstance,
  table: string,
): Promise<Record<string, Record<string, unknown>>> {
  const out = JSON.parse(await nb.nbctl(["--format=json", "list", table])) as {
    headings: string[];
    data: unknown[][];
  };
  const rows: Record<string, Record<string, unknown>> = {};
  for (const d of out.data) {
    const row: Record<string, unknown> = {};
    let uuid = "";
    out.headings.forEach((h, i) => {
      if (h === "_uuid") uuid = String((d[i] as unknown[])[1]);
      else row[h] = d[i];
    });
    rows[uuid] = row;
  }
  return rows;
}

/** Tables compared by {@link nbDigest}. */
export const NB_TABLES = [
  "Logical_Switch",
  "Logical_Switch_Port",
  "Logical_Router",
  "Logical_Router_Static_Route",
] as const;

/**
 * The NB contents by value: per table, one sorted JSON line per row with references replaced
 * by their count (a row recreated with the same content digests the same).
 */
export async function nbDigest(nb: OvnDbInstance): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of NB_TABLES) {
    const rows = await nbRows(nb, t);
    out[t] = Object.values(rows).map((r) =>
      JSON.stringify(Object.fromEntries(Object.entries(r).sort().map(([k, v]) => [k, canon(v)])))
    ).sort();
  }
  return out;
}

/** The lines that differ between two digests (`-` before only, `+` after only). */
export function digestDiff(
  before: Record<string, string[]>,
  after: Record<string, string[]>,
): string[] {
  const diff: string[] = [];
  for (const t of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[t] ?? [], b = after[t] ?? [];
    for (const l of a) if (!b.includes(l)) diff.push(`- ${t} ${l}`);
    for (const l of b) if (!a.includes(l)) diff.push(`+ ${t} ${l}`);
  }
  return diff;
}

if (import.meta.main) {
  const [flag, base, interval] = Deno.args;
  if (flag !== "--probe" || !base) {
    console.error("usage: faults.ts --probe BASE_URL [INTERVAL_MS]");
    Deno.exit(2);
  }
  await probeMain(base.replace(/\/$/, ""), Number(interval ?? 1000));
}
