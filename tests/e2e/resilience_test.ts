/**
 * Resilience end to end (issues #6 and #9 item 3): one lab (OVN NB → vpnv4-agent → kernel VRFs
 * + FRR → VPNv4/VPNv6 → GoBGP "FortiGate") in one QEMU guest boot, and against it, in turn: a
 * BGP session reset from GoBGP, the node's veth down/up, FRR restarted, ovsdb-server restarted
 * and killed for 30 s, bgpd killed and restarted, the peer flapping 20 times, and the agent
 * SIGKILLed and restarted. The guest side is tests/e2e/guest_scripts/resilience.ts; it streams
 * `gobgp monitor global rib` for the whole run and probes the agent's /readyz, /status and
 * /metrics every second, and prints its observations as one `RESILIENCE_RESULT {json}` line.
 *
 * Each test below asserts one case on those observations: GoBGP's RIBs are exactly the
 * baseline afterwards, nothing owned by others (operator FRR items, OVN row, kernel route)
 * changed, OVN NB holds the same rows, what GoBGP saw during the window (withdrawals or none),
 * and how the agent reported the fault (/readyz, /status, /metrics, log). Passed cases are
 * recorded with tests/support/reliability.ts.
 *
 * `VPNV4_E2E_VERBOSE=1` streams the guest's output.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { recordReliability, type ReliabilityRecord } from "../support/reliability.ts";
import { guestAvailable, hostHasVrf, runWhereVrf } from "../../deploy/lab/guest/mod.ts";
import type { CaseResult, ResilienceResult } from "./guest_scripts/resilience.ts";

const avail = await guestAvailable();
const direct = await hostHasVrf();
const ignore = Deno.uid() !== 0 || (!direct && !avail.ok);
const verbose = Deno.env.get("VPNV4_E2E_VERBOSE") === "1";

const SCRIPT = "tests/e2e/guest_scripts/resilience.ts";
/** The guest's time limit: lab setup plus every case, under TCG on a busy machine. */
const GUEST_TIMEOUT_MS = 1_200_000;
const PEER_UP = 'vpnv4_bgp_peer_up{peer="172.30.0.2"}';

interface Outcome {
  code: number;
  output: string;
  durationMs: number;
  result?: ResilienceResult;
}

let pending: Promise<Outcome> | undefined;

/** Runs the guest once; every test of this file reads the same outcome. */
function outcome(): Promise<Outcome> {
  pending ??= (async () => {
    const script = `${Deno.execPath()} run -A ${SCRIPT}`;
    const { code, output, durationMs } = await runWhereVrf(script, {
      timeoutMs: GUEST_TIMEOUT_MS,
      onOutput: verbose ? (l) => console.log(`  guest| ${l}`) : undefined,
    });
    const line = output.split("\n").find((l) => l.startsWith("RESILIENCE_RESULT "));
    const result = line
      ? JSON.parse(line.slice("RESILIENCE_RESULT ".length)) as ResilienceResult
      : undefined;
    console.log(`  resilience guest: exit ${code}, ${(durationMs / 1000).toFixed(0)} s`);
    return { code, output, durationMs, result };
  })();
  return pending;
}

/** The progress lines of the guest (for failure messages). */
function brief(o: Outcome): string {
  return o.output.split("\n").filter((l) =>
    l.startsWith("[lab") || l.startsWith("[resilience") || l.startsWith("   !")
  ).join("\n").slice(-8000);
}

async function caseOf(id: string): Promise<{ c: CaseResult; r: ResilienceResult; o: Outcome }> {
  const o = await outcome();
  assert(o.result, `no RESILIENCE_RESULT line (exit ${o.code}):\n${o.output.slice(-6000)}`);
  const c = o.result.cases.find((x) => x.id === id);
  assert(c, `case ${id} did not run: lab ${o.result.failedStep ?? "ok"} ${o.result.error ?? ""}`);
  assert(c.ok, `case ${id} failed: ${c.error}\n${brief(o)}`);
  return { c, r: o.result, o };
}

/** The checks every case ends with: exact baseline at GoBGP, nothing of others touched. */
function assertFinal(c: CaseResult): void {
  assertEquals(c.final.gobgp, [], `${c.id}: GoBGP's RIBs differ from the baseline`);
  assertEquals(c.final.nbDiff, [], `${c.id}: OVN NB rows changed`);
  assertEquals(c.final.frrOperatorDiff, [], `${c.id}: operator FRR configuration changed`);
  assert(c.final.operatorRowKept, `${c.id}: the operator's OVN static route changed`);
  assert(c.final.operatorKernelRouteKept, `${c.id}: the operator's kernel route changed`);
  assert(c.gobgp.monitorAlive, `${c.id}: the GoBGP monitor died during the case`);
  assert(c.probe.readyAtEnd, `${c.id}: the agent is not ready at the end`);
  assert(c.probe.peerUpAtEnd, `${c.id}: the agent does not report the peer Established at the end`);
}

function nodeRoutes(r: ResilienceResult): number {
  return r.setup.allocations.reduce((n, a) => n + a.prefixes.length, 0);
}

