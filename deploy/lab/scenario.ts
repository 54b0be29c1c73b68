/**
 * The lab scenario (needs a kernel with VRF; `deploy/lab/lab.ts` runs it in the QEMU guest
 * otherwise): an OVN NB database with two tenants, the node namespace running FRR and
 * vpnv4-agent, and the fortigate namespace running GoBGP (VPNv4/VPNv6 only), joined by a veth.
 * Brings everything up, prints the evidence, checks the key assertions and always tears down.
 *
 * Both directions are checked: the tenants' pod prefixes reach GoBGP as VPN routes (export),
 * and the WAN prefix GoBGP originates with tenant demo's RT comes back into VRF demo's kernel
 * table and, through the agent's return path, into OVN NB as a `Logical_Router_Static_Route`
 * (import). FRR 8.4 needs a labeled route to the peer for the import (see
 * {@link LAB.transportLabel}); the lab builds one.
 * @module
 */
import { type FrrInstance, startFrr } from "../../tests/support/frr.ts";
import { type GobgpInstance, startGobgp } from "../../tests/support/gobgp.ts";
import { type OvnDbInstance, startOvnDb } from "../../tests/support/ovn_nb.ts";
import { Daemon, run, runOk, waitFor } from "../../tests/support/proc.ts";
import { Reporter, StepError, type Writer } from "./report.ts";
import { readReturnPath, returnPathProblems, type ReturnPathState } from "./return_path.ts";
import { type GobgpRib, prefixesOf, routeTable, type VpnRoute, vpnRoutes } from "./routes.ts";

/** The repository root (where main.ts lives). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Names and addresses of the lab. */
export const LAB = {
  nodeNetns: "lab-node",
  fortigateNetns: "lab-fortigate",
  nodeIf: "veth-node",
  fortigateIf: "veth-fgt",
  nodeAddress: "172.30.0.1",
  fortigateAddress: "172.30.0.2",
  linkPrefixLength: 30,
  /** IPv6 on the link too, so that FRR's VPNv6 nexthop is a global address, not fe80::. */
  nodeAddress6: "fd00:172:30::1",
  fortigateAddress6: "fd00:172:30::2",
  linkPrefixLength6: 64,
  nodeAsn: 65000,
  fortigateAsn: 65001,
  frrPathspace: "vpnv4lab",
  httpListen: "127.0.0.1:9183",
  wanPrefix: "203.0.113.0/24",
  /** RD and VPN label with which GoBGP originates {@link LAB.wanPrefix} (RT: demo's). */
  wanRd: "65001:1",
  wanLabel: 100,
  /** The tenant whose VRF imports {@link LAB.wanPrefix}. */
  wanTenant: "demo",
  router: "ovn_cluster_router",
  /** `import.nexthop_v4` of the agent: the nexthop of the NB rows of the return path. */
  importNexthop: "100.64.0.1",
  /**
   * Transport label of the node's route to the FortiGate. FRR 8.4 validates a VPN route
   * imported into a VRF only when its nexthop resolves over a *labeled* route
   * (`BGP_NEXTHOP_LABELED_VALID`, as an LDP/labeled-unicast LSP would give); a connected route
   * is not enough (FRR 9 added `mpls bgp forwarding` for that). The lab therefore gives the
   * node a static LSP to the FortiGate: `172.30.0.2/32 encap mpls 16`, popped by the FortiGate
   * namespace (`ip -f mpls route add 16 dev lo`).
   */
  transportLabel: 16,
  /**
   * eBGP multihop TTL of the agent's peer. An eBGP single-hop peer makes FRR track its nexthop
   * as "connected only", which resolves over the /30 and never over the labeled /32 above.
   */
  ebgpMultihop: 2,
  /** `allocation.rt_base` written by the RT-change step (RTs become `65100:<table>`). */
  changedRtBase: 65100,
} as const;

/**
 * The node's own (operator) FRR configuration, before the agent adds its part. FRR's defaults
 * are kept (`bgp route-map delay-timer 0` is not needed: a pod's route changes no FRR
 * configuration, see src/frr/render.ts).
 */
export const LAB_FRR_CONFIG = `frr defaults traditional
hostname lab-node
!
`;

/** A pod of the scenario: logical switch port name, MAC and addresses. */
interface Pod {
  port: string;
  mac: string;
  ips: string[];
}

/** BGP nexthops that name the node: its IPv4, IPv4-mapped IPv6 and IPv6 link addresses. */
export const NODE_NEXTHOPS: readonly string[] = [
  LAB.nodeAddress,
  `::ffff:${LAB.nodeAddress}`,
  LAB.nodeAddress6,
];

/** The tenants (namespaces) the scenario puts into OVN NB. */
export const TENANTS: Record<string, { subnet: string; pods: Pod[] }> = {
  "demo": {
    subnet: "10.244.0.0/24",
    pods: [
      { port: "demo_web-0", mac: "0a:58:0a:f4:00:05", ips: ["10.244.0.5", "fd00:10:244::5"] },
      { port: "demo_web-1", mac: "0a:58:0a:f4:00:06", ips: ["10.244.0.6"] },
    ],
  },
  "demo-b": {
    subnet: "10.245.0.0/24",
    pods: [
      { port: "demo-b_api-0", mac: "0a:58:0a:f5:00:05", ips: ["10.245.0.5"] },
      { port: "demo-b_api-1", mac: "0a:58:0a:f5:00:06", ips: ["10.245.0.6"] },
    ],
  },
};

/** The pod the withdraw phase deletes (its /32 must be withdrawn, its neighbour kept). */
export const DELETED_POD = { tenant: "demo", port: "demo_web-1", prefix: "10.244.0.6/32" };
/** The tenant the withdraw phase deletes. */
export const DELETED_TENANT = "demo-b";

