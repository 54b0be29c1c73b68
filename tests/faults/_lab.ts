/**
 * Shared scaffolding of the host-side fault tests: a real `vpnv4-agent run` process managing a
 * fresh netns (`kernel.vrf_mode: table`, this kernel has no VRF) and a real FRR pathspace, plus
 * the probes the tests assert on (/readyz, /metrics, logs, routes, FRR running-config) and the
 * operator configuration that must survive every fault.
 *
 * Modelled on tests/agent/run_test.ts (same process start and stderr draining).
 * @module
 */
import { stringify } from "yaml";
import { assert, assertStringIncludes } from "../support/assert.ts";
import { ip } from "../support/netns.ts";
import type { FrrInstance } from "../support/frr.ts";
import { freePort, waitFor } from "../support/proc.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Options of {@link makeLab}. */
export interface LabOptions {
  /** The FRR instance the agent drives (pathspace). */
  frr: FrrInstance;
  /** The netns whose kernel state the agent manages. */
  ns: string;
  /** Text of a tenants file (a `file` source) when set. */
  tenants?: string;
  /** OVN NB remote of an `ovn` tenant source when set. */
  ovn?: string;
  /** Enables the return path (`import`) on this OVN NB remote. */
  importNb?: string;
  /** Overrides of the `frr` section (vtysh path, timeout_ms). */
  frrSection?: Record<string, unknown>;
  /** Folder of the state file (default `<lab>/state`). */
  stateDir?: string;
  /** Overrides of the `reconcile` section. */
  reconcile?: Record<string, unknown>;
  /** Extra environment of the agent process. */
  env?: Record<string, string>;
}

/** One lab: temp dir, config, tenants and state files, HTTP URL. */
export interface Lab {
  readonly dir: string;
  readonly url: string;
  readonly config: string;
  readonly tenants: string;
  readonly state: string;
  readonly ns: string;
  readonly frr: FrrInstance;
  readonly env: Record<string, string>;
}

/** Writes the agent configuration (and tenants file) into a fresh temp dir. */
export async function makeLab(options: LabOptions): Promise<Lab> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-fault-" });
  const port = freePort();
  const sources: Record<string, unknown>[] = [];
  if (options.tenants !== undefined) sources.push({ type: "file", path: "tenants.yaml" });
  if (options.ovn !== undefined) {
    sources.push({ type: "ovn", connection: options.ovn, prefix_mode: "host", debounce_ms: 50 });
  }
  const stateDir = options.stateDir ?? `${dir}/state`;
  const config: Record<string, unknown> = {
    bgp: {
      asn: 65000,
      router_id: "192.0.2.1",
      peers: [{ address: "192.0.2.254", remote_asn: 65001, description: "fortigate" }],
    },
    tenants: { sources, policy: { allowed: ["10.0.0.0/8", "fd00::/8"] } },
    allocation: { state_file: `${stateDir}/state.json`, table_range: { min: 2000, max: 2999 } },
    frr: { pathspace: options.frr.name, ...options.frrSection },
    kernel: { vrf_mode: "table", mpls: "off" },
    reconcile: {
      debounce_ms: 50,
      frr_check_s: 1,
      max_backoff_s: 2,
      interval_s: 3600,
      ...options.reconcile,
    },
    http: { listen: `127.0.0.1:${port}` },
    log: { level: "debug", format: "json" },
  };
  if (options.importNb !== undefined) {
    config.import = {
      enabled: true,
      connection: options.importNb,
      router: "lr0",
      nexthop_v4: "100.64.0.1",
    };
  }
  await Deno.writeTextFile(`${dir}/vpnv4-agent.yaml`, stringify(config));
  if (options.tenants !== undefined) {
    await Deno.writeTextFile(`${dir}/tenants.yaml`, options.tenants);
  }
  return {
    dir,
    url: `http://127.0.0.1:${port}`,
    config: `${dir}/vpnv4-agent.yaml`,
    tenants: `${dir}/tenants.yaml`,
    state: `${stateDir}/state.json`,
    ns: options.ns,
    frr: options.frr,
    env: options.env ?? {},
  };
}

/** Writes a file the way editors and config management do: temp file + rename. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.tmp`, text);
  await Deno.rename(`${path}.tmp`, path);
}

/** A running agent process. */
export interface AgentProc {
  child: Deno.ChildProcess;
  /** Everything the agent logged so far (stderr is drained continuously). */
  log: () => string;
  done: Promise<string>;
}

