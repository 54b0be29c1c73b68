/**
 * Guest side of tests/e2e/resilience_test.ts (needs a kernel with VRF; run in the QEMU guest):
 * brings up the lab once (deploy/lab/scenario.ts) and, against that one topology, runs the
 * resilience cases of issues #6 and #9 one after the other, each with GoBGP's RIB monitored
 * and the agent's /readyz, /status and /metrics probed over the whole window:
 *
 * 1. `peer-reset`: `gobgp neighbor NODE reset` (GoBGP side);
 * 2. `veth-flap`: the node's veth down (until the agent reports the peer down), then up;
 * 3. `frr-restart`: every FRR daemon of the node stopped (until the agent reports FRR
 *    unreachable), then started again from frr.conf (operator configuration only);
 * 4. `ovsdb-restart`: ovsdb-server restarted; `ovsdb-down-30s`: killed, 30 s down, started;
 * 5. `bgpd-kill`: bgpd alone SIGKILLed and started again;
 * 6. `peer-flap-20`: the GoBGP peer disabled/enabled 20 times;
 * 7. `agent-kill`: the agent SIGKILLed and started again.
 *
 * After each case: GoBGP's VPNv4/VPNv6 and VRF RIBs are exactly the baseline (RD, RT,
 * nexthop; labels may change when FRR restarts), OVN NB holds the same rows by value, the
 * operator's FRR items, OVN row and kernel route are untouched, and the agent is ready. Prints
 * one `RESILIENCE_RESULT {json}` line; the host test asserts on it.
 * @module
 */
import {
  type Allocation,
  checkExport,
  type GobgpSnapshot,
  LAB,
  type LiveLab,
  runLabScenario,
  snapshot,
  snapshotRoutes,
} from "../../../deploy/lab/scenario.ts";
import { prefixesOf } from "../../../deploy/lab/routes.ts";
import {
  AgentProbe,
  digestDiff,
  frrOperatorView,
  gobgpNeighbor,
  GobgpRibMonitor,
  killFrrDaemons,
  killPidFile,
  LogCursor,
  metricSum,
  nbDigest,
  nbRows,
  type ProbeSample,
  setLink,
  startFrrDaemon,
  summarizeEvents,
} from "../../../deploy/lab/faults.ts";
import { Daemon, run, runOk, waitFor } from "../../support/proc.ts";

/** Operator configuration in FRR that the agent must never touch (also put in frr.conf). */
const OPERATOR_PEER = "172.30.0.9";
const OPERATOR_FRR = [
  "ip prefix-list OPERATOR-PL seq 5 permit 192.168.0.0/16",
  "route-map OPERATOR-RM permit 10",
  " match ip address prefix-list OPERATOR-PL",
  "exit",
  `router bgp ${LAB.nodeAsn}`,
  ` neighbor ${OPERATOR_PEER} remote-as 65009`,
  ` neighbor ${OPERATOR_PEER} description operator-peer`,
  ` neighbor ${OPERATOR_PEER} shutdown`,
  // Explicit: the agent's "no bgp default ipv4-unicast" would otherwise make the activation
  // depend on whether this neighbor was configured before the agent's block (frr.conf at a
  // restart) or after it (added at runtime).
  " address-family ipv4 unicast",
  `  neighbor ${OPERATOR_PEER} activate`,
  " exit-address-family",
  "exit",
];
const OPERATOR_MARKERS = ["OPERATOR-PL", "OPERATOR-RM", OPERATOR_PEER];
/** Operator OVN row: a static route on the lab router the agent did not write. */
const OPERATOR_ROUTE = { prefix: "198.51.100.0/24", nexthop: "100.64.0.9" };
/** Operator kernel route in the node namespace (a table the agent does not own). */
const OPERATOR_KERNEL = ["blackhole", "192.0.2.0/24", "table", "4242"];
const FLAPS = 20;
const OVSDB_DOWN_MS = 30_000;
const RECOVER_MS = 240_000;
const PEER = LAB.fortigateAddress;
const PEER_UP = `vpnv4_bgp_peer_up{peer="${PEER}"}`;