/** One tenant's allocation as printed by `validate --json`. */
export interface Allocation {
  tenant: string;
  vrf: string;
  table: number;
  rd: string;
  rt: string;
  prefixes: string[];
}

/** A snapshot of what GoBGP (the FortiGate) holds. */
export interface GobgpSnapshot {
  vpnv4: GobgpRib;
  vpnv6: GobgpRib;
  /** VRF name → `{ ipv4, ipv6 }` RIBs. */
  vrfs: Record<string, { ipv4: GobgpRib; ipv6: GobgpRib }>;
}

/** What the scenario observed; printed as one `LAB_RESULT {json}` line. */
export interface LabResult {
  ok: boolean;
  failedStep?: string;
  error?: string;
  failures: string[];
  allocations: Allocation[];
  /** GoBGP after the export converged. */
  exported?: GobgpSnapshot;
  /** GoBGP after {@link DELETED_POD} was deleted from NB (withdraw phase). */
  afterPodDelete?: GobgpSnapshot;
  /** GoBGP after {@link DELETED_TENANT} was deleted from NB (withdraw phase). */
  afterTenantDelete?: GobgpSnapshot;
  /** {@link LAB.wanPrefix} in VRF demo's kernel table and in OVN NB (return path). */
  returnPath?: ReturnPathState;
  /** The same after GoBGP withdrew {@link LAB.wanPrefix} (withdraw phase). */
  afterWanWithdraw?: ReturnPathState;
  /** The RT-change step ({@link LabOptions.rtChange}). */
  rtChange?: RtChangeResult;
  timingsMs: Record<string, number>;
}

/** What the RT-change step observed. */
export interface RtChangeResult {
  tenant: string;
  oldRt: string;
  newRt: string;
  /** Allocations printed by `validate --json` for the rewritten configuration. */
  allocations: Allocation[];
  /** GoBGP once the tenant's routes carried the new RT. */
  after: GobgpSnapshot;
}

/** Options of {@link runLabScenario}. */
export interface LabOptions {
  /** Also delete a pod and a tenant in NB and check the withdrawals at GoBGP. */
  withdraw?: boolean;
  /**
   * Also rewrite the agent's configuration with `allocation.rt_base: 65100`, SIGHUP it and
   * wait until GoBGP holds the tenants' routes with the new RT and none with the old one.
   */
  rtChange?: boolean;
  /** Output lines (default: console.log). */
  write?: Writer;
  /** How long to wait for the export to converge (default 120000 ms). */
  convergeTimeoutMs?: number;
  /** `reconcile.frr_check_s` of the agent (default: the agent's default). */
  frrCheckS?: number;
  /** GoBGP neighbor timers (`connect-retry`, `idle-hold-time-after-reset`), in seconds. */
  gobgpTimers?: { connectRetryS?: number; idleHoldAfterResetS?: number };
  /**
   * Runs against the live lab after the assertions (and the withdraw phase), before teardown
   * (e.g. the resilience cases of tests/e2e/resilience_test.ts). A throw fails the lab.
   */
  whileUp?: (lab: LiveLab) => Promise<void>;
}

/** The running lab handed to {@link LabOptions.whileUp}. */
export interface LiveLab {
  nb: OvnDbInstance;
  frr: FrrInstance;
  bgp: GobgpInstance;
  /** The agent as the lab started it. */
  agent: Daemon;
  /** `ip` arguments that start the agent the same way (`ip netns exec … deno run … run`). */
  agentArgs: string[];
  configPath: string;
  workDir: string;
  allocations: Allocation[];
  /** Tenant (and GoBGP VRF) names. */
  vrfs: string[];
  /** The lab's output lines. */
  write: Writer;
}

function hostPrefix(ip: string): string {
  return ip.includes(":") ? `${ip}/128` : `${ip}/32`;
}

/** Every host prefix of a tenant (prefix_mode: host). */
export function tenantPrefixes(tenant: string): string[] {
  return TENANTS[tenant].pods.flatMap((p) => p.ips.map(hostPrefix));
}

/** Options of {@link labAgentConfig}. */
export interface LabAgentConfigOptions {
  /** `reconcile.frr_check_s` (default: the agent's default). */
  frrCheckS?: number;
  /** `allocation.rt_base` (default: none, RTs use the ASN). */
  rtBase?: number;
}

/** The agent configuration of the lab (also used by bench/convergence.ts). */
export function labAgentConfig(
  dir: string,
  nbRemote: string,
  options: LabAgentConfigOptions = {},
): string {
  const { frrCheckS, rtBase } = options;
  return `# vpnv4-agent lab configuration (written by deploy/lab/scenario.ts)
bgp:
  asn: ${LAB.nodeAsn}
  router_id: ${LAB.nodeAddress}
  peers:
    - address: ${LAB.fortigateAddress}
      remote_asn: ${LAB.fortigateAsn}
      description: fortigate-lab
      families: [vpnv4, vpnv6]
      timers: { keepalive: 3, hold: 9 }
      # FRR 8.4 tracks a single-hop eBGP peer's nexthop as connected-only, which never
      # resolves over the labeled route to the FortiGate that VPN imports need (return path).
      ebgp_multihop: ${LAB.ebgpMultihop}
allocation:
  state_file: ${dir}/state.json${rtBase !== undefined ? `\n  rt_base: ${rtBase}` : ""}
tenants:
  sources:
    - type: ovn
      connection: ${nbRemote}
      prefix_mode: host
      debounce_ms: 100
frr:
  pathspace: ${LAB.frrPathspace}
kernel:
  vrf_mode: device
  mpls: auto
import:
  enabled: true
  router: ${LAB.router}
  nexthop_v4: ${LAB.importNexthop}
reconcile:
  debounce_ms: 100${frrCheckS ? `\n  frr_check_s: ${frrCheckS}` : ""}
http:
  listen: ${LAB.httpListen}
log:
  level: info
`;
}

