/**
 * Prometheus metrics of the agent: a private prom-client {@link Registry} (never the global
 * one) behind the typed {@link AgentMetrics} class that the reconcile loop and the planes
 * record into, and that `/metrics` serves.
 *
 * Label cardinality is bounded on purpose: planes, families, result and reason classes are
 * closed sets; per-peer series exist only for configured peers; source ids come from config.
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AgentStatus, PlaneName } from "../status/model.ts";
import type { Rejection } from "../tenants/mod.ts";
import type { ReconcileBacklog } from "../agent/reconciler.ts";

/** Prefix of every agent metric name. */
export const METRIC_PREFIX = "vpnv4_";

/** Histogram buckets (seconds) for reconcile durations: 1 ms … 30 s. */
export const DURATION_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** Peer families exported per peer (keys of {@link PeerStatus.families}); others are ignored. */
export const PEER_METRIC_FAMILIES = ["ipv4Vpn", "ipv6Vpn", "ipv4Unicast", "ipv6Unicast"] as const;

/** Label `to` of the peer transitions counter: into Established (up) or out of it (down). */
export type PeerTransitionDirection = "up" | "down";

/** Every {@link PeerTransitionDirection}. */
export const PEER_TRANSITION_DIRECTIONS: readonly PeerTransitionDirection[] = ["up", "down"];

/** Classes of rejected source entries (label `reason` of the rejected counter). */
export type RejectionClass = "name" | "prefix" | "conflict" | "limit" | "ovn_row" | "other";

/** Outcome label of netlink operations and reconcile runs. */
export type Outcome = "ok" | "error";

/**
 * Default process metrics that are known not to work under Deno (stubbed Node APIs): they
 * are removed after `collectDefaultMetrics`. Observed with Deno 2.9.6 and prom-client 15.1.3:
 * `perf_hooks.monitorEventLoopDelay` is a stub (min = 2^63 ns, mean/stddev NaN), no GC
 * performance entries, `process._getActiveHandles/_getActiveRequests` return nothing, and
 * `nodejs_version_info` reports Deno's Node-compat version, not a real Node.
 */
export const UNSUPPORTED_DEFAULT_METRICS: readonly string[] = [
  "nodejs_eventloop_lag_min_seconds",
  "nodejs_eventloop_lag_max_seconds",
  "nodejs_eventloop_lag_mean_seconds",
  "nodejs_eventloop_lag_stddev_seconds",
  "nodejs_eventloop_lag_p50_seconds",
  "nodejs_eventloop_lag_p90_seconds",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_gc_duration_seconds",
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_requests",
  "nodejs_active_requests_total",
  "nodejs_version_info",
];

/** Options of {@link AgentMetrics}. */
export interface AgentMetricsOptions {
  /**
   * Addresses of the configured BGP peers: the only peers that get per-peer series
   * (bounded cardinality). Default: none. Can be changed with `setConfiguredPeers`.
   */
  configuredPeers?: readonly string[];
  /** Register the process metrics of prom-client's `collectDefaultMetrics` (default true). */
  processMetrics?: boolean;
  /** Agent version for `vpnv4_build_info` (default `unknown`). */
  version?: string;
}

/** Classifies a rejected source entry into a small, fixed set of label values. */
export function rejectionClass(rejection: Rejection): RejectionClass {
  const reason = rejection.reason ?? "";
  if (reason.startsWith("row ")) return "ovn_row";
  if (reason.includes("claimed by several tenants")) return "conflict";
  if (reason.includes("max_prefixes_per_tenant")) return "limit";
  if (rejection.prefix !== undefined) return "prefix";
  if (rejection.tenant !== undefined && reason !== "") return "name";
  return "other";
}

/** The agent's metrics, in their own registry. */
export class AgentMetrics {
  /** The registry holding every metric of this instance. */
  readonly registry: Registry = new Registry();

