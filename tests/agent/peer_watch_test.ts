/**
 * The BGP peer watcher against real components: FRR in one fresh netns, a GoBGP peer in another
 * (joined by a veth pair), and a configured peer that never comes up. In process (logtape records
 * captured by a test sink, counters in {@link AgentMetrics}): the first check, the peer coming
 * up, GoBGP disabling the neighbor (the down warning), coming back, a session reset between two
 * checks, and a failing vtysh (no transition). As a `vpnv4-agent run` process: the same
 * transitions in its JSON log and in `/metrics`, and `/readyz` staying ready with the peer down.
 * Skipped without root, FRR or GoBGP.
 */
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { type FrrInstance, startFrr } from "../support/frr.ts";
import { type GobgpInstance, startGobgp } from "../support/gobgp.ts";
import { waitFor } from "../support/proc.ts";
import { createTopology, type Topology } from "../support/topology.ts";
import {
  type AgentProc,
  httpGet,
  logRecords,
  makeAgentLab,
  metric,
  readyz,
  reap,
  spawnAgent,
  status,
  stopAgent,
  tenantsYaml,
  waitLog,
  waitReady,
} from "../support/agent_proc.ts";
import { configSchema } from "../../src/config/mod.ts";
import { AgentMetrics } from "../../src/metrics/mod.ts";
import { ESTABLISHED, PeerWatch } from "../../src/agent/peer_watch.ts";
import type { PeerStatus } from "../../src/status/model.ts";

const ignore = (() => {
  try {
    return Deno.uid() !== 0 || !Deno.statSync("/usr/lib/frr/bgpd").isFile ||
      !Deno.statSync("/usr/bin/gobgpd").isFile;
  } catch {
    return true;
  }
})();

/** A configured peer that never comes up: no route to it in FRR's netns, nothing is sent. */
const NEVER_UP = "192.0.2.254";
const TIMEOUT = 60_000;

/**
 * An address for a RegExp: dots escaped, in optional quotes (the agent's text and JSON
 * formatters quote string values; the in-process capture below renders them bare).
 */
function q(address: string): string {
  return `"?${address.replaceAll(".", "\\.")}"?`;
}

/** FRR's side (netns a): the GoBGP peer and {@link NEVER_UP}, IPv4 unicast. */
function frrConfig(topo: Topology): string {
  const peer = topo.b.address;
  return [
    "router bgp 65000",
    ` bgp router-id ${topo.a.address}`,
    " no bgp ebgp-requires-policy",
    ` neighbor ${peer} remote-as 65001`,
    ` neighbor ${peer} timers connect 1`,
    ` neighbor ${NEVER_UP} remote-as 65009`,
    "exit",
    "",
  ].join("\n");
}

/** GoBGP (netns b): one neighbor (FRR), quick reconnects, `families` AFI-SAFIs. */
function startPeer(topo: Topology, families: string[]): Promise<GobgpInstance> {
  return startGobgp({
    netns: topo.b.netns,
    config: {
      global: { config: { as: 65001, "router-id": topo.b.address, port: 179 } },
      neighbors: [{
        config: { "neighbor-address": topo.a.address, "peer-as": 65000 },
        timers: {
          config: {
            "connect-retry": 1,
            "idle-hold-time-after-reset": 1,
            "hold-time": 9,
            "keepalive-interval": 3,
          },
        },
        "afi-safis": families.map((f) => ({ config: { "afi-safi-name": f } })),
      }],
    },
  });
}

/** Records of the `vpnv4` loggers, captured in process. */
class LogCapture {
  readonly records: LogRecord[] = [];

  static async start(): Promise<LogCapture> {
    const capture = new LogCapture();
    await configure({
      reset: true,
      sinks: { test: (r: LogRecord) => capture.records.push(r) },
      loggers: [
        { category: ["vpnv4"], lowestLevel: "debug", sinks: ["test"] },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
      ],
    });
    return capture;
  }

  /** The rendered message of a record. */
  static text(r: LogRecord): string {
    return r.message.map((part) => typeof part === "string" ? part : String(part)).join("");
  }

  /** Records at `level` whose message matches `pattern`. */
  find(level: LogRecord["level"], pattern: RegExp): LogRecord[] {
    return this.records.filter((r) => r.level === level && pattern.test(LogCapture.text(r)));
  }

