/**
 * A real `vpnv4-agent` process for tests: spawning `deno run … main.ts ARGS` (all permissions or
 * an explicit flag list, optionally inside a netns behind a command prefix such as setpriv), its
 * captured output, stopping it, its HTTP endpoints (/readyz, /status, /metrics, from the host or
 * from inside a netns), its JSON log records, the lab files it reads (configuration, tenants,
 * state) and the routes it installed (protocol 245).
 * @module
 */
import { stringify } from "yaml";
import { ip } from "./netns.ts";
import { freePort, waitFor } from "./proc.ts";

/** Path of the agent's entry point. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Options of {@link spawnAgent}. */
export interface SpawnAgentOptions {
  /** Deno permission flags: `"all"` (`--allow-all`, the default) or exactly these flags. */
  flags?: "all" | readonly string[];
  /**
   * Runs the whole process inside this netns (`ip netns exec`); its HTTP server is then only
   * reachable from there. (The agent's own `--netns` argument belongs in the args.)
   */
  netns?: string;
  /** Command run before deno (inside the netns), e.g. setpriv with its options. */
  prefix?: readonly string[];
  /** Environment: added to the inherited one, or the whole environment with `clearEnv`. */
  env?: Record<string, string>;
  /** Start from an empty environment (only `env`). */
  clearEnv?: boolean;
  /** Working directory. */
  cwd?: string;
  /** Capture stdout too (interleaved with stderr by chunk); discarded otherwise. */
  captureStdout?: boolean;
}

/** A running agent process whose output is drained continuously. */
export interface AgentProc {
  readonly child: Deno.ChildProcess;
  /** Everything captured so far (stderr, and stdout when captured). */
  log: () => string;
  /** Resolves with the whole captured output once the streams ended. */
  readonly done: Promise<string>;
  /** Resolves with the exit code once the process ended and its output is drained. */
  readonly finished: Promise<number>;
}

/** `deno run --no-prompt FLAGS main.ts ARGS…`, see {@link SpawnAgentOptions}. */
export function spawnAgent(args: readonly string[], options: SpawnAgentOptions = {}): AgentProc {
  const flags = options.flags === undefined || options.flags === "all"
    ? ["--allow-all"]
    : options.flags;
  const deno = [Deno.execPath(), "run", "--no-prompt", ...flags, MAIN, ...args];
  const cmd = [
    ...(options.netns === undefined ? [] : ["ip", "netns", "exec", options.netns]),
    ...(options.prefix ?? []),
    ...deno,
  ];
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: options.env,
    clearEnv: options.clearEnv,
    cwd: options.cwd,
    stdin: "null",
    stdout: options.captureStdout ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) text += dec.decode(chunk, { stream: true });
  };
  const done = Promise.all([
    drain(child.stderr),
    options.captureStdout ? drain(child.stdout) : undefined,
  ]).then(() => text);
  const finished = Promise.all([done, child.status]).then(([, s]) => s.code);
  return { child, log: () => text, done, finished };
}

/** How an agent ended: exit code and its whole captured output. */
export interface AgentExit {
  code: number;
  stderr: string;
}

/** Sends `signal` (SIGTERM by default; throws if the process already ended) and waits. */
export async function stopAgent(
  agent: AgentProc,
  signal: Deno.Signal = "SIGTERM",
): Promise<AgentExit> {
  agent.child.kill(signal);
  return { code: await agent.finished, stderr: await agent.done };
}

/** Kills the agent if it still runs and waits for it and its output to end (for finally). */
export async function reap(agent: AgentProc): Promise<void> {
  try {
    agent.child.kill("SIGKILL");
  } catch { /* already exited */ }
  await agent.finished;
}

/** Where the agent's HTTP server is reached (the netns when it listens inside one). */
export interface AgentHttp {
  /** Base URL, e.g. `http://127.0.0.1:9183`. */
  readonly url: string;
  /** GET from inside this netns (with curl) instead of from the test process. */
  readonly netns?: string;
}

/** An HTTP answer: status 0 and an empty body when the agent does not answer. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** GET `path` of the agent's HTTP server; never throws. */
export async function httpGet(target: AgentHttp, path: string): Promise<HttpAnswer> {
  const url = `${target.url}${path}`;
  if (target.netns === undefined) {
    try {
      const r = await fetch(url);
      return { status: r.status, body: await r.text() };
    } catch {
      return { status: 0, body: "" };
    }
  }
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", target.netns, "curl", "-s", "-m", "5", "-w", "\n%{http_code}", url],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const nl = text.lastIndexOf("\n");
  return { status: Number(text.slice(nl + 1)) || 0, body: text.slice(0, Math.max(0, nl)) };
}

/** GET /readyz. */
export function readyz(target: AgentHttp): Promise<HttpAnswer> {
  return httpGet(target, "/readyz");
}

/** GET `path`; throws when the agent does not answer. */
async function answered(target: AgentHttp, path: string): Promise<HttpAnswer> {
  const answer = await httpGet(target, path);
  if (answer.status === 0) throw new Error(`GET ${target.url}${path}: no answer`);
  return answer;
}