  readonly #reconcileRuns: Counter<"plane" | "result">;
  readonly #reconcileDuration: Histogram<"plane">;
  readonly #tenants: Gauge;
  readonly #prefixes: Gauge<"family">;
  readonly #applyErrors: Counter<"plane">;
  readonly #allocationErrors: Counter;
  readonly #monitorOverflows: Counter;
  readonly #ovsdbReconnects: Counter;
  readonly #netlinkOps: Counter<"op" | "result">;
  readonly #peerUp: Gauge<"peer">;
  readonly #peerSent: Gauge<"peer" | "family">;
  readonly #peerReceived: Gauge<"peer" | "family">;
  readonly #peerTransitions: Counter<"peer" | "to">;
  readonly #importRoutes: Gauge;
  readonly #sourceUpdates: Counter<"source">;
  readonly #rejected: Counter<"reason">;
  readonly #ready: Gauge;
  readonly #backlog: { read?: () => ReconcileBacklog } = {};
  #configuredPeers: Set<string>;

  /** Creates the metrics and registers them (and, by default, process metrics). */
  constructor(options: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    this.#configuredPeers = new Set(options.configuredPeers ?? []);
    this.#reconcileRuns = new Counter({
      name: `${p}reconcile_runs_total`,
      help: "Reconcile runs per plane and result (ok, error).",
      labelNames: ["plane", "result"] as const,
      registers,
    });
    this.#reconcileDuration = new Histogram({
      name: `${p}reconcile_duration_seconds`,
      help: "Duration of reconcile runs per plane, in seconds.",
      labelNames: ["plane"] as const,
      buckets: [...DURATION_BUCKETS],
      registers,
    });
    this.#tenants = new Gauge({
      name: `${p}tenants`,
      help: "Tenants currently exported.",
      registers,
    });
    this.#prefixes = new Gauge({
      name: `${p}prefixes`,
      help: "Tenant prefixes currently exported, per family (ipv4, ipv6).",
      labelNames: ["family"] as const,
      registers,
    });
    this.#applyErrors = new Counter({
      name: `${p}apply_errors_total`,
      help: "Errors applying desired state, per plane.",
      labelNames: ["plane"] as const,
      registers,
    });
    this.#allocationErrors = new Counter({
      name: `${p}allocation_errors_total`,
      help: "Reconcile rounds abandoned (nothing applied) because allocating or writing the " +
        "state file failed.",
      registers,
    });
    this.#monitorOverflows = new Counter({
      name: `${p}netlink_monitor_overflows_total`,
      help: "Times the netlink route monitor lost events (ENOBUFS) and the state was re-dumped.",
      registers,
    });
    this.#ovsdbReconnects = new Counter({
      name: `${p}ovsdb_reconnects_total`,
      help: "Reconnections to the OVN Northbound OVSDB.",
      registers,
    });
    this.#netlinkOps = new Counter({
      name: `${p}netlink_operations_total`,
      help: "Netlink operations per operation and result (ok, error).",
      labelNames: ["op", "result"] as const,
      registers,
    });
    this.#peerUp = new Gauge({
      name: `${p}bgp_peer_up`,
      help: "1 when the configured BGP peer is Established, else 0.",
      labelNames: ["peer"] as const,
      registers,
    });
    this.#peerSent = new Gauge({
      name: `${p}bgp_peer_prefixes_sent`,
      help: "Prefixes sent to the configured BGP peer, per family.",
      labelNames: ["peer", "family"] as const,
      registers,
    });
    this.#peerReceived = new Gauge({
      name: `${p}bgp_peer_prefixes_received`,
      help: "Prefixes received from the configured BGP peer, per family.",
      labelNames: ["peer", "family"] as const,
      registers,
    });
    this.#peerTransitions = new Counter({
      name: `${p}bgp_peer_transitions_total`,
      help: "Transitions of the configured BGP peer into (to=up) and out of (to=down) " +
        "Established, as seen by the peer watcher every reconcile.frr_check_s.",
      labelNames: ["peer", "to"] as const,
      registers,
    });
    this.#importRoutes = new Gauge({
      name: `${p}import_routes`,
      help: "Return-path routes imported from the VPN and written to OVN.",
      registers,
    });
    this.#sourceUpdates = new Counter({
      name: `${p}source_updates_total`,
      help: "Updates delivered by tenant sources, per source id.",
      labelNames: ["source"] as const,
      registers,
    });
    this.#rejected = new Counter({
      name: `${p}rejected_source_entries_total`,
      help: "Source entries rejected, per reason class.",
      labelNames: ["reason"] as const,
      registers,
    });
    const source = this.#backlog;
    const backlog = (pick: (b: ReconcileBacklog) => number) =>
      function (this: Gauge) {
        if (source.read) this.set(pick(source.read()));
      };
    new Gauge({
      name: `${p}reconcile_pending_tenants`,
      help: "Tenants whose change waits for a reconcile round (debounced or queued): the backlog.",
      registers,
      collect: backlog((b) => b.pendingTenants),
    }).set(0);
    new Gauge({
      name: `${p}reconcile_oldest_pending_seconds`,
      help: "Age of the oldest change or request not yet taken up by a reconcile round (0: none).",
      registers,
      collect: backlog((b) => b.oldestPendingMs / 1000),
    }).set(0);
    new Gauge({
      name: `${p}reconcile_round_running`,
      help: "1 while a reconcile round runs, else 0.",
      registers,
      collect: backlog((b) => (b.running ? 1 : 0)),
    }).set(0);
    this.#ready = new Gauge({
      name: `${p}ready`,
      help: "1 when the agent is ready, else 0.",
      registers,
    });
    new Gauge({
      name: `${p}build_info`,
      help: "Agent build information (always 1).",
      labelNames: ["version", "deno"] as const,
      registers,
    }).set({ version: options.version ?? "unknown", deno: Deno.version.deno }, 1);
    for (const family of ["ipv4", "ipv6"]) this.#prefixes.set({ family }, 0);
    for (const peer of this.#configuredPeers) this.#zeroTransitions(peer);
    this.#tenants.set(0);
    this.#importRoutes.set(0);
    this.#ready.set(0);
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of UNSUPPORTED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
  }

  /** Records one reconcile run of `plane`: its result and duration (milliseconds). */
  recordReconcile(plane: PlaneName, run: { ok: boolean; durationMs: number }): void {
    this.#reconcileRuns.inc({ plane, result: run.ok ? "ok" : "error" });
    if (Number.isFinite(run.durationMs) && run.durationMs >= 0) {
      this.#reconcileDuration.observe({ plane }, run.durationMs / 1000);
    }
  }

  /** Counts apply errors of `plane` (default 1). */
  recordApplyError(plane: PlaneName, count = 1): void {
    this.#applyErrors.inc({ plane }, count);
  }

  /** Counts one reconcile round abandoned because allocation or the state file write failed. */
  recordAllocationError(): void {
    this.#allocationErrors.inc();
  }

  /** Counts one loss of route monitor events (ENOBUFS), each followed by a resync. */
  recordMonitorOverflow(): void {
    this.#monitorOverflows.inc();
  }

  /** Counts one OVSDB reconnection. */
  recordOvsdbReconnect(): void {
    this.#ovsdbReconnects.inc();
  }

  /** Counts one netlink operation (`op` is a fixed name from code, e.g. `route_add`). */
  recordNetlinkOp(op: string, result: Outcome): void {
    this.#netlinkOps.inc({ op, result });
  }

  /**
   * Counts the netlink operations a kernel-plane round reported (`routes_added`,
   * `routes_removed`, `vrfs_created`, `vrfs_deleted`, `route_failures`).
   */
  recordKernelCounts(counts: Readonly<Record<string, number>>): void {
    const ops: Array<[string, string, Outcome]> = [
      ["routes_added", "route_add", "ok"],
      ["routes_removed", "route_del", "ok"],
      ["vrfs_created", "link_add", "ok"],
      ["vrfs_deleted", "link_del", "ok"],
      ["route_failures", "route_change", "error"],
    ];
    for (const [key, op, result] of ops) {
      const n = counts[key] ?? 0;
      if (n > 0) this.#netlinkOps.inc({ op, result }, n);
    }
  }

  /** Counts one update delivered by the source `sourceId` (an id from config). */
  recordSourceUpdate(sourceId: string): void {
    this.#sourceUpdates.inc({ source: sourceId });
  }

  /** Counts rejected source entries, by class (or classified from the rejection). */
  recordRejected(rejection: Rejection | RejectionClass, count = 1): void {
    const reason = typeof rejection === "string" ? rejection : rejectionClass(rejection);
    this.#rejected.inc({ reason }, count);
  }

  /** Reads the reconcile backlog at every scrape (`Reconciler.backlog`). */
  observeReconcileBacklog(read: () => ReconcileBacklog): void {
    this.#backlog.read = read;
  }

  /** Sets the number of return-path routes written to OVN. */
  setImportRoutes(count: number): void {
    this.#importRoutes.set(count);
  }

  /** Replaces the set of configured peers; series of peers no longer configured are removed. */
  setConfiguredPeers(addresses: readonly string[]): void {
    const next = new Set(addresses);
    for (const old of this.#configuredPeers) {
      if (next.has(old)) continue;
      this.#removePeer(old);
      for (const to of PEER_TRANSITION_DIRECTIONS) this.#peerTransitions.remove({ peer: old, to });
    }
    for (const peer of next) {
      if (!this.#configuredPeers.has(peer)) this.#zeroTransitions(peer);
    }
    this.#configuredPeers = next;
  }

  /**
   * Counts one transition of a configured peer into (`up`) or out of (`down`) Established
   * (the peer watcher's; peers that are not configured are ignored: bounded cardinality).
   */
  recordPeerTransition(peer: string, to: PeerTransitionDirection): void {
    if (!this.#configuredPeers.has(peer)) return;
    this.#peerTransitions.inc({ peer, to });
  }

  /**
   * Refreshes the gauges derived from the status document: readiness, tenants, prefixes per
   * family, import routes, and per configured peer its state and sent/received prefixes.
   * Peers in the status that are not configured are ignored; configured peers that FRR did
   * not report are 0 (down) with no prefix series.
   */
  updateFromStatus(status: AgentStatus): void {
    this.#ready.set(status.ready ? 1 : 0);
    const tenants = Array.isArray(status.tenants) ? status.tenants : [];
    this.#tenants.set(tenants.length);
    let v4 = 0, v6 = 0, imported = 0;
    for (const t of tenants) {
      v4 += finite(t.prefixes?.ipv4);
      v6 += finite(t.prefixes?.ipv6);
      imported += finite(t.importedRoutes);
    }
    this.#prefixes.set({ family: "ipv4" }, v4);
    this.#prefixes.set({ family: "ipv6" }, v6);
    this.#importRoutes.set(imported);

    const byAddress = new Map((status.peers ?? []).map((p) => [p.address, p]));
    for (const peer of this.#configuredPeers) {
      const s = byAddress.get(peer);
      this.#removePeer(peer);
      this.#peerUp.set({ peer }, s?.state === "Established" ? 1 : 0);
      if (!s) continue;
      for (const family of PEER_METRIC_FAMILIES) {
        const counts = s.families?.[family];
        if (!counts) continue;
        if (counts.sent !== undefined) this.#peerSent.set({ peer, family }, finite(counts.sent));
        if (counts.received !== undefined) {
          this.#peerReceived.set({ peer, family }, finite(counts.received));
        }
      }
    }
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link metrics} (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Creates a configured peer's transition series at 0 (so rates work from the start). */
  #zeroTransitions(peer: string): void {
    for (const to of PEER_TRANSITION_DIRECTIONS) this.#peerTransitions.inc({ peer, to }, 0);
  }

  #removePeer(peer: string): void {
    this.#peerUp.remove({ peer });
    for (const family of PEER_METRIC_FAMILIES) {
      this.#peerSent.remove({ peer, family });
      this.#peerReceived.remove({ peer, family });
    }
  }
}

function finite(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}