  /** Waits until `count` such records exist; returns the last of them. */
  async wait(level: LogRecord["level"], pattern: RegExp, count = 1): Promise<LogRecord> {
    await waitFor(() => this.find(level, pattern).length >= count, {
      timeoutMs: TIMEOUT,
      describe: () => `no ${count}× ${level} ${pattern}; logged:\n${this.dump()}`,
    });
    return this.find(level, pattern)[count - 1];
  }

  dump(): string {
    return this.records.slice(-40).map((r) => `${r.level} ${LogCapture.text(r)}`).join("\n");
  }
}

/** The counter's value for `peer` and `to` in `metrics`. */
async function transitions(metrics: AgentMetrics, peer: string, to: string): Promise<number> {
  const text = await metrics.metrics();
  const line = text.split("\n")
    .find((l) => l.startsWith(`vpnv4_bgp_peer_transitions_total{peer="${peer}",to="${to}"} `));
  assert(line !== undefined, `no transitions series for ${peer} ${to}:\n${text}`);
  return Number(line.split(" ")[1]);
}

/** FRR's own view of one peer (state and uptime), for waiting on the real session. */
async function frrPeer(frr: FrrInstance, peer: string): Promise<{ state: string; up: number }> {
  const json = await frr.vtyshJson<Record<string, { peers?: Record<string, Json> }>>(
    "show bgp vrf default summary json",
  );
  const p = json.ipv4Unicast?.peers?.[peer];
  return { state: String(p?.state ?? "absent"), up: Number(p?.peerUptimeMsec ?? 0) / 1000 };
}
type Json = Record<string, unknown>;

function watchConfig(frr: FrrInstance, topo: Topology, frrCheckS: number) {
  return configSchema.parse({
    bgp: {
      asn: 65000,
      router_id: topo.a.address,
      peers: [
        { address: topo.b.address, remote_asn: 65001, families: ["ipv4"] },
        { address: NEVER_UP, remote_asn: 65009, families: ["ipv4"] },
      ],
    },
    tenants: { sources: [{ type: "file", path: "/nonexistent/tenants.yaml" }] },
    frr: { pathspace: frr.name, timeout_ms: 10_000 },
    reconcile: { frr_check_s: frrCheckS },
  });
}