const UNTOUCHED = "nothing: GoBGP's VPNv4/VPNv6 and VRF RIBs equal the baseline (RD, RT, " +
  "nexthop); OVN NB rows, the operator's FRR prefix-list, route-map and neighbor, the " +
  "operator's OVN static route and kernel route are unchanged";

async function record(r: Omit<ReliabilityRecord, "kind">): Promise<void> {
  await recordReliability({ kind: "fault", ...r });
}

Deno.test({
  name: "resilience: lab up, GoBGP RIB monitor and agent probe live, operator items in place",
  ignore,
  async fn() {
    const o = await outcome();
    assert(o.result, `no RESILIENCE_RESULT line (exit ${o.code}):\n${o.output.slice(-6000)}`);
    const r = o.result;
    assert(r.labOk, `lab failed at "${r.failedStep}": ${r.error}\n${brief(o)}`);
    assertEquals(r.setup.baselineRoutes, nodeRoutes(r));
    assert(r.setup.monitorLive && r.setup.probeLive, JSON.stringify(r.setup));
    assert(
      r.setup.operatorFrr.some((l) => l.includes("OPERATOR-PL")),
      r.setup.operatorFrr.join("\n"),
    );
    assert(
      r.setup.operatorFrr.some((l) => l.includes("172.30.0.9")),
      r.setup.operatorFrr.join("\n"),
    );
    assertEquals(o.code, 0, brief(o));
  },
});

Deno.test({
  name: "resilience: GoBGP resets the session → every route withdrawn and back, exactly",
  ignore,
  async fn() {
    const { c, r } = await caseOf("peer-reset");
    assertFinal(c);
    // The monitor saw the reset: each of the node's routes was withdrawn at GoBGP.
    assertEquals(c.gobgp.withdrawnKeys.length, nodeRoutes(r), JSON.stringify(c.gobgp));
    await record({
      id: "lab-peer-reset",
      what: "GoBGP (the FortiGate) resets the VPNv4/VPNv6 session (`gobgp neighbor reset`)",
      happened: `GoBGP withdrew all ${nodeRoutes(r)} routes of the node; FRR re-established ` +
        "the session and GoBGP holds them again with the same RD/RT; the agent stayed running",
      lost: UNTOUCHED,
    });
  },
});

Deno.test({
  name: "resilience: node veth down/up → agent reports the peer down, routes come back",
  ignore,
  async fn() {
    const { c, r } = await caseOf("veth-flap");
    assertFinal(c);
    assert(c.probe.peerDownInStatus, "/status never showed the peer down");
    assert(c.probe.peerUpMetricZero, `${PEER_UP} never 0`);
    assert(c.gobgp.withdrawals > 0, "GoBGP saw no withdrawal while the link was down");
    await record({
      id: "lab-veth-down-up",
      what: "the node's uplink veth set down until the agent reports the peer down, then up",
      happened:
        "the agent reported the FortiGate peer down (/status peers, vpnv4_bgp_peer_up 0); " +
        `GoBGP withdrew the node's routes and got all ${nodeRoutes(r)} back after the link came up`,
      lost: UNTOUCHED,
    });
  },
});

Deno.test({
  name: "resilience: FRR restarted → /readyz reports FRR down, agent re-applies, routes back",
  ignore,
  async fn() {
    const { c } = await caseOf("frr-restart");
    assertFinal(c);
    assert(c.probe.sawNotReady, "/readyz never answered 503 while FRR was down");
    assert(c.probe.notReady.some((x) => /frr/i.test(x)), JSON.stringify(c.probe.notReady));
    assert(c.log.some((l) => /re-applied/.test(l)), `no re-apply in the log:\n${c.log.join("\n")}`);
    const frrErrors = Object.entries(c.metricsDelta).filter(([k]) =>
      k.includes('plane="frr"') && (k.includes('result="error"') || k.startsWith("vpnv4_apply"))
    );
    assert(frrErrors.length > 0, `no FRR error counted: ${JSON.stringify(c.metricsDelta)}`);
    await record({
      id: "lab-frr-restart",
      what: "every FRR daemon of the node stopped, then started again from frr.conf (which " +
        "holds only the operator's configuration)",
      happened: "/readyz answered 503 naming FRR while it was down and the FRR error counters " +
        "rose; after the restart the agent logged that FRR lost its configuration and " +
        "re-applied it; GoBGP got every route back",
      lost: UNTOUCHED,
    });
  },
});

/** Shared assertions of the two ovsdb-server cases. */
function assertOvsdbCase(c: CaseResult): void {
  assertFinal(c);
  assertEquals(c.gobgp.withdrawals, 0, `GoBGP saw withdrawals: ${c.gobgp.withdrawnKeys}`);
  assert(c.log.some((l) => /lost connection/.test(l)), `no lost connection:\n${c.log.join("\n")}`);
  assert(c.log.some((l) => /connected to/.test(l)), `no reconnection:\n${c.log.join("\n")}`);
  assert(
    (c.metricsDelta["vpnv4_ovsdb_reconnects_total"] ?? 0) >= 1,
    `vpnv4_ovsdb_reconnects_total did not count the reconnection: ${
      JSON.stringify(c.metricsDelta)
    }`,
  );
}