/** Starts `vpnv4-agent run --config … --netns …`. */
export function startAgent(lab: Lab, ...extra: string[]): AgentProc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "run", "--config", lab.config, "--netns", lab.ns, ...extra],
    stdout: "null",
    stderr: "piped",
    env: lab.env,
  }).spawn();
  let text = "";
  const done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) text += dec.decode(chunk, { stream: true });
    return text;
  })();
  return { child, log: () => text, done };
}

/** SIGTERM and wait: exit code and the whole log. */
export async function stopAgent(agent: AgentProc): Promise<{ code: number; stderr: string }> {
  agent.child.kill("SIGTERM");
  const status = await agent.child.status;
  return { code: status.code, stderr: await agent.done };
}

/** Kills the agent if it still runs and waits for its output to end. */
export async function reap(agent: AgentProc): Promise<void> {
  try {
    agent.child.kill("SIGKILL");
  } catch { /* already exited */ }
  await agent.done;
}

/** GET /readyz: status code and body ("" when the agent does not answer). */
export async function readyz(lab: Lab): Promise<{ status: number; text: string }> {
  try {
    const r = await fetch(`${lab.url}/readyz`);
    return { status: r.status, text: await r.text() };
  } catch {
    return { status: 0, text: "" };
  }
}

/** GET /status as JSON. */
export async function status(lab: Lab): Promise<Record<string, unknown>> {
  return await (await fetch(`${lab.url}/status`)).json();
}

/** Waits for /readyz to answer 200. */
export async function waitReady(lab: Lab, agent: AgentProc, timeoutMs = 60_000): Promise<void> {
  let last = { status: 0, text: "" };
  await waitFor(async () => (last = await readyz(lab)).status === 200, {
    timeoutMs,
    describe: () =>
      `never ready: ${last.status} ${last.text}\nlog:\n${agent.log().slice(-3000)}`,
  });
}

/**
 * Waits for /readyz to answer 503 with a reason matching `pattern`; returns that reason line.
 */