/** GET /status as JSON (throws when the agent does not answer, or not with JSON). */
export async function status(target: AgentHttp): Promise<Record<string, unknown>> {
  return JSON.parse((await answered(target, "/status")).body);
}

/** Waits for /readyz to answer 200 (60 s by default). */
export async function waitReady(
  target: AgentHttp,
  agent: AgentProc,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  let last: HttpAnswer = { status: 0, body: "" };
  await waitFor(async () => (last = await readyz(target)).status === 200, {
    timeoutMs: options.timeoutMs ?? 60_000,
    describe: () => `never ready: ${last.status} ${last.body}\nlog:\n${agent.log().slice(-3000)}`,
  });
}

/**
 * Waits for /readyz to answer 503 with a reason line matching `pattern` (30 s by default);
 * returns that line.
 */
export async function waitNotReady(
  target: AgentHttp,
  agent: AgentProc,
  options: { pattern: RegExp; timeoutMs?: number },
): Promise<string> {
  let last: HttpAnswer = { status: 0, body: "" };
  let line: string | undefined;
  await waitFor(async () => {
    last = await readyz(target);
    line = last.status === 503
      ? last.body.split("\n").find((l) => options.pattern.test(l))
      : undefined;
    return line !== undefined;
  }, {
    timeoutMs: options.timeoutMs ?? 30_000,
    describe: () =>
      `readyz never reported ${options.pattern}: ${last.status} ${last.body}\nlog:\n${
        agent.log().slice(-3000)
      }`,
  });
  return line!;
}

/** Sum of the samples of metric `name` in Prometheus text whose labels include `labels`. */
export function sumMetric(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) {
      sum += Number(m[3]);
    }
  }
  return sum;
}

/** GET /metrics and {@link sumMetric} of `name` with `labels` (throws when no answer). */
export async function metric(
  target: AgentHttp,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sumMetric((await answered(target, "/metrics")).body, name, labels);
}

/** One JSON log record of the agent. */
export interface LogRecord {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** The agent's JSON log records (lines that are not JSON are skipped). */
export function logRecords(agent: Pick<AgentProc, "log">): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of agent.log().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch { /* partial line */ }
  }
  return out;
}

/** The first log record at warning level or above whose message matches `pattern`. */
export function findLog(agent: Pick<AgentProc, "log">, pattern: RegExp): LogRecord | undefined {
  return logRecords(agent).find((r) =>
    /^(WARN|WARNING|ERROR|FATAL)/i.test(r.level) && pattern.test(r.message)
  );
}

/** Waits for such a log record (30 s by default) and returns it. */
export async function waitLog(
  agent: Pick<AgentProc, "log">,
  pattern: RegExp,
  options: { timeoutMs?: number } = {},
): Promise<LogRecord> {
  let found: LogRecord | undefined;
  await waitFor(() => (found = findLog(agent, pattern)) !== undefined, {
    timeoutMs: options.timeoutMs ?? 30_000,
    describe: () => `no warning/error log matching ${pattern}:\n${agent.log().slice(-3000)}`,
  });
  return found!;
}

/** Options of {@link agentConfigText}. */
export interface AgentConfigOptions {
  /** `frr.pathspace`. */
  pathspace: string;
  /** `tenants.sources`. */
  sources: readonly Record<string, unknown>[];
  /** `allocation.state_file`. */
  stateFile: string;
  /** `http.listen`; without it the `http` section is left out (the agent's default). */
  listen?: string;
  /** Values merged into the sections of the same name (one level deep), or new sections. */
  sections?: Record<string, Record<string, unknown>>;
}

/**
 * A lab configuration as YAML: AS 65000 with one peer (192.0.2.254, AS 65001), policy
 * 10.0.0.0/8 and fd00::/8, tables 2000–2999, `kernel.vrf_mode: table` without MPLS (this kernel
 * has neither VRF nor MPLS), quick reconciles, JSON logs at debug; `sections` change any of it.
 */
export function agentConfigText(options: AgentConfigOptions): string {
  const config: Record<string, Record<string, unknown>> = {
    bgp: {
      asn: 65000,
      router_id: "192.0.2.1",
      peers: [{ address: "192.0.2.254", remote_asn: 65001, description: "fortigate" }],
    },
    tenants: { sources: options.sources, policy: { allowed: ["10.0.0.0/8", "fd00::/8"] } },
    allocation: { state_file: options.stateFile, table_range: { min: 2000, max: 2999 } },
    frr: { pathspace: options.pathspace },
    kernel: { vrf_mode: "table", mpls: "off" },
    reconcile: { debounce_ms: 50, frr_check_s: 1 },
    ...(options.listen === undefined ? {} : { http: { listen: options.listen } }),
    log: { level: "debug", format: "json" },
  };
  for (const [name, values] of Object.entries(options.sections ?? {})) {
    config[name] = { ...config[name], ...values };
  }
  return stringify(config);
}