async function ip(args: string[]): Promise<string> {
  return await runOk("ip", args);
}

/** Cleanup actions of a lab, run in reverse order by the caller. */
export type LabCleanups = Array<[string, () => Promise<unknown>]>;

/**
 * Creates the lab network: namespaces {@link LAB.nodeNetns} and {@link LAB.fortigateNetns}
 * (stale ones from an earlier lab are deleted), the veth with IPv4/IPv6 addresses, the node's
 * MPLS data plane and the labeled route to the FortiGate ({@link LAB.transportLabel}). Pushes
 * the cleanups onto `cleanups`. Returns false when this kernel has no MPLS (control plane only;
 * the return path then cannot work with FRR 8.4).
 */
export async function createLabNetwork(
  cleanups: LabCleanups,
  info: (line: string) => void = () => {},
): Promise<boolean> {
  for (const ns of [LAB.nodeNetns, LAB.fortigateNetns]) {
    if (await netnsExists(ns)) {
      info(`   stale namespace ${ns} from an earlier lab: deleting it`);
      await ip(["netns", "del", ns]);
    }
    await ip(["netns", "add", ns]);
    cleanups.push([`netns ${ns}`, () => ip(["netns", "del", ns])]);
    await ip(["-n", ns, "link", "set", "lo", "up"]);
  }
  await ip([
    ...["-n", LAB.nodeNetns, "link", "add", LAB.nodeIf, "type", "veth"],
    ...["peer", "name", LAB.fortigateIf, "netns", LAB.fortigateNetns],
  ]);
  for (
    const [ns, dev, addr] of [
      [LAB.nodeNetns, LAB.nodeIf, LAB.nodeAddress],
      [LAB.fortigateNetns, LAB.fortigateIf, LAB.fortigateAddress],
    ]
  ) {
    await ip(["-n", ns, "addr", "add", `${addr}/${LAB.linkPrefixLength}`, "dev", dev]);
    const addr6 = ns === LAB.nodeNetns ? LAB.nodeAddress6 : LAB.fortigateAddress6;
    await ip([
      ...["-n", ns, "-6", "addr", "add", `${addr6}/${LAB.linkPrefixLength6}`],
      ...["dev", dev, "nodad"],
    ]);
    await ip(["-n", ns, "link", "set", dev, "up"]);
  }
  // MPLS data plane of the node (as on a real node): label space and MPLS input on the
  // uplink; the MPLS TTL does not copy the IP TTL (the BGP session's packets ride the LSP
  // below with TTL 2 and must survive the FortiGate's label pop).
  const mpls = [
    "net.mpls.platform_labels=1048575",
    `net.mpls.conf.${LAB.nodeIf}.input=1`,
    "net.mpls.ip_ttl_propagate=0",
  ];
  const r = await run("ip", ["netns", "exec", LAB.nodeNetns, "sysctl", "-w", ...mpls]);
  if (r.code !== 0) {
    info(`   MPLS sysctls not available (${r.stderr.trim()}): control plane only`);
    return false;
  }
  info(`   MPLS on in ${LAB.nodeNetns}: ${mpls.join(", ")}`);
  // The labeled transport to the FortiGate (see LAB.transportLabel): the FortiGate namespace
  // pops the label and delivers locally, the node pushes it on everything to the FortiGate.
  const label = String(LAB.transportLabel);
  await runOk("ip", [
    ...["netns", "exec", LAB.fortigateNetns, "sysctl", "-w"],
    "net.mpls.platform_labels=1048575",
    `net.mpls.conf.${LAB.fortigateIf}.input=1`,
  ]);
  await ip(["-n", LAB.fortigateNetns, "-f", "mpls", "route", "add", label, "dev", "lo"]);
  await ip([
    ...["-n", LAB.nodeNetns, "route", "add", `${LAB.fortigateAddress}/32`],
    ...["encap", "mpls", label, "via", LAB.fortigateAddress, "dev", LAB.nodeIf],
  ]);
  info(
    `   labeled route to the FortiGate: ${LAB.fortigateAddress}/32 encap mpls ${label} ` +
      `(popped in ${LAB.fortigateNetns})`,
  );
  return true;
}

async function netnsExists(name: string): Promise<boolean> {
  const out = await run("ip", ["netns", "list"]);
  return out.stdout.split("\n").some((l) => l.split(" ")[0] === name);
}

