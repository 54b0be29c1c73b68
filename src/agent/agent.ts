/**
 * The long-running agent: sources → reconcile loop → planes, plus timers, signals and status.
 */
import { type Config, ConfigError, loadConfig } from "../config/mod.ts";
import { Allocator, validateAllocationConfig } from "../allocate/mod.ts";
import { getLogger, setupLogging } from "../log/mod.ts";
import {
  buildTenantSet,
  compilePolicy,
  FileTenantSource,
  type RawTenant,
  type Rejection,
  type TenantSource,
} from "../tenants/mod.ts";
import { OvnTenantSource } from "../ovn/mod.ts";
import type { AgentStatus, PeerStatus, SourceStatus } from "../status/model.ts";
import { VERSION } from "../cli/version.ts";
import type { Plane } from "./plane.ts";
import { type PlaneObserver, Reconciler } from "./reconciler.ts";
import { describeError } from "../errors/mod.ts";
import { KernelPlaneAdapter } from "./kernel_plane.ts";
import { FrrPlaneAdapter } from "./frr_plane.ts";
import { exposeConfigIssues, ExposePlane } from "./expose_plane.ts";
import { type PeerTransition, PeerWatch } from "./peer_watch.ts";
import { trimMallocHeap } from "../../ffi/mod.ts";

const log = getLogger("agent");
const MAX_REJECTED = 200;

/** Options of {@link Agent.start}. */
export interface AgentOptions {
  /** Path of vpnv4-agent.yaml (re-read on SIGHUP / {@link Agent.reload}). */
  configPath: string;
  /** Reads configPath instead of {@link loadAgentConfig} (run --upstream-config: an INI). */
  loadConfig?: (path: string) => Promise<Config>;
  /** Manage this network namespace's kernel state instead of our own (tests, lab). */
  netns?: string;
  /** Extra planes after kernel and FRR (the return path). */
  extraPlanes?: (config: Config) => Plane[] | Promise<Plane[]>;
  /** Observer of plane runs (metrics). */
  onPlaneRun?: PlaneObserver;
  /** Observer of source events: updates, reconnections, newly rejected entries (metrics). */
  onSourceEvent?: (event: SourceEvent) => void;
  /** Called when allocating or saving the state file failed (metrics). */
  onAllocationError?: (error: unknown) => void;
  /** Observer of configured BGP peers entering or leaving Established (metrics). */
  onPeerTransition?: (transition: PeerTransition) => void;
  /** Replace the kernel plane (tests without netlink). */
  kernelPlane?: Plane;
}

/** What {@link AgentOptions.onSourceEvent} is told. */
export type SourceEvent =
  | { kind: "update"; source: string }
  | { kind: "reconnect"; source: string }
  | { kind: "rejected"; rejection: Rejection };

interface SourceEntry {
  source: TenantSource;
  status: SourceStatus;
  tenants: RawTenant[];
}

/** Loads and checks the configuration (ConfigError on any problem, nothing touched). */
export async function loadAgentConfig(path: string): Promise<Config> {
  const config = await loadConfig(path);
  const issues = [...validateAllocationConfig(config), ...exposeConfigIssues(config)];
  if (issues.length > 0) throw new ConfigError(path, issues);
  return config;
}

/** How often free malloc memory is returned to the system, when rounds ran since. */
const MALLOC_TRIM_INTERVAL_MS = 10_000;

/** A running agent. */
export class Agent {
  readonly startedAt = new Date().toISOString();
  #config: Config;
  readonly #options: AgentOptions;
  readonly #reconciler: Reconciler;
  readonly #planes: Plane[];
  readonly #sources: SourceEntry[] = [];
  #rejected: Rejection[] = [];
  #peers: PeerStatus[] = [];
  #timers: ReturnType<typeof setInterval>[] = [];
  #peerWatch?: PeerWatch;