/** Options of {@link makeAgentLab}. */
export interface AgentLabOptions {
  /** `frr.pathspace`. */
  pathspace: string;
  /** Text of the tenants file; it becomes the first source (`type: file`) when set. */
  tenants?: string;
  /** Further tenant sources. */
  sources?: readonly Record<string, unknown>[];
  /**
   * Folder of the state file (default `<lab>/state`); a relative one is written as is (the agent
   * resolves it against the configuration file's folder, the lab dir).
   */
  stateDir?: string;
  /** See {@link AgentConfigOptions.sections}. */
  sections?: Record<string, Record<string, unknown>>;
}

/** A lab: temp dir with the configuration and tenants file, state file path, HTTP URL. */
export interface AgentLab {
  readonly dir: string;
  /** The agent's HTTP server on a free port of 127.0.0.1 (host side). */
  readonly url: string;
  readonly config: string;
  readonly tenants: string;
  readonly state: string;
}

/** Writes {@link agentConfigText} (and the tenants file) into a fresh temp dir. */
export async function makeAgentLab(prefix: string, options: AgentLabOptions): Promise<AgentLab> {
  const dir = await Deno.makeTempDir({ prefix });
  const port = freePort();
  const stateDir = options.stateDir ?? `${dir}/state`;
  const sources = [
    ...(options.tenants === undefined ? [] : [{ type: "file", path: "tenants.yaml" }]),
    ...(options.sources ?? []),
  ];
  const config = agentConfigText({
    pathspace: options.pathspace,
    sources,
    stateFile: `${stateDir}/state.json`,
    listen: `127.0.0.1:${port}`,
    sections: options.sections,
  });
  await Deno.writeTextFile(`${dir}/vpnv4-agent.yaml`, config);
  if (options.tenants !== undefined) {
    await Deno.writeTextFile(`${dir}/tenants.yaml`, options.tenants);
  }
  return {
    dir,
    url: `http://127.0.0.1:${port}`,
    config: `${dir}/vpnv4-agent.yaml`,
    tenants: `${dir}/tenants.yaml`,
    state: stateDir.startsWith("/") ? `${stateDir}/state.json` : `${dir}/${stateDir}/state.json`,
  };
}

/** Tenant name → prefixes. */
export type Tenants = Record<string, string[]>;

/** A tenants file with `tenants`. */
export function tenantsYaml(tenants: Tenants): string {
  let text = "tenants:\n";
  for (const [name, prefixes] of Object.entries(tenants)) {
    text += `  - name: ${name}\n    prefixes: [${prefixes.join(", ")}]\n`;
  }
  return text;
}

/** Writes a file the way editors and config management do: temp file + rename. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.tmp`, text);
  await Deno.rename(`${path}.tmp`, path);
}

/** The state file's live allocations (retired ones left out): tenant → table. */
export async function stateTables(lab: { state: string }): Promise<Map<string, number>> {
  const state = JSON.parse(await Deno.readTextFile(lab.state));
  return new Map(
    (state.allocations as Array<{ tenant: string; table: number; retired_at?: string }>)
      .filter((a) => !a.retired_at).map((a) => [a.tenant, a.table]),
  );
}

/** The protocol number of the agent's kernel routes. */
export const AGENT_PROTO = "245";

/**
 * The agent's routes in `ns` (`ip route show table all proto 245`, IPv4 then IPv6, or only
 * `family`), one line each with white space collapsed (ip ends some with a blank: kept), in
 * `ip`'s order.
 */
export async function agentRouteLines(
  ns: string,
  options: { family?: "-4" | "-6" } = {},
): Promise<string[]> {
  const out: string[] = [];
  for (const family of options.family ? [options.family] : ["-4", "-6"]) {
    const text = await ip(ns, family, "route", "show", "table", "all", "proto", AGENT_PROTO);
    for (const line of text.split("\n")) {
      if (line.trim()) out.push(line.replace(/\s+/g, " "));
    }
  }
  return out;
}

/** The agent's blackhole routes of `ns` as `TABLE DST` (host routes with their length), sorted. */
export async function agentRoutes(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ["-4", "-6"] as const) {
    for (const line of await agentRouteLines(ns, { family })) {
      const m = /^blackhole (\S+) .*table (\d+)/.exec(line);
      if (!m) continue;
      // ip prints host routes without their length.
      const dst = m[1].includes("/") ? m[1] : `${m[1]}/${family === "-4" ? 32 : 128}`;
      out.push(`${m[2]} ${dst}`);
    }
  }
  return out.sort();
}

/** Pids and command lines of the direct children of `pid` (from /proc; none once it is gone). */
export async function childCommands(pid: number): Promise<Array<{ pid: number; cmd: string }>> {
  const out: Array<{ pid: number; cmd: string }> = [];
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const kids = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/children`)
        .catch(() => "");
      for (const kid of kids.split(" ").filter(Boolean)) {
        const cmd = await Deno.readTextFile(`/proc/${kid}/cmdline`).catch(() => "");
        out.push({ pid: Number(kid), cmd: cmd.split("\0").join(" ") });
      }
    }
  } catch { /* the process is gone */ }
  return out;
}
