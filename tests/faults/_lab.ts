/**
 * Shared scaffolding of the host-side fault tests: a real `vpnv4-agent run` process managing a
 * fresh netns (`kernel.vrf_mode: table`, this kernel has no VRF) and a real FRR pathspace, plus
 * the probes the tests assert on (/readyz, /metrics, logs, routes, FRR running-config) and the
 * operator configuration that must survive every fault. The process, HTTP, log and route helpers
 * are tests/support/agent_proc.ts's (re-exported here).
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { ip } from "../support/netns.ts";
import type { FrrInstance } from "../support/frr.ts";
import type { OvnDbInstance } from "../support/ovn_nb.ts";
import { waitFor } from "../support/proc.ts";
import {
  type AgentLab,
  type AgentProc,
  agentRoutes,
  makeAgentLab,
  reap,
  spawnAgent,
  stateTables,
  stopAgent,
  type Tenants,
} from "../support/agent_proc.ts";

export {
  type AgentProc,
  agentRoutes,
  atomicWrite,
  findLog,
  type LogRecord,
  logRecords,
  metric,
  readyz,
  reap,
  stateTables,
  status,
  stopAgent,
  type Tenants,
  tenantsYaml,
  waitLog,
  waitNotReady,
  waitReady,
} from "../support/agent_proc.ts";

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

/** One lab: temp dir, config, tenants and state files, HTTP URL, the netns and FRR it drives. */
export interface Lab extends AgentLab {
  readonly ns: string;
  readonly frr: FrrInstance;
  readonly env: Record<string, string>;
}

/**
 * Writes the agent configuration (and tenants file) into a fresh temp dir: backoff capped at
 * 2 s, the periodic full reconcile an hour away.
 */
export async function makeLab(options: LabOptions): Promise<Lab> {
  const sections: Record<string, Record<string, unknown>> = {
    frr: { ...options.frrSection },
    reconcile: { max_backoff_s: 2, interval_s: 3600, ...options.reconcile },
  };
  if (options.importNb !== undefined) {
    sections.import = {
      enabled: true,
      connection: options.importNb,
      router: "lr0",
      nexthop_v4: "100.64.0.1",
    };
  }
  const lab = await makeAgentLab("vpnv4-fault-", {
    pathspace: options.frr.name,
    tenants: options.tenants,
    sources: options.ovn === undefined
      ? []
      : [{ type: "ovn", connection: options.ovn, prefix_mode: "host", debounce_ms: 50 }],
    stateDir: options.stateDir,
    sections,
  });
  return { ...lab, ns: options.ns, frr: options.frr, env: options.env ?? {} };
}

/** Starts `vpnv4-agent run --config … --netns …` (all permissions, the lab's extra env). */
export function startAgent(lab: Lab, ...extra: string[]): AgentProc {
  return spawnAgent(["run", "--config", lab.config, "--netns", lab.ns, ...extra], {
    env: lab.env,
  });
}

/**
 * Makes a lab, starts the agent on it and runs `fn`; then the agent must stop cleanly on SIGTERM
 * (exit 0). Whatever happens, the agent is killed and the lab dir removed afterwards.
 */
export async function withLabAgent(
  options: LabOptions,
  fn: (lab: Lab, agent: AgentProc) => Promise<void>,
): Promise<void> {
  const lab = await makeLab(options);
  try {
    const agent = startAgent(lab);
    try {
      await fn(lab, agent);
      const stopped = await stopAgent(agent);
      assertEquals(stopped.code, 0, stopped.stderr.slice(-2000));
    } finally {
      await reap(agent);
    }
  } finally {
    await Deno.remove(lab.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Waits until the kernel (routes) and FRR (VRF instances) hold exactly `tenants` (either one
 * alone with `kernel: false` or `frr: false`); returns the routes seen.
 */
export async function waitApplied(
  lab: Lab,
  tenants: Tenants,
  options: { why: string; kernel?: boolean; frr?: boolean },
): Promise<string[]> {
  const kernel = options.kernel ?? true;
  const frr = options.frr ?? true;
  const wantVrfs = Object.keys(tenants).sort();
  let have: string[] = [];
  let want: string[] = [];
  let vrfs: string[] = [];
  await waitFor(async () => {
    if (kernel) {
      try {
        want = await expectedRoutes(lab, tenants);
      } catch {
        return false; // not allocated yet
      }
      have = await agentRoutes(lab.ns);
    }
    if (frr) vrfs = await frrTenantVrfs(lab.frr);
    return (!kernel || JSON.stringify(have) === JSON.stringify(want)) &&
      (!frr || JSON.stringify(vrfs) === JSON.stringify(wantVrfs));
  }, {
    timeoutMs: 30_000,
    describe: () =>
      `${options.why}:` +
      (kernel ? ` kernel ${JSON.stringify(have)} (want ${JSON.stringify(want)})` : "") +
      (frr ? ` FRR VRFs ${JSON.stringify(vrfs)} (want ${JSON.stringify(wantVrfs)})` : ""),
  });
  return have;
}

/** The return path's (owned) NB static routes: `prefix nexthop[ tenant]` per row, sorted. */
async function ownedNbRoutes(
  nb: OvnDbInstance,
  options: { tenant?: boolean } = {},
): Promise<string[]> {
  const out = await nb.nbctl([
    "--format=csv",
    "--no-headings",
    "--data=bare",
    "--columns=ip_prefix,nexthop,external_ids",
    "find",
    "Logical_Router_Static_Route",
  ]);
  return out.split("\n").filter((l) => l.includes("vpnv4-agent:owner")).map((l) => {
    const [prefix, nexthop, ids] = l.split(",");
    return options.tenant
      ? `${prefix} ${nexthop} ${/vpnv4-agent:tenant=(\S+)/.exec(ids)?.[1]}`
      : `${prefix} ${nexthop}`;
  }).sort();
}

/** Waits (30 s) until the owned NB static routes are exactly `want` (as {@link ownedNbRoutes}). */
export async function waitOwnedNbRoutes(
  nb: OvnDbInstance,
  agent: AgentProc,
  options: { want: string[]; tenant?: boolean; why: string },
): Promise<void> {
  let have: string[] = [];
  await waitFor(
    async () => (have = await ownedNbRoutes(nb, options)).join() === options.want.join(),
    {
      timeoutMs: 30_000,
      describe: () => `${options.why}: NB ${JSON.stringify(have)}\n${agent.log().slice(-2000)}`,
    },
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
  assertStringIncludes(
    running,
    "route-map OPERATOR-RM permit 10\n match ip address prefix-list OPERATOR",
  );
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