Deno.test({
  name: "PeerWatch: real GoBGP peer up, disabled (warning), up again; counted; never-up peer quiet",
  ignore,
  async fn() {
    const logs = await LogCapture.start();
    try {
      await using topo = await createTopology({ prefix: "pw" });
      await using frr = await startFrr({ netns: topo.a.netns, config: frrConfig(topo) });
      const peer = topo.b.address;
      const config = watchConfig(frr, topo, 1);
      const metrics = new AgentMetrics({
        processMetrics: false,
        configuredPeers: [peer, NEVER_UP],
      });
      let shown: PeerStatus[] = [];
      const watch = new PeerWatch({
        config: () => config,
        onPeers: (peers) => shown = peers,
        onTransition: (t) => metrics.recordPeerTransition(t.peer, t.to),
      });
      watch.start();
      try {
        // First check, GoBGP not running yet: each peer's state once at info, no warning.
        const first = await logs.wait(
          "info",
          new RegExp(`^bgp peer ${q(peer)} is \\S+ at the first`),
        );
        assert(first.properties.state !== ESTABLISHED, String(first.properties.state));
        await logs.wait("info", new RegExp(`^bgp peer ${q(NEVER_UP)} is \\S+ at the first check$`));

        await using bgp = await startPeer(topo, ["ipv4-unicast"]);
        await bgp.cli(["global", "rib", "-a", "ipv4", "add", "203.0.113.0/24"]);
        const up = await logs.wait(
          "info",
          new RegExp(`^bgp peer ${q(peer)} established \\(prefixes received \\d+\\)$`),
        );
        assertEquals(up.properties.previous, first.properties.state);
        assertEquals(typeof up.properties.received, "number");
        assertEquals(await transitions(metrics, peer, "up"), 1);
        assertEquals(await transitions(metrics, peer, "down"), 0);
        assertEquals(watch.stateOf(peer), ESTABLISHED);
        // What /status gets: the same read, the peer Established there too.
        assertEquals(shown.find((p) => p.address === peer)?.state, ESTABLISHED);

        // The route GoBGP sends is counted once FRR has it (what the up line reports).
        await waitFor(() =>
          (shown.find((p) => p.address === peer)?.families.ipv4Unicast
            ?.received ?? 0) === 1, {
          timeoutMs: TIMEOUT,
          describe: () => `FRR never reported the prefix: ${JSON.stringify(shown)}`,
        });
        // Let a check see the session up for a few seconds: the warning says how long it was up.
        await waitFor(
          () => (watch.peers.find((p) => p.address === peer)?.uptimeSeconds ?? 0) >= 3,
          {
            timeoutMs: TIMEOUT,
            describe: () => `no check saw the session up for 3 s: ${JSON.stringify(watch.peers)}`,
          },
        );

        await bgp.cli(["neighbor", topo.a.address, "disable"]);
        const down = await logs.wait(
          "warning",
          new RegExp(`^bgp peer ${q(peer)} left Established: now (\\S+) \\(was Established, up `),
        );
        assertEquals(down.properties.previous, ESTABLISHED);
        assert(down.properties.state !== ESTABLISHED);
        assertEquals(typeof down.properties.uptimeSeconds, "number");
        assert((down.properties.uptimeSeconds as number) >= 3, JSON.stringify(down.properties));
        assertMatch(LogCapture.text(down), /up \d+s at the last check\)$/);
        assertEquals(await transitions(metrics, peer, "down"), 1);
        assertEquals(await transitions(metrics, peer, "up"), 1);
        assert(shown.find((p) => p.address === peer)?.state !== ESTABLISHED);

        await bgp.cli(["neighbor", topo.a.address, "enable"]);
        await logs.wait("info", new RegExp(`^bgp peer ${q(peer)} established`), 2);
        assertEquals(await transitions(metrics, peer, "up"), 2);
        assertEquals(await transitions(metrics, peer, "down"), 1);
      } finally {
        await watch.stop();
      }
      // The peer that never came up: its first state at info, nothing else above debug.
      const neverUp = logs.records.filter((r) =>
        LogCapture.text(r).startsWith(`bgp peer ${NEVER_UP} `) && r.level !== "debug"
      );
      assertEquals(neverUp.length, 1, logs.dump());
      assertEquals(await transitions(metrics, NEVER_UP, "up"), 0);
      assertEquals(await transitions(metrics, NEVER_UP, "down"), 0);
      assertEquals(logs.find("warning", /./).length, 1, logs.dump());
      assertEquals(logs.find("error", /./).length, 0, logs.dump());
    } finally {
      await reset();
    }
  },
});

Deno.test({
  name: "PeerWatch: a reset between two checks is a down and an up; a failing vtysh is none",
  ignore,
  async fn() {
    const logs = await LogCapture.start();
    try {
      await using topo = await createTopology({ prefix: "pw" });
      await using frr = await startFrr({ netns: topo.a.netns, config: frrConfig(topo) });
      await using _bgp = await startPeer(topo, ["ipv4-unicast"]);
      const peer = topo.b.address;
      const metrics = new AgentMetrics({ processMetrics: false, configuredPeers: [peer] });
      // Checked by hand only (the timer would be an hour away).
      const config = watchConfig(frr, topo, 3600);
      const watch = new PeerWatch({
        config: () => config,
        onTransition: (t) => metrics.recordPeerTransition(t.peer, t.to),
      });
      let before = { state: "", up: 0 };
      await waitFor(async () => {
        before = await frrPeer(frr, peer);
        return before.state === ESTABLISHED && before.up >= 3;
      }, {
        timeoutMs: TIMEOUT,
        describe: () => `session not up for 3 s: ${JSON.stringify(before)}`,
      });

      // First check finds it up: the established line, marked first, not counted.
      await watch.poll();
      const first = await logs.wait("info", new RegExp(`^bgp peer ${q(peer)} established`));
      assertEquals(first.properties.first, true);
      assertEquals(await transitions(metrics, peer, "up"), 0);

      // FRR resets the session; it is back before the next check.
      await frr.vtysh(`clear bgp ${peer}`);
      let after = { state: "", up: 0 };
      await waitFor(async () => {
        after = await frrPeer(frr, peer);
        return after.state === ESTABLISHED && after.up < before.up;
      }, { timeoutMs: TIMEOUT, describe: () => `session not back: ${JSON.stringify(after)}` });
      await watch.poll();
      const reset = await logs.wait(
        "warning",
        new RegExp(`^bgp peer ${q(peer)} was reset between checks: Established again for \\S+ `),
      );
      assert(
        (reset.properties.uptimeSeconds as number) <
          (reset.properties.previousUptimeSeconds as number),
        JSON.stringify(reset.properties),
      );
      assertEquals(await transitions(metrics, peer, "down"), 1);
      assertEquals(await transitions(metrics, peer, "up"), 1);

      // bgpd gone: vtysh fails; that is logged at debug and is no transition.
      await frr.stop();
      await watch.poll();
      await logs.wait("debug", /^bgp peer check failed, keeping the last known states: /);
      assertEquals(watch.stateOf(peer), ESTABLISHED);
      assertEquals(await transitions(metrics, peer, "down"), 1);
      assertEquals(logs.find("warning", /./).length, 1, logs.dump());
      await watch.stop();
    } finally {
      await reset();
    }
  },
});