export async function waitNotReady(
  lab: Lab,
  agent: AgentProc,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<string> {
  let last = { status: 0, text: "" };
  let line: string | undefined;
  await waitFor(async () => {
    last = await readyz(lab);
    line = last.status === 503 ? last.text.split("\n").find((l) => pattern.test(l)) : undefined;
    return line !== undefined;
  }, {
    timeoutMs,
    describe: () =>
      `readyz never reported ${pattern}: ${last.status} ${last.text}\nlog:\n${
        agent.log().slice(-3000)
      }`,
  });
  return line!;
}

/** Sum of the samples of metric `name` whose labels include `labels`. */
export async function metric(
  lab: Lab,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${lab.url}/metrics`)).text();
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

/** One JSON log record of the agent. */
export interface LogRecord {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** The agent's JSON log records (lines that are not JSON are skipped). */
export function logRecords(agent: AgentProc): LogRecord[] {
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
export function findLog(agent: AgentProc, pattern: RegExp): LogRecord | undefined {
  return logRecords(agent).find((r) =>
    /^(WARN|WARNING|ERROR|FATAL)/i.test(r.level) && pattern.test(r.message)
  );
}

/** Waits for such a log record and returns it. */
export async function waitLog(agent: AgentProc, pattern: RegExp, timeoutMs = 30_000) {
  let found: LogRecord | undefined;
  await waitFor(() => (found = findLog(agent, pattern)) !== undefined, {
    timeoutMs,
    describe: () => `no warning/error log matching ${pattern}:\n${agent.log().slice(-3000)}`,
  });
  return found!;
}

/** The agent's routes (protocol 245) of the netns: `TABLE DST` per route, sorted. */
export async function agentRoutes(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ["-4", "-6"]) {
    const text = await ip(ns, family, "route", "show", "table", "all", "proto", "245");
    for (const line of text.split("\n")) {
      const m = /^blackhole (\S+) .*table (\d+)/.exec(line);
      if (!m) continue;
      // ip prints host routes without their length.
      const dst = m[1].includes("/") ? m[1] : `${m[1]}/${family === "-4" ? 32 : 128}`;
      out.push(`${m[2]} ${dst}`);
    }
  }
  return out.sort();
}

/** The state file's allocations: tenant → table. */
export async function stateTables(lab: Lab): Promise<Map<string, number>> {
  const state = JSON.parse(await Deno.readTextFile(lab.state));
  return new Map(
    (state.allocations as Array<{ tenant: string; table: number; retired_at?: string }>)
      .filter((a) => !a.retired_at).map((a) => [a.tenant, a.table]),
  );
}

/** The routes the agent must have installed for `tenants` (name → prefixes), per the state. */
export async function expectedRoutes(
  lab: Lab,
  tenants: Record<string, string[]>,
): Promise<string[]> {
  const tables = await stateTables(lab);
  const out: string[] = [];
  for (const [name, prefixes] of Object.entries(tenants)) {
    const table = tables.get(name);
    assert(table !== undefined, `no allocation for ${name}`);
    for (const p of prefixes) out.push(`${table} ${p}`);
  }
  return out.sort();
}

/** VRF names of the BGP VRF instances in FRR, operator's excluded, sorted. */
export async function frrTenantVrfs(frr: FrrInstance): Promise<string[]> {
  const running = await frr.vtysh("show running-config");
  return [...running.matchAll(/^router bgp 65000 vrf (\S+)$/gm)].map((m) => m[1])
    .filter((v) => v !== OPERATOR_VRF).sort();
}

/** The operator's own VRF instance in FRR (must never be touched). */
export const OPERATOR_VRF = "operator-vrf";

/** Operator FRR configuration that every fault must leave alone. */
export const OPERATOR_FRR = [
  "configure",
  "ip prefix-list OPERATOR seq 5 permit 10.0.0.0/8",
  "route-map OPERATOR-RM permit 10",
  "match ip address prefix-list OPERATOR",
  "exit",
  "router bgp 65000",
  "neighbor 192.0.2.77 remote-as 65077",
  "neighbor 192.0.2.77 description operator-peer",
  "exit",
  `router bgp 65000 vrf ${OPERATOR_VRF}`,
  "bgp router-id 192.0.2.9",
];

/** Adds {@link OPERATOR_FRR} to FRR (before the agent starts). */
export async function addOperatorFrr(frr: FrrInstance): Promise<void> {
  await frr.vtysh(OPERATOR_FRR);
}

/** Asserts that the operator's FRR configuration is intact; returns what was checked. */
export async function assertOperatorFrr(frr: FrrInstance): Promise<string> {
  const running = await frr.vtysh("show running-config");
  assertStringIncludes(running, "ip prefix-list OPERATOR seq 5 permit 10.0.0.0/8");
  assertStringIncludes(running, "route-map OPERATOR-RM permit 10\n match ip address prefix-list OPERATOR");
  assertStringIncludes(running, "neighbor 192.0.2.77 remote-as 65077");
  assertStringIncludes(running, "neighbor 192.0.2.77 description operator-peer");
  assertStringIncludes(running, `router bgp 65000 vrf ${OPERATOR_VRF}\n bgp router-id 192.0.2.9`);
  return "operator prefix-list, route-map, neighbor and VRF instance";
}

/** An operator route in the netns (another protocol) that must survive. */
export const OPERATOR_ROUTE = { dst: "10.99.0.0/24", table: "2500" };

/** Adds {@link OPERATOR_ROUTE}. */
export async function addOperatorRoute(ns: string): Promise<void> {
  await ip(ns, "route", "add", "blackhole", OPERATOR_ROUTE.dst, "table", OPERATOR_ROUTE.table);
}

/** Asserts {@link OPERATOR_ROUTE} is still there. */
export async function assertOperatorRoute(ns: string): Promise<void> {
  assertStringIncludes(
    await ip(ns, "route", "show", "table", OPERATOR_ROUTE.table),
    `blackhole ${OPERATOR_ROUTE.dst}`,
  );
}

/**
 * Removes run-specific text (lab dir, FRR pathspace, netns name, ports) from an observation so
 * that a reliability record is the same on every run.
 */
export function scrub(text: string, lab: Lab, extra: Record<string, string> = {}): string {
  for (const [from, to] of Object.entries(extra)) text = text.replaceAll(from, to);
  return text
    .replaceAll(lab.state, "<state-file>")
    .replaceAll(lab.dir, "<lab>")
    .replaceAll(lab.frr.name, "<frr>")
    .replaceAll(lab.ns, "<netns>")
    .replace(/\/tmp\/vpnv4-agent-frr-[^\s.]+\.conf/g, "<batch>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
    .replace(/retry in \d+ s/g, "retry in <n> s")
    .replace(/\.state\.json\.\d+\.[0-9a-f]+\.tmp/g, ".state.json.<pid>.<random>.tmp")
    .replace(/\s+/g, " ")
    .trim();
}