/** GoBGP's VPNv4/VPNv6 RIBs and the IPv4/IPv6 RIBs of `vrfs`. */
export async function snapshot(bgp: GobgpInstance, vrfs: string[]): Promise<GobgpSnapshot> {
  // Each read is retried a few times: under heavy emulation load the CLI's gRPC call can
  // fail with "context deadline exceeded".
  const rib = async (family: string, vrf?: string): Promise<GobgpRib> => {
    for (let attempt = 1;; attempt++) {
      try {
        return await bgp.rib(family, vrf);
      } catch (e) {
        if (attempt >= 4 || !/deadline exceeded/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const snap: GobgpSnapshot = { vpnv4: await rib("vpnv4"), vpnv6: await rib("vpnv6"), vrfs: {} };
  for (const v of vrfs) snap.vrfs[v] = { ipv4: await rib("ipv4", v), ipv6: await rib("ipv6", v) };
  return snap;
}

/** All VPN routes of a snapshot (v4 then v6). */
export function snapshotRoutes(snap: GobgpSnapshot): VpnRoute[] {
  return [...vpnRoutes(snap.vpnv4), ...vpnRoutes(snap.vpnv6)];
}

/** VRFs of the snapshot whose RIB holds `prefix`. */
export function vrfsHolding(snap: GobgpSnapshot, prefix: string): string[] {
  return Object.entries(snap.vrfs)
    .filter(([, r]) => [...prefixesOf(r.ipv4), ...prefixesOf(r.ipv6)].includes(prefix))
    .map(([name]) => name);
}

/**
 * The key assertions: every prefix of every tenant is at GoBGP as a VPN route with the
 * tenant's RD and RT, a label and the node's nexthop, imported into the tenant's GoBGP VRF and
 * into no other. Returns the failures (empty when all hold).
 */
export function checkExport(
  snap: GobgpSnapshot,
  allocations: Allocation[],
  tenants: string[],
): string[] {
  const failures: string[] = [];
  const routes = snapshotRoutes(snap);
  for (const name of tenants) {
    const a = allocations.find((x) => x.tenant === name);
    if (!a) {
      failures.push(`${name}: no allocation from validate`);
      continue;
    }
    for (const prefix of a.prefixes) {
      const r = routes.find((x) => x.prefix === prefix && x.rd === a.rd);
      if (!r) {
        failures.push(`${name}: ${a.rd}:${prefix} is not at GoBGP`);
        continue;
      }
      if (!r.rts.includes(a.rt)) failures.push(`${r.key}: RT ${r.rts} lacks ${a.rt}`);
      if (r.labels.length !== 1 || r.labels[0] < 16) {
        failures.push(`${r.key}: label ${r.labels} is not one real MPLS label`);
      }
      const nh = r.nexthop ?? "";
      if (!NODE_NEXTHOPS.includes(nh)) {
        failures.push(`${r.key}: nexthop ${nh || "(none)"} is not one of ${NODE_NEXTHOPS}`);
      }
      const held = vrfsHolding(snap, prefix);
      if (!held.includes(a.vrf)) failures.push(`${r.key}: not imported into GoBGP VRF ${a.vrf}`);
      const leaked = held.filter((v) => v !== a.vrf);
      if (leaked.length) failures.push(`${r.key}: leaked into GoBGP VRF(s) ${leaked.join(",")}`);
    }
  }
  return failures;
}

/**
 * Problems with an RT change: every prefix of every tenant of `after` must be at GoBGP under
 * its RD with the new RT and without the old one (from `before`). Empty when all hold.
 */
export function rtChangeProblems(
  snap: GobgpSnapshot,
  change: { before: Allocation[]; after: Allocation[] },
): string[] {
  const problems: string[] = [];
  const routes = snapshotRoutes(snap);
  for (const a of change.after) {
    const old = change.before.find((b) => b.tenant === a.tenant);
    for (const prefix of a.prefixes) {
      const r = routes.find((x) => x.prefix === prefix && x.rd === a.rd);
      if (!r) {
        problems.push(`${a.tenant}: ${a.rd}:${prefix} is not at GoBGP`);
        continue;
      }
      if (!r.rts.includes(a.rt)) problems.push(`${r.key}: RT ${r.rts} lacks the new ${a.rt}`);
      if (old && old.rt !== a.rt && r.rts.includes(old.rt)) {
        problems.push(`${r.key}: still carries the old RT ${old.rt}`);
      }
    }
  }
  return problems;
}

/** True when GoBGP holds no VPN route for `prefix` with `rd`, nor the prefix in VRF `vrf`. */
export function withdrawn(snap: GobgpSnapshot, rd: string, prefix: string, vrf: string): boolean {
  const atVpn = snapshotRoutes(snap).some((r) => r.prefix === prefix && r.rd === rd);
  return !atVpn && !vrfsHolding(snap, prefix).includes(vrf);
}

function allocationTable(rows: Allocation[]): string {
  const header = ["TENANT", "VRF", "TABLE", "RD", "RT", "PREFIXES"];
  const cells = rows.map((
    r,
  ) => [r.tenant, r.vrf, String(r.table), r.rd, r.rt, r.prefixes.join(" ")]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [header, ...cells].map((c) => c.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}

/** The arguments of `gobgp global rib add|del` for the WAN route with route target `rt`. */
export function wanRouteArgs(op: "add" | "del", rt: string): string[] {
  return [
    ...["global", "rib", op, "-a", "vpnv4", LAB.wanPrefix],
    ...["label", String(LAB.wanLabel), "rd", LAB.wanRd, "rt", rt],
  ];
}

/**
 * Runs a `gobgp` command that changes GoBGP's RIB, retrying for up to a minute: under heavy
 * emulation load the CLI's gRPC call can fail with "context deadline exceeded" (the RIB then
 * either has the change or not; add/del of the same path is idempotent).
 */
export async function gobgpChange(bgp: GobgpInstance, args: string[]): Promise<void> {
  let last = "";
  await waitFor(async () => {
    try {
      await bgp.cli(args);
      return true;
    } catch (e) {
      last = (e as Error).message;
      return false;
    }
  }, { timeoutMs: 60_000, intervalMs: 1000, describe: () => last });
}

/** Where {@link readReturnPath} looks for the WAN prefix of VRF `vrf`. */
export function returnPathTarget(
  vrf: string,
): { netns: string; vrf: string; prefix: string; router: string } {
  return { netns: LAB.nodeNetns, vrf, prefix: LAB.wanPrefix, router: LAB.router };
}

/**
 * Runs the whole scenario and returns what it observed. Never throws: failures end up in
 * `result.ok`/`failedStep`/`error`; teardown always runs.
 */
export async function runLabScenario(options: LabOptions = {}): Promise<LabResult> {
  const write = options.write ?? ((l: string) => console.log(l));
  const rep = new Reporter(
    write,
    10 + (options.withdraw ? 3 : 0) + (options.rtChange ? 1 : 0) + (options.whileUp ? 1 : 0),
  );
  const result: LabResult = { ok: false, failures: [], allocations: [], timingsMs: {} };
  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  const t0 = performance.now();
  let nb: OvnDbInstance | undefined;
  let frr: FrrInstance | undefined;
  let bgp: GobgpInstance | undefined;
  let agent: Daemon | undefined;
  let agentArgs: string[] = [];
  let workDir = "";
  const vrfNames = Object.keys(TENANTS);
  const deno = Deno.execPath();
  const nodeExec = (cmd: string[]) => ["netns", "exec", LAB.nodeNetns, ...cmd];

  const interrupt = () => {
    rep.info(`interrupted during "${rep.current}": tearing down`);
    void teardown().then(() => Deno.exit(130));
  };
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    rep.info("── teardown");
    for (const [what, fn] of cleanups.reverse()) {
      try {
        await fn();
        rep.info(`   removed ${what}`);
      } catch (e) {
        rep.info(`   could not remove ${what}: ${(e as Error).message}`);
      }
    }
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, interrupt);

  try {
    // 1. namespaces and veth
    await rep.step(
      `network namespaces ${LAB.nodeNetns} ⇄ ${LAB.fortigateNetns} ` +
        `(veth ${LAB.nodeAddress}/${LAB.linkPrefixLength} ⇄ ${LAB.fortigateAddress})`,
      async () => {
        await createLabNetwork(cleanups, (l) => rep.info(l));
        workDir = await Deno.makeTempDir({ prefix: "vpnv4-lab-" });
        cleanups.push([`work dir ${workDir}`, () => Deno.remove(workDir, { recursive: true })]);
      },
    );

    // 2. OVN NB
    await rep.step(
      "OVN Northbound ovsdb-server, filled with ovn-nbctl (demo, demo-b)",
      async () => {
        nb = await startOvnDb();
        const db = nb;
        cleanups.push(["ovsdb-server (OVN NB)", () => db.stop()]);
        await db.nbctl(["lr-add", LAB.router]);
        for (const [ns, t] of Object.entries(TENANTS)) {
          await db.nbctl([
            ...["ls-add", ns, "--", "set", "logical_switch", ns],
            `other_config:subnet=${t.subnet}`,
          ]);
          for (const p of t.pods) {
            await db.nbctl([
              ...["lsp-add", ns, p.port, "--", "lsp-set-addresses", p.port],
              [p.mac, ...p.ips].join(" "),
              ...["--", "set", "logical_switch_port", p.port],
              `external_ids:"k8s.ovn.org/namespace"=${ns}`,
            ]);
          }
        }
        rep.evidence(`ovn-nbctl show (${db.unixRemote})`, await db.nbctl(["show"]));
      },
    );

    // 3. config + validate
    const configPath = await rep.step(
      "agent config (ovn source, prefix_mode host, vrf_mode device, mpls auto) + validate",
      async () => {
        const path = `${workDir}/vpnv4-agent.yaml`;
        await Deno.writeTextFile(
          path,
          labAgentConfig(workDir, nb!.unixRemote, { frrCheckS: options.frrCheckS }),
        );
        rep.evidence(path, await Deno.readTextFile(path));
        const main = `${REPO_ROOT}/main.ts`;
        const json = await runOk(deno, ["run", "-A", main, "validate", "--config", path, "--json"]);
        const parsed = JSON.parse(json) as { tenants: Allocation[] };
        result.allocations = parsed.tenants;
        rep.evidence(
          "vpnv4-agent validate --json (what the agent will allocate)",
          allocationTable(result.allocations),
        );
        for (const name of vrfNames) {
          if (!result.allocations.some((a) => a.tenant === name)) {
            throw new Error(`validate did not list tenant ${name}:\n${json}`);
          }
        }
        return path;
      },
    );
    const alloc = (name: string) => result.allocations.find((a) => a.tenant === name)!;

    // 4. GoBGP
    await rep.step(
      `GoBGP "FortiGate" in ${LAB.fortigateNetns}: l3vpn-ipv4/ipv6-unicast only, VRFs ` +
        vrfNames.join(", "),
      async () => {
        bgp = await startGobgp({
          netns: LAB.fortigateNetns,
          config: {
            global: {
              config: { as: LAB.fortigateAsn, "router-id": LAB.fortigateAddress, port: 179 },
            },
            neighbors: [{
              config: { "neighbor-address": LAB.nodeAddress, "peer-as": LAB.nodeAsn },
              timers: {
                config: {
                  "hold-time": 9,
                  "keepalive-interval": 3,
                  ...(options.gobgpTimers?.connectRetryS !== undefined
                    ? { "connect-retry": options.gobgpTimers.connectRetryS }
                    : {}),
                  ...(options.gobgpTimers?.idleHoldAfterResetS !== undefined
                    ? { "idle-hold-time-after-reset": options.gobgpTimers.idleHoldAfterResetS }
                    : {}),
                },
              },
              "afi-safis": [
                { config: { "afi-safi-name": "l3vpn-ipv4-unicast" } },
                { config: { "afi-safi-name": "l3vpn-ipv6-unicast" } },
              ],
            }],
            vrfs: vrfNames.map((name, i) => ({
              config: {
                name,
                id: i + 1,
                rd: `${LAB.fortigateAsn}:${i + 1}`,
                "import-rt-list": [alloc(name).rt],
                "export-rt-list": [alloc(name).rt],
              },
            })),
          },
        });
        const g = bgp;
        cleanups.push(["gobgpd", () => g.stop()]);
        await gobgpChange(g, wanRouteArgs("add", alloc(LAB.wanTenant).rt));
        rep.evidence(`gobgpd.toml (${g.configPath})`, await Deno.readTextFile(g.configPath));
        rep.evidence(
          `WAN prefix originated by GoBGP (RD ${LAB.wanRd}, label ${LAB.wanLabel}, RT ` +
            `${alloc(LAB.wanTenant).rt}): gobgp global rib -a vpnv4`,
          await g.cli(["global", "rib", "-a", "vpnv4"]),
        );
      },
    );

    // 5. FRR
    await rep.step(
      `FRR (zebra, bgpd, staticd; pathspace ${LAB.frrPathspace}) in ${LAB.nodeNetns}`,
      async () => {
        frr = await startFrr({
          name: LAB.frrPathspace,
          netns: LAB.nodeNetns,
          config: LAB_FRR_CONFIG,
        });
        const f = frr;
        cleanups.push([`FRR ${LAB.frrPathspace}`, () => f.stop()]);
      },
    );

    // 6. agent
    await rep.step(`vpnv4-agent run (ip netns exec ${LAB.nodeNetns})`, async () => {
      const args = ["run", "-A", `${REPO_ROOT}/main.ts`, "run", "--config", configPath];
      rep.info(`   ip netns exec ${LAB.nodeNetns} deno ${args.join(" ")}`);
      agentArgs = nodeExec([deno, ...args]);
      const d = new Daemon("vpnv4-agent", "ip", agentArgs);
      agent = d;
      cleanups.push(["vpnv4-agent", () => d.stop(10_000)]);
      await waitFor(async () => {
        if (d.exited) throw new Error(`vpnv4-agent exited:\n${d.output}`);
        const out = await run("ip", ["-n", LAB.nodeNetns, "-j", "link", "show", "type", "vrf"]);
        const names = (JSON.parse(out.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname);
        return vrfNames.every((v) => names.includes(v));
      }, {
        timeoutMs: 60_000,
        intervalMs: 300,
        describe: () => `the agent did not create VRFs ${vrfNames.join(", ")}:\n${d.output}`,
      });
      rep.info(`   VRF devices ${vrfNames.join(", ")} exist in ${LAB.nodeNetns}`);
    });

    // 7. convergence
    await rep.step("BGP session up and every pod prefix at GoBGP (VPNv4 + VPNv6)", async () => {
      const g = bgp!;
      const want = vrfNames.flatMap((n) => alloc(n).prefixes.map((p) => `${alloc(n).rd}:${p}`));
      const t = performance.now();
      let snap: GobgpSnapshot | undefined;
      await waitFor(async () => {
        if (agent?.exited) throw new Error(`vpnv4-agent exited:\n${agent.output}`);
        snap = await snapshot(g, vrfNames);
        const keys = snapshotRoutes(snap).map((r) => `${r.rd}:${r.prefix}`);
        return want.every((k) => keys.includes(k));
      }, {
        timeoutMs: options.convergeTimeoutMs ?? 120_000,
        intervalMs: 500,
        describe: () => {
          const have = snap ? snapshotRoutes(snap).map((r) => r.key).join(" ") : "nothing";
          return `GoBGP did not receive ${want.join(" ")} (has: ${have})\n` +
            `--- agent output tail\n${tail(agent?.output ?? "", 30)}`;
        },
      });
      result.timingsMs.converge = Math.round(performance.now() - t);
      rep.info(`   ${want.length} VPN routes at GoBGP ${result.timingsMs.converge} ms after start`);
      result.exported = snap;
    });

    // 8. return path
    const wanAlloc = alloc(LAB.wanTenant);
    await rep.step(
      `return path: ${LAB.wanPrefix} from GoBGP → VRF ${wanAlloc.vrf} table → OVN static route ` +
        `on ${LAB.router}`,
      async () => {
        const t = performance.now();
        let state: ReturnPathState | undefined;
        let problems: string[] = [];
        try {
          await waitFor(async () => {
            if (agent?.exited) throw new Error(`vpnv4-agent exited:\n${agent.output}`);
            state = await readReturnPath(nb!, returnPathTarget(wanAlloc.vrf));
            problems = returnPathProblems(state, {
              tenant: LAB.wanTenant,
              nexthop: LAB.importNexthop,
            });
            return problems.length === 0;
          }, {
            timeoutMs: 60_000,
            intervalMs: 500,
            describe: () => problems.join("\n"),
          });
        } catch (e) {
          const why = `show bgp vrf ${wanAlloc.vrf} ipv4 unicast ${LAB.wanPrefix}`;
          const frrSays = await frr!.vtysh(why).catch((x) => String(x));
          throw new Error(
            `${(e as Error).message}\n--- FRR: ${why}\n${frrSays}\n` +
              `--- agent output tail\n${tail(agent?.output ?? "", 20)}`,
          );
        }
        state!.ms = Math.round(performance.now() - t);
        result.returnPath = state;
        const k = state!.kernel!;
        rep.info(
          `   kernel: ${k.dst} proto ${k.protocol} via ${k.gateway} labels ${k.labels ?? "-"}` +
            ` (VRF ${wanAlloc.vrf})`,
        );
        const row = state!.rows[0];
        rep.info(
          `   OVN NB: ${row.ipPrefix} → ${row.nexthop} on ${LAB.router}, external_ids ` +
            Object.entries(row.externalIds).map(([a, b]) => `${a}=${b}`).join(" "),
        );
      },
    );

    // 8. evidence
    await rep.step("evidence: agent, FRR, GoBGP, kernel, OVN", async () => {
      const st = await run(
        "ip",
        nodeExec([
          deno,
          "run",
          "-A",
          `${REPO_ROOT}/deploy/lab/http_get.ts`,
          `http://${LAB.httpListen}/status`,
        ]),
      );
      rep.evidence(
        `agent /status (http://${LAB.httpListen}/status inside ${LAB.nodeNetns})`,
        st.code === 0
          ? st.stdout
          : `not served: ${st.stderr.trim()} (this agent build may not start its HTTP listener)`,
      );
      rep.evidence("agent log (tail)", tail(agent!.output, 15));
      const f = frr!;
      rep.evidence("FRR: show bgp ipv4 vpn summary", await f.vtysh("show bgp ipv4 vpn summary"));
      rep.evidence("FRR: show bgp ipv4 vpn", await f.vtysh("show bgp ipv4 vpn"));
      rep.evidence("FRR: show bgp ipv6 vpn", await f.vtysh("show bgp ipv6 vpn"));
      rep.evidence(
        `FRR: show ip route ${LAB.fortigateAddress}/32 (labeled route to the FortiGate)`,
        await f.vtysh(`show ip route ${LAB.fortigateAddress}/32`),
      );
      rep.evidence(
        `FRR: show bgp vrf demo ipv4 unicast (return path: ${LAB.wanPrefix} imported by RT?)`,
        await f.vtysh("show bgp vrf demo ipv4 unicast"),
      );
      rep.evidence(
        `FRR: show bgp vrf demo ipv4 unicast ${LAB.wanPrefix} (why it is or is not valid)`,
        await f.vtysh(`show bgp vrf demo ipv4 unicast ${LAB.wanPrefix}`).catch((e) => String(e)),
      );
      const g = bgp!;
      rep.evidence("GoBGP: neighbor", await g.cli(["neighbor"]));
      rep.evidence("GoBGP: global rib -a vpnv4", await g.cli(["global", "rib", "-a", "vpnv4"]));
      rep.evidence("GoBGP: global rib -a vpnv6", await g.cli(["global", "rib", "-a", "vpnv6"]));
      for (const v of vrfNames) {
        rep.evidence(
          `GoBGP: vrf ${v} rib (ipv4 + ipv6)`,
          (await g.cli(["vrf", v, "rib", "-a", "ipv4"])) +
            (await g.cli(["vrf", v, "rib", "-a", "ipv6"])),
        );
      }
      const snap = await snapshot(g, vrfNames);
      rep.evidence(
        "GoBGP (FortiGate) summary: what it holds from the node",
        routeTable(
          snapshotRoutes(snap).filter((r) => r.nexthop !== "0.0.0.0"),
          (r) => vrfsHolding(snap, r.prefix).join(","),
        ),
      );
      for (const v of vrfNames) {
        rep.evidence(
          `kernel (${LAB.nodeNetns}): ip route show vrf ${v} / ip -6 route show vrf ${v}`,
          (await ip(["-n", LAB.nodeNetns, "route", "show", "vrf", v])) +
            (await ip(["-n", LAB.nodeNetns, "-6", "route", "show", "vrf", v])),
        );
      }
      rep.evidence(
        `kernel (${LAB.nodeNetns}): ip -d link show type vrf`,
        await ip(["-n", LAB.nodeNetns, "-br", "-d", "link", "show", "type", "vrf"]),
      );
      const lr = await run("ovn-nbctl", [`--db=${nb!.unixRemote}`, "lr-route-list", LAB.router]);
      rep.evidence(
        `OVN NB: ovn-nbctl lr-route-list ${LAB.router} (return path of ${LAB.wanPrefix})`,
        lr.code === 0 ? (lr.stdout.trim() || "(no static routes)") : lr.stderr,
      );
    });

    // 9. assertions
    await rep.step(
      "assert: routes of demo and demo-b at GoBGP with their RD/RT/label/nexthop, " +
        "imported into the matching VRF only",
      () => {
        const failures = checkExport(result.exported!, result.allocations, vrfNames);
        result.failures.push(...failures);
        for (const n of vrfNames) {
          const a = alloc(n);
          rep.info(`   ${n}: RD ${a.rd} RT ${a.rt}: ${a.prefixes.join(" ")}`);
        }
        if (failures.length) throw new Error(failures.join("\n"));
        rep.info("   all key assertions hold");
        return Promise.resolve();
      },
    );

    if (options.withdraw) {
      await rep.step(
        `withdraw: delete pod ${DELETED_POD.port} (${DELETED_POD.prefix}) from NB`,
        async () => {
          const a = alloc(DELETED_POD.tenant);
          await nb!.nbctl(["lsp-del", DELETED_POD.port]);
          const t = performance.now();
          let snap: GobgpSnapshot | undefined;
          await waitFor(async () => {
            snap = await snapshot(bgp!, vrfNames);
            return withdrawn(snap, a.rd, DELETED_POD.prefix, a.vrf);
          }, {
            timeoutMs: 60_000,
            intervalMs: 500,
            describe: () =>
              `${a.rd}:${DELETED_POD.prefix} still at GoBGP\n${tail(agent!.output, 20)}`,
          });
          result.timingsMs.podWithdraw = Math.round(performance.now() - t);
          result.afterPodDelete = snap;
          rep.info(`   withdrawn at GoBGP after ${result.timingsMs.podWithdraw} ms`);
          const keep = tenantPrefixes(DELETED_POD.tenant).filter((p) => p !== DELETED_POD.prefix);
          const missing = keep.filter((p) => withdrawn(snap!, a.rd, p, a.vrf));
          if (missing.length) throw new Error(`also withdrawn: ${missing.join(" ")}`);
          rep.evidence(
            "GoBGP: global rib -a vpnv4",
            await bgp!.cli(["global", "rib", "-a", "vpnv4"]),
          );
        },
      );
      await rep.step(
        `withdraw: GoBGP withdraws ${LAB.wanPrefix} → gone from VRF ${wanAlloc.vrf} and OVN NB`,
        async () => {
          await gobgpChange(bgp!, wanRouteArgs("del", wanAlloc.rt));
          const t = performance.now();
          let state: ReturnPathState | undefined;
          await waitFor(async () => {
            state = await readReturnPath(nb!, returnPathTarget(wanAlloc.vrf));
            return !state.kernel && state.rows.length === 0;
          }, {
            timeoutMs: 60_000,
            intervalMs: 500,
            describe: () =>
              `${LAB.wanPrefix} still there: ${JSON.stringify(state)}\n${tail(agent!.output, 20)}`,
          });
          state!.ms = Math.round(performance.now() - t);
          result.timingsMs.wanWithdraw = state!.ms;
          result.afterWanWithdraw = state;
          rep.info(`   gone from the VRF table and OVN NB after ${state!.ms} ms`);
        },
      );
      await rep.step(`withdraw: delete tenant ${DELETED_TENANT} (ls-del) from NB`, async () => {
        const a = alloc(DELETED_TENANT);
        await nb!.nbctl(["ls-del", DELETED_TENANT]);
        const t = performance.now();
        let snap: GobgpSnapshot | undefined;
        await waitFor(async () => {
          snap = await snapshot(bgp!, vrfNames);
          return a.prefixes.every((p) => withdrawn(snap!, a.rd, p, a.vrf));
        }, {
          timeoutMs: 60_000,
          intervalMs: 500,
          describe: () => `${DELETED_TENANT} routes still at GoBGP\n${tail(agent!.output, 20)}`,
        });
        result.timingsMs.tenantWithdraw = Math.round(performance.now() - t);
        result.afterTenantDelete = snap;
        rep.info(`   withdrawn at GoBGP after ${result.timingsMs.tenantWithdraw} ms`);
        const demo = alloc("demo");
        const left = tenantPrefixes("demo").filter((p) => p !== DELETED_POD.prefix);
        const gone = left.filter((p) => withdrawn(snap!, demo.rd, p, demo.vrf));
        if (gone.length) throw new Error(`demo lost ${gone.join(" ")} too`);
        rep.evidence(
          "GoBGP: global rib -a vpnv4",
          await bgp!.cli(["global", "rib", "-a", "vpnv4"]),
        );
        rep.evidence(
          `kernel (${LAB.nodeNetns}): ip -br link show type vrf`,
          await ip(["-n", LAB.nodeNetns, "-br", "link", "show", "type", "vrf"]),
        );
      });
    }
    if (options.rtChange) {
      await rep.step(
        `RT change: allocation.rt_base ${LAB.changedRtBase} in the config, SIGHUP → new RTs at ` +
          `GoBGP, old ones gone`,
        async () => {
          const names = vrfNames.filter((n) => !(options.withdraw && n === DELETED_TENANT));
          await Deno.writeTextFile(
            configPath,
            labAgentConfig(workDir, nb!.unixRemote, {
              frrCheckS: options.frrCheckS,
              rtBase: LAB.changedRtBase,
            }),
          );
          const main = `${REPO_ROOT}/main.ts`;
          const json = await runOk(deno, [
            ...["run", "-A", main, "validate", "--config", configPath, "--json"],
          ]);
          const after = (JSON.parse(json) as { tenants: Allocation[] }).tenants;
          const rtOf = (list: Allocation[], n: string) => list.find((a) => a.tenant === n)?.rt;
          for (const n of names) {
            if (rtOf(after, n) === alloc(n).rt || !rtOf(after, n)) {
              throw new Error(`validate shows RT ${rtOf(after, n)} for ${n}: not a new RT`);
            }
          }
          rep.evidence(
            "vpnv4-agent validate --json (rewritten configuration)",
            allocationTable(after),
          );
          agent!.child.kill("SIGHUP");
          const t = performance.now();
          let snap: GobgpSnapshot | undefined;
          let problems: string[] = [];
          await waitFor(async () => {
            if (agent?.exited) throw new Error(`vpnv4-agent exited:\n${agent.output}`);
            snap = await snapshot(bgp!, vrfNames);
            problems = rtChangeProblems(snap, {
              before: result.allocations.filter((a) => names.includes(a.tenant)),
              after: after.filter((a) => names.includes(a.tenant)),
            });
            return problems.length === 0;
          }, {
            timeoutMs: 60_000,
            intervalMs: 500,
            describe: () => `${problems.join("\n")}\n${tail(agent!.output, 20)}`,
          });
          result.timingsMs.rtChange = Math.round(performance.now() - t);
          const demo = LAB.wanTenant;
          result.rtChange = {
            tenant: demo,
            oldRt: alloc(demo).rt,
            newRt: rtOf(after, demo)!,
            allocations: after,
            after: snap!,
          };
          rep.info(
            `   ${names.map((n) => `${n}: ${alloc(n).rt} → ${rtOf(after, n)}`).join(", ")}` +
              ` at GoBGP after ${result.timingsMs.rtChange} ms`,
          );
          rep.evidence(
            "GoBGP: global rib -a vpnv4",
            await bgp!.cli(["global", "rib", "-a", "vpnv4"]),
          );
        },
      );
    }
    if (options.whileUp) {
      const hook = options.whileUp;
      await rep.step("while up: the caller's cases against the live lab", () =>
        hook({
          nb: nb!,
          frr: frr!,
          bgp: bgp!,
          agent: agent!,
          agentArgs,
          configPath,
          workDir,
          allocations: result.allocations,
          vrfs: vrfNames,
          write,
        }));
    }
    result.ok = true;
  } catch (e) {
    result.ok = false;
    result.failedStep = e instanceof StepError ? e.step : rep.current;
    result.error = e instanceof StepError && e.cause instanceof Error ? e.cause.message : String(e);
    rep.info(`FAILED at step "${result.failedStep}":`);
    for (const l of result.error.split("\n")) write(`   ! ${l}`);
  } finally {
    await teardown();
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, interrupt);
    result.timingsMs.total = Math.round(performance.now() - t0);
  }
  return result;
}