/** The first INFO record of the agent's JSON log whose message matches `pattern`. */
async function waitInfo(agent: AgentProc, pattern: RegExp): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitFor(() => {
    found = logRecords(agent).find((r) => /^INFO/i.test(r.level) && pattern.test(r.message));
    return found !== undefined;
  }, {
    timeoutMs: TIMEOUT,
    describe: () => `no info log matching ${pattern}:\n${agent.log().slice(-3000)}`,
  });
  return found!;
}

Deno.test({
  name: "vpnv4-agent run: peer transitions in its log and /metrics; /readyz ignores the peer",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using topo = await createTopology({ prefix: "pw" });
    await using frr = await startFrr({ netns: topo.a.netns });
    const peer = topo.b.address;
    const lab = await makeAgentLab("vpnv4-peer-watch-", {
      pathspace: frr.name,
      tenants: tenantsYaml({ demo: ["10.1.0.0/24"] }),
      sections: {
        bgp: {
          router_id: topo.a.address,
          peers: [{ address: peer, remote_asn: 65001, families: ["vpnv4"] }],
        },
      },
    });
    let agent: AgentProc | undefined;
    try {
      agent = spawnAgent(["run", "--config", lab.config, "--netns", topo.a.netns]);
      await waitReady(lab, agent);
      // The agent configured the neighbor; GoBGP is not running yet.
      await waitInfo(agent, new RegExp(`^bgp peer ${q(peer)} is \\S+ at the first check$`));
      const up = `vpnv4_bgp_peer_transitions_total`;
      assertEquals(await metric(lab, up, { peer, to: "up" }), 0);

      await using bgp = await startPeer(topo, ["l3vpn-ipv4-unicast"]);
      await waitInfo(
        agent,
        new RegExp(`^bgp peer ${q(peer)} established \\(prefixes received 0\\)$`),
      );
      await waitFor(async () => await metric(lab, up, { peer, to: "up" }) === 1, {
        timeoutMs: TIMEOUT,
        describe: () => "vpnv4_bgp_peer_transitions_total{to=up} never 1",
      });
      assertEquals(await metric(lab, "vpnv4_bgp_peer_up", { peer }), 1);

      await bgp.cli(["neighbor", topo.a.address, "disable"]);
      const down = await waitLog(agent, new RegExp(`^bgp peer ${q(peer)} left Established: now `));
      assertMatch(String(down.level), /^WARN/i);
      await waitFor(async () => await metric(lab, up, { peer, to: "down" }) === 1, {
        timeoutMs: TIMEOUT,
        describe: () => "vpnv4_bgp_peer_transitions_total{to=down} never 1",
      });
      // The peer is down in /status and the gauge, and the agent is still ready.
      const peers = (await status(lab)).peers as PeerStatus[];
      assert(peers.find((p) => p.address === peer)?.state !== ESTABLISHED, JSON.stringify(peers));
      assertEquals(await metric(lab, "vpnv4_bgp_peer_up", { peer }), 0);
      const ready = await readyz(lab);
      assertEquals(ready.status, 200, ready.body);
      assertEquals((await httpGet(lab, "/healthz")).status, 200);

      const stopped = await stopAgent(agent);
      assertEquals(stopped.code, 0, stopped.stderr.slice(-2000));
    } finally {
      if (agent) await reap(agent);
      await Deno.remove(lab.dir, { recursive: true }).catch(() => {});
    }
  },
});