/** What the host test gets per case. */
export interface CaseResult {
  id: string;
  ok: boolean;
  error?: string;
  /** Guest wall time of the case, seconds (reported, never asserted). */
  seconds: number;
  /** GoBGP RIB events for the node's routes during the window (fault until settled). */
  gobgp: {
    updates: number;
    withdrawals: number;
    withdrawnKeys: string[];
    /** Per key, its events in order (`W` withdrawal, `U` update). */
    sequence: Record<string, string>;
    monitorAlive: boolean;
  };
  probe: {
    samples: number;
    /** Samples in which the agent did not answer HTTP. */
    unreachable: number;
    /** Every /readyz notReady reason seen in the window. */
    notReady: string[];
    /** Some /readyz answer in the window was not ready (HTTP 503). */
    sawNotReady: boolean;
    /** /status showed the FortiGate peer not Established at some point. */
    peerDownInStatus: boolean;
    /** vpnv4_bgp_peer_up was 0 at some point. */
    peerUpMetricZero: boolean;
    /** Source errors seen in /status. */
    sourceErrors: string[];
    /** Plane errors seen in /status. */
    planeErrors: string[];
    /** The last sample: ready, peer Established. */
    readyAtEnd: boolean;
    peerUpAtEnd: boolean;
  };
  /** Counter increases between the last sample before the fault and the last one after. */
  metricsDelta: Record<string, number>;
  /** Agent log lines of the window that are warnings/errors or name the fault. */
  log: string[];
  final: {
    /** Exact-state failures at GoBGP (empty when the baseline is back). */
    gobgp: string[];
    /** OVN NB rows that differ from the baseline, by value. */
    nbDiff: string[];
    /** The operator's FRR lines differ (before vs after). */
    frrOperatorDiff: string[];
    operatorRowKept: boolean;
    operatorKernelRouteKept: boolean;
  };
  extra: Record<string, unknown>;
}

/** The whole guest result. */
export interface ResilienceResult {
  labOk: boolean;
  failedStep?: string;
  error?: string;
  setup: {
    baselineRoutes: number;
    monitorLive: boolean;
    probeLive: boolean;
    operatorFrr: string[];
    allocations: Allocation[];
  };
  cases: CaseResult[];
  seconds: number;
}

function log(text: string): void {
  console.log(`[resilience +${((performance.now() - t0) / 1000).toFixed(1)}s] ${text}`);
}

const t0 = performance.now();

/** A canonical, label-free view of what GoBGP holds (VPN routes and VRF RIBs). */
function stateLines(snap: GobgpSnapshot, vrfs: string[]): string[] {
  const lines = snapshotRoutes(snap).map((r) =>
    `vpn ${r.key} rd=${r.rd} rt=${[...r.rts].sort().join(",")} nh=${r.nexthop ?? "-"}`
  );
  for (const v of vrfs) {
    for (const f of ["ipv4", "ipv6"] as const) {
      for (const p of prefixesOf(snap.vrfs[v]?.[f] ?? {})) lines.push(`vrf ${v} ${f} ${p}`);
    }
  }
  return lines.sort();
}

/**
 * Retries `fn` (3 attempts, 1 s apart): the `gobgp` CLI gives up with "context deadline
 * exceeded" when the guest is too busy to connect to gobgpd in time.
 */
async function retry<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1;; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function diffLines(want: string[], have: string[]): string[] {
  return [
    ...want.filter((l) => !have.includes(l)).map((l) => `missing: ${l}`),
    ...have.filter((l) => !want.includes(l)).map((l) => `unexpected: ${l}`),
  ];
}

function interesting(line: string): boolean {
  return /\[(WRN|ERR|FTL)\]/.test(line) ||
    /re-appl|lost|reconnect|connected to|unreachable|restart|failed|running:/i.test(line);
}

function capLines(lines: string[], n = 40): string[] {
  return lines.length <= n ? lines : [...lines.slice(0, n / 2), "…", ...lines.slice(-n / 2)];
}