Deno.test({
  name: "resilience: ovsdb-server restarted → nothing withdrawn, reconnect reported",
  ignore,
  async fn() {
    const { c } = await caseOf("ovsdb-restart");
    assertOvsdbCase(c);
    await record({
      id: "lab-ovsdb-restart",
      what: "the OVN NB ovsdb-server restarted",
      happened: "the agent logged the lost connection and the reconnection and " +
        "vpnv4_ovsdb_reconnects_total counted it; GoBGP saw no withdrawal (monitored over " +
        "the whole window)",
      lost: UNTOUCHED,
    });
  },
});

Deno.test({
  name: "resilience: ovsdb-server killed for 30 s → nothing withdrawn, not ready meanwhile",
  ignore,
  async fn() {
    const { c } = await caseOf("ovsdb-down-30s");
    assertOvsdbCase(c);
    assert(c.extra.notReadyWhileDown === true, "/readyz stayed ready while NB was down");
    assert(
      c.probe.notReady.some((x) => /ovn:/.test(x)),
      `/readyz did not name the OVN NB source: ${JSON.stringify(c.probe.notReady)}`,
    );
    await record({
      id: "lab-ovsdb-down-30s",
      what: "the OVN NB ovsdb-server SIGKILLed, left down for 30 s, then started again",
      happened: "/readyz reported the OVN source down during the outage; the agent kept " +
        "exporting, reconnected when NB came back and counted the reconnection; GoBGP saw " +
        "no withdrawal (monitored over the whole window)",
      lost: UNTOUCHED,
    });
  },
});

Deno.test({
  name: "resilience: bgpd killed and restarted → agent re-applies, routes back",
  ignore,
  async fn() {
    const { c } = await caseOf("bgpd-kill");
    assertFinal(c);
    assert(c.log.some((l) => /re-applied/.test(l)), `no re-apply in the log:\n${c.log.join("\n")}`);
    assert(
      c.extra.reportedWhileDown === true,
      `bgpd down not reported: ${JSON.stringify(c.probe)}`,
    );
    await record({
      id: "lab-bgpd-kill",
      what: "FRR's bgpd alone SIGKILLed, then started again (zebra and staticd kept running)",
      happened: "the agent reported the FRR fault while bgpd was down, found its BGP " +
        "configuration gone after bgpd came back, re-applied it, and GoBGP got every route back",
      lost: UNTOUCHED,
    });
  },
});

Deno.test({
  name: "resilience: the peer flaps 20 times → final state exact, agent healthy",
  ignore,
  async fn() {
    const { c, r } = await caseOf("peer-flap-20");
    assertFinal(c);
    assertEquals(c.extra.flaps, 20);
    // Every flap withdrew every route of the node at GoBGP: the flaps were real.
    assert(
      c.gobgp.withdrawals >= 20 * nodeRoutes(r),
      `${c.gobgp.withdrawals} withdrawals for 20 flaps of ${nodeRoutes(r)} routes`,
    );
    assert(c.probe.peerDownInStatus && c.probe.peerUpMetricZero, JSON.stringify(c.probe));
    assertEquals(c.probe.unreachable, 0, "the agent stopped answering during the flaps");
    await record({
      id: "lab-peer-flap-20",
      what: "the FortiGate peer flapped 20 times (`gobgp neighbor disable`/`enable`, each " +
        "time until the session was down and Established again)",
      happened: "GoBGP withdrew and re-learned every route of the node 20 times; the agent " +
        "kept answering, reported the peer down (/status, vpnv4_bgp_peer_up 0) and up again",
      lost: UNTOUCHED,
    });
  },
});

Deno.test({
  name: "resilience: agent SIGKILLed and restarted → same RD/RT, no withdrawal at GoBGP",
  ignore,
  async fn() {
    const { c } = await caseOf("agent-kill");
    assertFinal(c);
    assertEquals(c.gobgp.withdrawals, 0, `GoBGP saw withdrawals: ${c.gobgp.withdrawnKeys}`);
    assert(c.probe.unreachable > 0, "the probe never saw the agent down");
    assertEquals(c.extra.tenantsAfter, c.extra.tenantsBefore, "RD/RT/table changed");
    assert(c.extra.sameTenants === true, "tenants differ after the restart");
    assert(c.extra.sameStateFile === true, "the allocation state file changed");
    assert(c.extra.sameVrfDevices === true, "VRF devices were recreated");
    assert(c.extra.sameLabels === true, "GoBGP's labels changed (FRR config was re-sent)");
    await record({
      id: "lab-agent-sigkill",
      what: "the agent SIGKILLed and started again with the same configuration",
      happened: "the restarted agent kept every tenant's VRF, table, RD and RT (state file " +
        "unchanged), kept the VRF devices, and GoBGP saw no withdrawal and no label change " +
        "(monitored over the whole window)",
      lost: UNTOUCHED,
    });
  },
});