  private constructor(
    config: Config,
    options: AgentOptions,
    allocator: Allocator,
    planes: Plane[],
  ) {
    this.#config = config;
    this.#options = options;
    this.#planes = planes;
    this.#reconciler = new Reconciler({
      config,
      allocator,
      planes,
      onPlaneRun: options.onPlaneRun,
      onAllocationError: options.onAllocationError,
    });
  }

  /**
   * Starts everything. Throws ConfigError / StateFileError (exit 2) before touching any state,
   * and plane errors such as MPLS `require` failing (exit 1).
   */
  static async start(options: AgentOptions): Promise<Agent> {
    const config = await (options.loadConfig ?? loadAgentConfig)(options.configPath);
    await setupLogging(config.log);
    const allocator = await Allocator.open({ config });
    const planes: Plane[] = [];
    try {
      // FRR before the kernel: a new tenant's BGP instance (and, on a policy change, the
      // export policy) must exist when its blackhole routes reach zebra, so that bgpd
      // redistributes them at once; a pod's own route needs no FRR change at all (see
      // src/frr/render.ts). Withdrawals do not depend on the order (the kernel route's
      // removal withdraws at once).
      planes.push(new FrrPlaneAdapter());
      planes.push(
        options.kernelPlane ?? await KernelPlaneAdapter.open({ config }, { netns: options.netns }),
      );
      planes.push(...await options.extraPlanes?.(config) ?? []);
      if (config.expose.enabled) {
        planes.push(await ExposePlane.open(config, { netns: options.netns }));
      }
    } catch (e) {
      for (const p of planes) await p.close();
      throw e;
    }
    const agent = new Agent(config, options, allocator, planes);
    await agent.#startSources();
    agent.#startTimers();
    log.info("vpnv4-agent {version} running: {tenants} tenants, {sources} source(s)", {
      version: VERSION,
      tenants: agent.#reconciler.tenants.tenants.size,
      sources: agent.#sources.length,
    });
    return agent;
  }

  /** The reconcile loop (for tests and the HTTP layer). */
  get reconciler(): Reconciler {
    return this.#reconciler;
  }

  /** The configuration in force. */
  get config(): Config {
    return this.#config;
  }

  async #startSources(): Promise<void> {
    const policy = compilePolicy(this.#config.tenants.policy);
    for (const sc of this.#config.tenants.sources) {
      const source: TenantSource = sc.type === "file"
        ? new FileTenantSource(sc.path, { policy, debounceMs: 100 })
        : new OvnTenantSource(sc, { policy });
      const entry: SourceEntry = { source, status: { id: source.id, synced: false }, tenants: [] };
      this.#sources.push(entry);
    }
    for (const entry of this.#sources) {
      await entry.source.start({
        onUpdate: (update) => {
          entry.tenants = update.tenants;
          entry.status.synced = true;
          entry.status.lastUpdate = new Date().toISOString();
          entry.status.error = undefined;
          this.#options.onSourceEvent?.({ kind: "update", source: entry.status.id });
          this.#merge(update.changed);
        },
        onError: (error) => {
          entry.status.error = describeError(error);
        },
        onConnection: (state) => {
          entry.status.connected = state.connected;
          if (!state.connected) {
            log.warn("source {source} lost its connection ({reason}); keeping its last view", {
              source: entry.status.id,
              reason: state.reason ?? "",
            });
            return;
          }
          entry.status.error = undefined;
          log.info("source {source} reconnected", { source: entry.status.id });
          this.#options.onSourceEvent?.({ kind: "reconnect", source: entry.status.id });
        },
      });
      if (entry.source instanceof OvnTenantSource) entry.status.connected ??= true;
    }
    // Expose mode without tenant sources: an empty tenant set starts the reconcile loop.
    if (this.#sources.length === 0) this.#merge();
  }

  #merge(changed?: ReadonlySet<string>): void {
    if (!this.#sources.every((s) => s.status.synced)) return;
    const set = buildTenantSet(
      this.#sources.flatMap((s) => s.tenants),
      compilePolicy(this.#config.tenants.policy),
    );
    const known = new Set(this.#rejected.map((r) => `${r.tenant}|${r.prefix}|${r.reason}`));
    for (const r of set.rejected) {
      if (known.has(`${r.tenant}|${r.prefix}|${r.reason}`)) continue;
      this.#options.onSourceEvent?.({ kind: "rejected", rejection: r });
      log.warn("rejected {tenant} {prefix}: {reason}", {
        tenant: r.tenant,
        prefix: r.prefix ?? "",
        reason: r.reason,
        origin: r.origin ?? "",
      });
    }
    // Rows a source skipped itself (hostile OVN rows; logged by the source) are listed too.
    const skipped = this.#sources.flatMap((s) =>
      (s.source as { rejections?: () => Rejection[] }).rejections?.() ?? []
    );
    this.#rejected = [...skipped, ...set.rejected].slice(0, MAX_REJECTED);
    this.#reconciler.setTenants(set, changed);
  }

  #startTimers(): void {
    const r = this.#config.reconcile;
    // Free malloc memory back to the system after rounds (see ffi/memory.ts): the initial sync
    // and each round's netlink and vtysh buffers otherwise stay with the process.
    let trimmedAt = -1;
    this.#timers.push(setInterval(() => {
      if (this.#reconciler.rounds === trimmedAt) return;
      trimmedAt = this.#reconciler.rounds;
      trimMallocHeap();
    }, MALLOC_TRIM_INTERVAL_MS));
    this.#timers.push(setInterval(() => {
      this.#reconciler.trigger({ full: true });
    }, r.interval_s * 1000));
    this.#timers.push(setInterval(() => {
      this.#reconciler.trigger({
        full: false,
        planes: this.#config.expose.enabled ? ["frr", "expose"] : ["frr"],
      });
    }, r.frr_check_s * 1000));
    // Peers every frr_check_s too: /status, and a log line per transition (never /readyz).
    this.#peerWatch = new PeerWatch({
      config: () => this.#config,
      onPeers: (peers) => this.setPeers(peers),
      onTransition: this.#options.onPeerTransition,
    });
    this.#peerWatch.start();
  }

  /** Re-reads the configuration (SIGHUP); an invalid one is logged and the old one kept. */
  async reload(): Promise<boolean> {
    try {
      const config = await (this.#options.loadConfig ?? loadAgentConfig)(
        this.#options.configPath,
      );
      this.#config = config;
      await setupLogging(config.log);
      this.#reconciler.setConfig(config);
      this.#merge();
      log.info("configuration reloaded from {path}", { path: this.#options.configPath });
      return true;
    } catch (e) {
      log.error("configuration reload failed, keeping the running one: {error}", {
        error: describeError(e),
      });
      return false;
    }
  }

  /** Records the BGP peers as FRR reports them (the peer watcher does, every frr_check_s). */
  setPeers(peers: PeerStatus[]): void {
    this.#peers = peers;
  }

  /** Reads the BGP peers from FRR now instead of at the next check; never rejects. */
  refreshPeers(): Promise<void> {
    return this.#peerWatch?.poll() ?? Promise.resolve();
  }

  /** The status document. */
  status(importedRoutes?: (tenant: string) => number): AgentStatus {
    const planes = this.#reconciler.planeStatus();
    const notReady: string[] = [];
    const sources = [
      ...this.#sources.map((s) => ({ ...s.status })),
      ...this.#planes.flatMap((p) => p instanceof ExposePlane ? [p.sourceStatus()] : []),
    ];
    for (const s of sources) {
      if (!s.synced) notReady.push(`source ${s.id} has not synced yet`);
      else if (s.connected === false) {
        notReady.push(
          `source ${s.id} disconnected (${s.error ?? "connection lost"}); ` +
            "its last view stays in force",
        );
      }
    }
    if (this.#reconciler.rounds === 0) notReady.push("no reconcile has completed yet");
    for (const p of planes) {
      if (!p.usable) notReady.push(`${p.name} plane unusable: ${p.error ?? p.warnings.join("; ")}`);
      else if (p.name === "frr" && p.error) notReady.push(`FRR unreachable: ${p.error}`);
    }
    if (this.#reconciler.allocationError) {
      notReady.push(`allocation failed: ${this.#reconciler.allocationError}`);
    }
    return {
      version: VERSION,
      startedAt: this.startedAt,
      ready: notReady.length === 0,
      notReady,
      sources,
      planes,
      tenants: this.#reconciler.tenantStatus(importedRoutes),
      peers: this.#peers,
      rejected: this.#rejected,
    };
  }

  /**
   * Stops cleanly. Routes and FRR configuration stay in place (a restart must not flap the
   * peers) unless `withdraw` is set, which removes everything the agent owns.
   */
  async stop(options: { withdraw?: boolean } = {}): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    await this.#peerWatch?.stop();
    for (const s of this.#sources) await s.source.stop().catch(() => {});
    await this.#reconciler.stop();
    if (options.withdraw) {
      const desired = this.#reconciler.desired;
      if (desired) {
        for (const p of [...this.#planes].reverse()) {
          try {
            await p.withdrawAll(desired);
            log.info("{plane}: withdrew everything the agent owns", { plane: p.name });
          } catch (e) {
            log.error("{plane}: withdraw failed: {error}", {
              plane: p.name,
              error: describeError(e),
            });
          }
        }
      }
    }
    for (const p of this.#planes) await p.close().catch(() => {});
  }
}