function counterDelta(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after ?? {})) {
    const name = k.split("{")[0];
    if (!name.endsWith("_total")) continue;
    if (k.startsWith("vpnv4_reconcile_runs_total") && k.includes('result="ok"')) continue;
    const d = v - (before?.[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

async function whileUp(lab: LiveLab, result: ResilienceResult): Promise<void> {
  const { bgp, frr, nb, vrfs, allocations } = lab;
  let agent: Daemon = lab.agent;
  const started: Daemon[] = [];
  let monitor: GobgpRibMonitor | undefined;
  let probe: AgentProbe | undefined;
  result.setup.allocations = allocations;
  const nodeKeys = new Set(allocations.flatMap((a) => a.prefixes.map((p) => `${a.rd}:${p}`)));

  try {
    // Operator-owned items, added before the cases (FRR also gets them in frr.conf, as an
    // operator's FRR would have them, so a restart of FRR brings them back).
    await frr.vtysh(["configure terminal", ...OPERATOR_FRR.map((l) => l.trim())]);
    const conf = `${frr.configDir}/frr.conf`;
    await Deno.writeTextFile(
      conf,
      (await Deno.readTextFile(conf)) + OPERATOR_FRR.join("\n") + "\n",
    );
    await nb.nbctl(["lr-route-add", LAB.router, OPERATOR_ROUTE.prefix, OPERATOR_ROUTE.nexthop]);
    const routes = await nbRows(nb, "Logical_Router_Static_Route");
    const operatorUuid = Object.entries(routes).find(([, r]) =>
      r.ip_prefix === OPERATOR_ROUTE.prefix
    )?.[0];
    if (!operatorUuid) throw new Error("operator static route not found after lr-route-add");
    await nb.nbctl([
      "set",
      "Logical_Router_Static_Route",
      operatorUuid,
      'external_ids:owner="operator"',
    ]);
    const operatorRow = JSON.stringify(
      (await nbRows(nb, "Logical_Router_Static_Route"))[operatorUuid],
    );
    await runOk("ip", ["-n", LAB.nodeNetns, "route", "add", ...OPERATOR_KERNEL]);
    const kernelRoute = async () =>
      (await run("ip", ["-n", LAB.nodeNetns, "route", "show", "table", "4242"])).stdout.trim();
    const kernelBefore = await kernelRoute();

    // Baseline: GoBGP holds exactly the node's routes (plus GoBGP's own VRF route).
    let snap = await retry(() => snapshot(bgp, vrfs));
    const exportFailures = checkExport(snap, allocations, vrfs);
    if (exportFailures.length) throw new Error(`baseline: ${exportFailures.join("; ")}`);
    const nodeHeld = snapshotRoutes(snap).filter((r) => r.rd.startsWith(`${LAB.nodeAsn}:`));
    const extra = nodeHeld.filter((r) => !nodeKeys.has(r.key)).map((r) => r.key);
    if (extra.length) throw new Error(`baseline: GoBGP holds unexpected node routes ${extra}`);
    const baseline = stateLines(snap, vrfs);
    result.setup.baselineRoutes = nodeHeld.length;
    const nbBaseline = await nbDigest(nb);
    const frrOperator = await frrOperatorView(frr, OPERATOR_MARKERS);
    result.setup.operatorFrr = frrOperator;
    const wantOperator = OPERATOR_FRR.filter((l) =>
      OPERATOR_MARKERS.some((m) => l.includes(m)) || l.startsWith(" match")
    );
    const absent = wantOperator.filter((l) => !frrOperator.some((x) => x.trim() === l.trim()));
    if (absent.length) {
      throw new Error(`operator FRR config not in place: ${absent.join(" | ")}`);
    }
    log(`baseline: ${nodeHeld.length} node routes at GoBGP, ${baseline.length} state lines`);

    monitor = await GobgpRibMonitor.start(bgp, {
      families: ["vpnv4", "vpnv6"],
      mustSee: [...nodeKeys],
    });
    result.setup.monitorLive = true;
    probe = await AgentProbe.start(LAB.nodeNetns, `http://${LAB.httpListen}`);
    result.setup.probeLive = true;
    log("GoBGP RIB monitor and agent probe are live");

    /**
     * What differs from the baseline at GoBGP. A failed query (the CLI's gRPC deadline passes
     * when the guest is busy) is retried and, if it persists, reported as a failure.
     */
    const exactFailures = async (): Promise<string[]> => {
      try {
        snap = await retry(() => snapshot(bgp, vrfs));
      } catch (e) {
        return [`GoBGP query failed: ${(e as Error).message}`];
      }
      return [
        ...checkExport(snap, allocations, vrfs),
        ...diffLines(baseline, stateLines(snap, vrfs)),
      ];
    };
    const peerUp = (s?: ProbeSample) =>
      s?.peers?.some((p) => p.address === PEER && p.state === "Established") === true;
    /** Waits until the baseline is back at GoBGP, the agent is ready and the peer is up. */
    const settle = async () => {
      let failures: string[] = [];
      await waitFor(async () => {
        failures = await exactFailures();
        return failures.length === 0 && probe!.latest?.ready === true && peerUp(probe!.latest);
      }, {
        timeoutMs: RECOVER_MS,
        intervalMs: 2000,
        describe: () =>
          `not recovered: GoBGP ${failures.join("; ") || "ok"}; agent ${
            JSON.stringify(probe!.latest)
          }\n--- agent output tail\n${agent.output.split("\n").slice(-25).join("\n")}`,
      });
      // Let the agent run two more FRR checks: a late reaction would show in the window.
      const frrRuns = () =>
        metricSum(probe!.latest?.metrics, "vpnv4_reconcile_runs_total", { plane: "frr" });
      const base = frrRuns();
      await waitFor(() => frrRuns() >= base + 2, {
        timeoutMs: 60_000,
        intervalMs: 500,
        describe: () => `the agent ran no FRR check after recovering (runs ${frrRuns()})`,
      });
    };

    let broken: string | undefined;
    const runCase = async (
      id: string,
      fault: (ctx: { log: LogCursor; extra: Record<string, unknown> }) => Promise<void>,
    ) => {
      const c: CaseResult = {
        id,
        ok: false,
        seconds: 0,
        gobgp: { updates: 0, withdrawals: 0, withdrawnKeys: [], sequence: {}, monitorAlive: false },
        probe: {
          samples: 0,
          unreachable: 0,
          notReady: [],
          sawNotReady: false,
          peerDownInStatus: false,
          peerUpMetricZero: false,
          sourceErrors: [],
          planeErrors: [],
          readyAtEnd: false,
          peerUpAtEnd: false,
        },
        metricsDelta: {},
        log: [],
        final: {
          gobgp: [],
          nbDiff: [],
          frrOperatorDiff: [],
          operatorRowKept: false,
          operatorKernelRouteKept: false,
        },
        extra: {},
      };
      result.cases.push(c);
      if (broken) {
        c.error = `skipped: the lab did not recover after ${broken}`;
        return;
      }
      log(`── case ${id}`);
      const t = performance.now();
      const mMark = monitor!.mark();
      const pMark = probe!.mark();
      const before = probe!.latest;
      const cursor = new LogCursor(() => agent.output);
      const [nbBefore, frrBefore] = await Promise.all([
        nbDigest(nb),
        frrOperatorView(frr, OPERATOR_MARKERS),
      ]);
      const logLines: string[] = [];
      try {
        await fault({ log: cursor, extra: c.extra });
        logLines.push(...cursor.lines());
        await settle();
        c.ok = true;
      } catch (e) {
        c.error = (e as Error).message;
        broken = id;
      }
      const window = probe!.since(pMark);
      const last = probe!.latest;
      c.seconds = Math.round((performance.now() - t) / 100) / 10;
      c.gobgp = {
        ...summarizeEvents(monitor!.since(mMark, nodeKeys)),
        monitorAlive: monitor!.alive(),
      };
      c.probe = {
        samples: window.length,
        unreachable: window.filter((s) => !s.reachable).length,
        notReady: [...new Set(window.flatMap((s) => s.notReady ?? []))],
        sawNotReady: window.some((s) => s.reachable && s.readyzCode === 503),
        peerDownInStatus: window.some((s) => s.reachable && !peerUp(s)),
        peerUpMetricZero: window.some((s) => s.metrics?.[PEER_UP] === 0),
        sourceErrors: [
          ...new Set(window.flatMap((s) => (s.sources ?? []).map((x) => x.error ?? ""))),
        ]
          .filter(Boolean),
        planeErrors: [
          ...new Set(
            window.flatMap((s) =>
              (s.planes ?? []).map((p) => p.error ? `${p.name}: ${p.error}` : "")
            ),
          ),
        ].filter(Boolean),
        readyAtEnd: last?.ready === true,
        peerUpAtEnd: peerUp(last),
      };
      if (!c.extra.agentRestarted) c.metricsDelta = counterDelta(before?.metrics, last?.metrics);
      logLines.push(...cursor.lines().filter((l) => !logLines.includes(l)));
      c.log = capLines(logLines.filter(interesting));
      c.extra.logLines = logLines.length;
      try {
        const [gobgpFinal, nbNow, frrNow, routesNow, kernelNow] = await Promise.all([
          exactFailures(),
          nbDigest(nb),
          frrOperatorView(frr, OPERATOR_MARKERS).catch((e) => [
            `vtysh failed: ${(e as Error).message}`,
          ]),
          nbRows(nb, "Logical_Router_Static_Route"),
          kernelRoute(),
        ]);
        c.final = {
          gobgp: gobgpFinal,
          nbDiff: digestDiff(nbBefore, nbNow),
          frrOperatorDiff: diffLines(frrBefore, frrNow),
          operatorRowKept: JSON.stringify(routesNow[operatorUuid]) === operatorRow,
          operatorKernelRouteKept: kernelNow === kernelBefore && kernelBefore !== "",
        };
        c.extra.wanRouteInVrfDemo =
          (await run("ip", ["-n", LAB.nodeNetns, "route", "show", "vrf", "demo"])).stdout
            .includes(LAB.wanPrefix.split("/")[0]);
        // Against the state before the first case too (reported, not asserted per case).
        c.extra.nbDiffFromBaseline = digestDiff(nbBaseline, nbNow);
        c.extra.frrOperatorDiffFromBaseline = diffLines(frrOperator, frrNow);
        if (c.final.nbDiff.length) {
          // Evidence for a changed NB: what the return path reads (kernel VRF routes, FRR).
          c.extra.returnPathEvidence = {
            kernel: (await run("ip", ["-n", LAB.nodeNetns, "route", "show", "vrf", "demo"]))
              .stdout.trim().split("\n"),
            frr: (await frr.vtysh("show bgp vrf demo ipv4 unicast").catch((e) => String(e)))
              .trim().split("\n").slice(-12),
          };
        }
      } catch (e) {
        c.ok = false;
        c.error = `${c.error ? `${c.error}; ` : ""}final checks failed: ${(e as Error).message}`;
        broken ??= id;
      }
      log(
        `   ${
          c.ok ? "ok" : "FAILED"
        } in ${c.seconds}s: GoBGP ${c.gobgp.withdrawals} withdrawals, ` +
          `${c.gobgp.updates} updates; readyz notReady ${JSON.stringify(c.probe.notReady)}; ` +
          `metrics ${JSON.stringify(c.metricsDelta)}${c.error ? `\n   ! ${c.error}` : ""}`,
      );
    };

    /** Waits for GoBGP to report the session (not) Established; failed queries are retried. */
    const waitGobgp = async (established: boolean, what: string, timeoutMs = 120_000) => {
      let state = "";
      await waitFor(async () => {
        try {
          state = await gobgpNeighbor(bgp, LAB.nodeAddress, "state");
        } catch (e) {
          state = `query failed: ${(e as Error).message}`;
          return false;
        }
        return (state === "established") === established;
      }, { timeoutMs, intervalMs: 250, describe: () => `GoBGP session ${what}: state ${state}` });
    };
    const waitAgentSeesPeerDown = (mark: number) =>
      probe!.waitSince(mark, (s) => s.reachable && !peerUp(s) && s.metrics?.[PEER_UP] === 0, {
        what: "the FortiGate peer down in /status and vpnv4_bgp_peer_up",
        timeoutMs: 60_000,
      });

    // 1. GoBGP resets the session.
    await runCase("peer-reset", async ({ extra }) => {
      await retry(() => gobgpNeighbor(bgp, LAB.nodeAddress, "reset"));
      await waitGobgp(false, "did not go down after reset", 30_000).catch(() => {
        extra.downNotSeenByPoll = true; // a reset can be quicker than one poll
      });
      await waitGobgp(true, "did not come back after reset");
    });

    // 2. The node's veth goes down (held until the agent reports the peer down), then up.
    // Linux drops every route over a link that goes down (here the lab's labeled route to the
    // FortiGate, which the return path resolves over) and, unless keep_addr_on_down is set,
    // its static IPv6 address. A host's network configuration keeps or restores both; the case
    // sets keep_addr_on_down (FRR picks the VPNv6 nexthop from the addresses present when the
    // session comes up, so a late re-add would race it) and re-adds the routes after "up".
    await runCase("veth-flap", async ({ extra }) => {
      const mark = probe!.mark();
      await runOk("ip", [
        ...["netns", "exec", LAB.nodeNetns, "sysctl", "-w"],
        `net.ipv6.conf.${LAB.nodeIf}.keep_addr_on_down=1`,
      ]);
      const linkRoutes = async (family: "-4" | "-6") =>
        (await runOk("ip", ["-n", LAB.nodeNetns, family, "route", "show", "dev", LAB.nodeIf]))
          .split("\n").map((l) => l.trim()).filter((l) =>
            l && !/proto kernel|proto ra|^fe80|^multicast/.test(l)
          );
      const routesBefore = { v4: await linkRoutes("-4"), v6: await linkRoutes("-6") };
      await setLink(LAB.nodeNetns, LAB.nodeIf, false);
      try {
        await waitAgentSeesPeerDown(mark);
      } finally {
        await setLink(LAB.nodeNetns, LAB.nodeIf, true);
        const restored: string[] = [];
        for (const [family, lines] of [["-4", routesBefore.v4], ["-6", routesBefore.v6]] as const) {
          const now = await linkRoutes(family);
          for (const line of lines.filter((l) => !now.includes(l))) {
            const args = line.split(/\s+/).filter((t) => t !== "linkdown" && t !== "dead");
            await runOk("ip", [
              ...["-n", LAB.nodeNetns, family, "route", "replace", ...args],
              ...["dev", LAB.nodeIf],
            ]);
            restored.push(line);
          }
        }
        extra.routesLostOnDown = restored;
      }
      await waitGobgp(true, "did not come back after the veth came up");
    });

    // 3. FRR stopped (every daemon), held until the agent reports it, then started again.
    await runCase("frr-restart", async ({ extra }) => {
      const mark = probe!.mark();
      extra.killed = (await killFrrDaemons(frr, ["bgpd", "staticd", "zebra"], "SIGTERM")).length;
      await probe!.waitSince(mark, (s) => s.reachable && s.ready === false, {
        what: "/readyz not ready while FRR is down",
        timeoutMs: 60_000,
      });
      for (const d of ["zebra", "bgpd", "staticd"] as const) {
        started.push(await startFrrDaemon(frr, d));
      }
      await waitGobgp(true, "did not come back after FRR restarted");
    });

    // 4a. ovsdb-server restarted.
    await runCase("ovsdb-restart", async ({ log: cursor }) => {
      await nb.restart();
      await waitFor(() => cursor.lines().some((l) => /connected to/.test(l)), {
        timeoutMs: 120_000,
        intervalMs: 250,
        describe: () => `the agent did not reconnect to NB:\n${cursor.lines().join("\n")}`,
      });
    });

    // 4b. ovsdb-server killed, down for 30 s, started again.
    await runCase("ovsdb-down-30s", async ({ log: cursor, extra }) => {
      const mark = probe!.mark();
      await killPidFile(`${nb.dir}/ovsdb-server.pid`, "SIGKILL");
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, OVSDB_DOWN_MS)); // the fault is "30 s down"
      extra.downSeconds = Math.round((Date.now() - downAt) / 1000);
      extra.notReadyWhileDown = probe!.since(mark).some((s) => s.reachable && s.ready === false);
      await nb.restart();
      await waitFor(() => cursor.lines().some((l) => /connected to/.test(l)), {
        timeoutMs: 120_000,
        intervalMs: 250,
        describe: () => `the agent did not reconnect to NB:\n${cursor.lines().join("\n")}`,
      });
    });

    // 5. bgpd alone killed and started again.
    await runCase("bgpd-kill", async ({ extra }) => {
      const mark = probe!.mark();
      await killFrrDaemons(frr, ["bgpd"], "SIGKILL");
      await waitGobgp(false, "did not go down after bgpd was killed", 60_000);
      extra.reportedWhileDown = await probe!.waitSince(
        mark,
        (s) => s.reachable && (s.ready === false || (s.planes ?? []).some((p) => p.error)),
        { what: "an FRR fault while bgpd is down", timeoutMs: 30_000 },
      ).then(() => true, () => false);
      started.push(await startFrrDaemon(frr, "bgpd"));
      await waitGobgp(true, "did not come back after bgpd restarted");
    });

    // 6. The peer flaps 20 times (GoBGP disables and enables it); the last time it stays down
    // until the agent reports it.
    await runCase(`peer-flap-${FLAPS}`, async ({ extra }) => {
      let established = 0;
      /** Waits until GoBGP's monitor saw every node route withdrawn (or updated) since `mark`. */
      const sawAll = (mark: number, withdrawal: boolean, what: string) =>
        waitFor(() => {
          const keys = new Set(
            monitor!.since(mark, nodeKeys).filter((e) => e.withdrawal === withdrawal)
              .map((e) => e.key),
          );
          return [...nodeKeys].every((k) => keys.has(k));
        }, { timeoutMs: 60_000, intervalMs: 200, describe: () => what });
      for (let i = 1; i <= FLAPS; i++) {
        const mark = monitor!.mark();
        await retry(() => gobgpNeighbor(bgp, LAB.nodeAddress, "disable"));
        await waitGobgp(false, `flap ${i}: did not go down`, 30_000);
        await sawAll(mark, true, `flap ${i}: GoBGP did not withdraw every node route`);
        if (i === FLAPS) await waitAgentSeesPeerDown(probe!.mark());
        const up = monitor!.mark();
        await retry(() => gobgpNeighbor(bgp, LAB.nodeAddress, "enable"));
        await waitGobgp(true, `flap ${i}: did not come back`);
        await sawAll(up, false, `flap ${i}: GoBGP did not re-learn every node route`);
        established++;
      }
      extra.flaps = established;
    });

    // 7. The agent SIGKILLed and started again: same RD/RT, nothing withdrawn at GoBGP.
    await runCase("agent-kill", async ({ extra }) => {
      const tenantsBefore = probe!.latest?.tenants;
      const startedBefore = probe!.latest?.startedAt;
      const links = async () =>
        (JSON.parse(
          (await runOk("ip", ["-n", LAB.nodeNetns, "-j", "link", "show", "type", "vrf"])) || "[]",
        ) as { ifindex: number; ifname: string }[]).map((l) => `${l.ifname}#${l.ifindex}`).sort();
      const linksBefore = await links();
      const state = async () => await Deno.readTextFile(`${lab.workDir}/state.json`);
      const stateBefore = await state();
      const labelsBefore = snapshotRoutes(snap).map((r) => `${r.key}=${r.labels}`).sort();
      const mark = probe!.mark();
      agent.child.kill("SIGKILL");
      const status = await agent.status;
      extra.killedBySignal = status.signal ?? `exit ${status.code}`;
      extra.agentRestarted = true;
      await probe!.waitSince(mark, (s) => !s.reachable, {
        what: "the agent unreachable after SIGKILL",
        timeoutMs: 30_000,
      });
      agent = new Daemon("vpnv4-agent", "ip", lab.agentArgs);
      started.push(agent);
      const back = await probe!.waitSince(
        mark,
        (s) => s.reachable && s.ready === true && s.startedAt !== startedBefore,
        { what: "the restarted agent ready", timeoutMs: 180_000 },
      );
      extra.sameTenants = JSON.stringify(back.tenants) === JSON.stringify(tenantsBefore);
      extra.tenantsBefore = tenantsBefore;
      extra.tenantsAfter = back.tenants;
      extra.sameVrfDevices = JSON.stringify(await links()) === JSON.stringify(linksBefore);
      extra.sameStateFile = (await state()) === stateBefore;
      await exactFailures();
      extra.sameLabels = JSON.stringify(
        snapshotRoutes(snap).map((r) => `${r.key}=${r.labels}`).sort(),
      ) === JSON.stringify(labelsBefore);
    });
  } finally {
    await probe?.stop();
    await monitor?.stop();
    // The lab's teardown stops the agent it started; the ones started here stop now.
    for (const d of started.reverse()) await d.stop(10_000);
  }
}

const result: ResilienceResult = {
  labOk: false,
  setup: {
    baselineRoutes: 0,
    monitorLive: false,
    probeLive: false,
    operatorFrr: [],
    allocations: [],
  },
  cases: [],
  seconds: 0,
};
const lab = await runLabScenario({
  frrCheckS: 3,
  gobgpTimers: { connectRetryS: 5, idleHoldAfterResetS: 5 },
  whileUp: (l) => whileUp(l, result),
});
result.labOk = lab.ok;
result.failedStep = lab.failedStep;
result.error = lab.error;
result.seconds = Math.round((performance.now() - t0) / 1000);
console.log(`RESILIENCE_RESULT ${JSON.stringify(result)}`);
Deno.exit(lab.ok && result.cases.every((c) => c.ok) ? 0 : 1);
