/**
 * The expose plane of the reconcile loop: chassis-local host and subnet routes (expose mode,
 * upstream ovn-bgp-agent parity). It owns
 * - the expose source (OVN NB/SB → this chassis' exposure → upstream-style driver calls),
 * - the kernel side, by `expose.method`: `table`: the agent's blackhole routes
 *   (rtm_protocol `kernel.route_protocol`) in `expose.table` of VRF `expose.vrf`; `dummy`:
 *   host addresses on `expose.nic` enslaved to that VRF (subnets stay blackholes in its
 *   table); `network`: nothing (the prefixes are FRR `network` statements),
 * - the FRR side: the `VPNV4-EXPOSE-*` route-maps, redistribution or network lines, the
 *   leak into the default instance and its table-map (frr/expose_render.ts).
 *
 * Source changes reach the kernel directly through the driver (no reconcile round needed);
 * every reconcile round runs the driver's full `sync` (repairs drift, re-applies FRR after a
 * restart).
 * @module
 */
import type { Config } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";
import { describeError } from "../errors/mod.ts";
import { formatPrefix, type IpPrefix } from "../net/mod.ts";
import { KernelPlane } from "../kernel/mod.ts";
import type { SourceStatus } from "../status/model.ts";
import { ensureNic, syncNicAddresses } from "../expose/nic.ts";
import { parseRunningConfig, Vtysh } from "../frr/mod.ts";
import { diffExposeConfig, type RenderedExpose, renderExposeConfig } from "../frr/expose_render.ts";
import {
  type ChassisIdentity,
  type ExposeBackend,
  ExposeModeDriver,
  ExposeSource,
  type ExposeSourceOptions,
  type ExposureSet,
  resolveChassis,
} from "../expose/mod.ts";
import type { Desired, Plane, PlaneOutcome, ReconcileRequest } from "./plane.ts";

const log = getLogger("agent", "expose");

/** Options of {@link ExposePlane.open}. */
export interface ExposePlaneOptions {
  /** Manage this network namespace's kernel state instead of our own. */
  netns?: string;
  /** Chassis identity (skips the OVS lookup; tests). */
  chassis?: ChassisIdentity;
  /** Source options (debounce, OVSDB client overrides). */
  source?: ExposeSourceOptions;
}

/** The NB remotes the expose source uses: `expose.nb_connection` or the first ovn source's. */
export function exposeNbConnection(config: Config): string | undefined {
  return config.expose.nb_connection ??
    config.tenants.sources.find((s) => s.type === "ovn")?.connection;
}

/** One problem of the expose settings (path and message, as a config issue). */
export interface ExposeConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Checks the expose settings that span sections; returns problems (empty when fine). Run at
 * configuration load (bad expose settings exit 2 before anything is touched).
 */
export function exposeConfigIssues(config: Config): ExposeConfigIssue[] {
  const e = config.expose;
  const issues: ExposeConfigIssue[] = [];
  if (!e.enabled) return issues;
  if (!exposeNbConnection(config)) {
    issues.push({
      path: "expose.nb_connection",
      message: "required when no ovn tenant source is configured",
    });
  }
  if (e.method !== "network") {
    if (config.kernel.vrf_mode !== "device") {
      issues.push({
        path: "expose.method",
        message: `${e.method} needs a VRF device (kernel.vrf_mode device) and this ` +
          "configuration has kernel.vrf_mode table; use method network (FRR network " +
          "statements, no kernel routes) on kernels without VRF support",
      });
      return issues;
    }
    const r = config.allocation.table_range;
    if (e.table >= r.min && e.table <= r.max) {
      issues.push({
        path: "expose.table",
        message: `${e.table} lies inside allocation.table_range ${r.min}-${r.max} (tenant tables)`,
      });
    }
    if (e.method === "dummy" && e.nic === e.vrf) {
      issues.push({ path: "expose.nic", message: "must differ from expose.vrf" });
    }
  }
  try {
    renderExposeConfig(config);
  } catch (err) {
    issues.push({ path: "expose", message: (err as Error).message });
  }
  return issues;
}

/** Drives the expose mode for the reconcile loop. */
export class ExposePlane implements Plane {
  readonly name = "expose" as const;
  /** Netlink (methods table and dummy; method network touches no kernel state). */
  readonly kernel?: KernelPlane;
  readonly driver: ExposeModeDriver;
  readonly source: ExposeSource;
  #config: Config;
  #rendered: RenderedExpose;
  readonly #vtysh: Vtysh;
  #frrLines = 0;
  #kernelCounts = { added: 0, removed: 0, kept: 0 };
  #lastError?: string;
  #frrQueue: Promise<void> = Promise.resolve();

  private constructor(
    config: Config,
    kernel: KernelPlane | undefined,
    chassis: ChassisIdentity,
    options: ExposePlaneOptions,
  ) {
    this.#config = config;
    this.kernel = kernel;
    this.#rendered = renderExposeConfig(config);
    this.#vtysh = new Vtysh(config.frr);
    const backend: ExposeBackend = {
      syncPrefixes: (p) => this.#syncPrefixes(p),
      syncFrr: () => this.#syncFrr(),
      snapshot: () => this.source.compute(),
    };
    this.driver = new ExposeModeDriver(backend, { allowed: config.expose.allowed });
    this.source = new ExposeSource(
      { ...config.expose, nb_connection: exposeNbConnection(config)! },
      { ...options.source, chassis, driver: this.driver },
    );
  }

  /**
   * Resolves the chassis, opens netlink (methods table and dummy), starts the source (its
   * initial snapshot is applied at once). Throws on configuration problems and when OVN is
   * unreachable.
   */
  static async open(config: Config, options: ExposePlaneOptions = {}): Promise<ExposePlane> {
    const issues = exposeConfigIssues(config);
    if (issues.length > 0) {
      throw new Error(`expose: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
    }
    const chassis = options.chassis ?? await resolveChassis(config.expose);
    log.info("expose: chassis {name} ({source}), method {method}", {
      name: chassis.name,
      source: config.expose.chassis.name ? "configured" : "local OVS database",
      method: config.expose.method,
    });
    const kernel = config.expose.method === "network" ? undefined : KernelPlane.open({
      protocol: config.kernel.route_protocol,
      netns: options.netns,
    });
    const plane = new ExposePlane(config, kernel, chassis, options);
    try {
      await plane.source.start();
    } catch (e) {
      await kernel?.close();
      throw e;
    }
    return plane;
  }

  /** What is exposed now (status, tests). */
  exposure(): ExposureSet | undefined {
    return this.source.current();
  }

  /** The expose source as /status lists it. */
  sourceStatus(): SourceStatus {
    return this.source.status();
  }

  #supported(p: IpPrefix): boolean {
    return this.#rendered.families.includes(p.family);
  }

  async #syncPrefixes(prefixes: readonly IpPrefix[]): Promise<void> {
    const e = this.#config.expose;
    const wanted = prefixes.filter((p) => this.#supported(p));
    if (e.method === "network" || !this.kernel) {
      await this.#syncFrr();
      return;
    }
    const vrf = await this.kernel.ensureVrf(e.vrf, e.table);
    let routes = wanted;
    let r = { added: 0, removed: 0, kept: 0 };
    if (e.method === "dummy") {
      const isHost = (p: IpPrefix) => p.length === (p.family === 4 ? 32 : 128);
      const nic = await ensureNic(this.kernel, e.nic, vrf.index);
      r = await syncNicAddresses(this.kernel, nic.index, wanted.filter(isHost));
      routes = wanted.filter((p) => !isHost(p));
    }
    const t = await this.kernel.syncRoutes(e.table, routes);
    this.#kernelCounts = {
      added: r.added + t.added,
      removed: r.removed + t.removed,
      kept: r.kept + t.kept,
    };
    if (this.#kernelCounts.added + this.#kernelCounts.removed > 0) {
      log.info("expose: {method} {vrf}: +{added} -{removed} ={kept}", {
        method: e.method,
        vrf: e.vrf,
        ...this.#kernelCounts,
      });
    }
    if (t.failures.length > 0) {
      const f = t.failures[0];
      throw new Error(
        `expose: ${t.failures.length} route(s) refused in table ${e.table}, first: ${f.op} ${
          formatPrefix(f.prefix)
        }: ${f.error.message}`,
      );
    }
  }

  /** One FRR sync at a time (a source change and a reconcile round may overlap). */
  #syncFrr(config = this.#config): Promise<void> {
    const run = this.#frrQueue.catch(() => {}).then(() => this.#syncFrrOnce(config));
    this.#frrQueue = run;
    return run;
  }

  async #syncFrrOnce(config: Config): Promise<void> {
    const rendered = config === this.#config && config.expose.method !== "network"
      ? this.#rendered
      : renderExposeConfig(config, { prefixes: this.driver.prefixes() });
    const diff = diffExposeConfig(rendered, parseRunningConfig(await this.#vtysh.runningConfig()));
    this.#frrLines = diff.lines.length;
    if (diff.lines.length === 0) return;
    log.info(
      diff.empty
        ? "expose: applying the expose configuration to FRR ({n} lines)"
        : "expose: FRR needs {n} lines",
      { n: diff.lines.length },
    );
    await this.#vtysh.applyLines(diff.lines);
  }

  health(): { usable: boolean; warnings: string[] } {
    const warnings: string[] = [];
    if (this.source.lastError) warnings.push(`last change failed: ${this.source.lastError}`);
    if (this.#lastError) warnings.push(`last error: ${this.#lastError}`);
    return { usable: true, warnings };
  }

  async reconcile(desired: Desired, _request: ReconcileRequest): Promise<PlaneOutcome> {
    if (desired.config !== this.#config) {
      this.#config = desired.config;
      this.#rendered = renderExposeConfig(desired.config);
    }
    try {
      await this.driver.sync();
      this.#lastError = undefined;
    } catch (e) {
      this.#lastError = describeError(e);
      throw e;
    }
    const set = this.source.current();
    return {
      tenantErrors: new Map(),
      counts: {
        hosts: set?.hosts.length ?? 0,
        subnets: set?.subnets.length ?? 0,
        routes_added: this.#kernelCounts.added,
        routes_removed: this.#kernelCounts.removed,
        frr_lines_sent: this.#frrLines,
      },
    };
  }

  async withdrawAll(desired: Desired): Promise<void> {
    const e = desired.config.expose;
    // FRR first: the advertisements go before the kernel state they were made from.
    await this.#syncFrr({ ...desired.config, expose: { ...e, enabled: false } });
    if (!this.kernel) return;
    if (e.method === "dummy") {
      const nic = await this.kernel.getLink(e.nic);
      if (nic?.kind === "dummy") await syncNicAddresses(this.kernel, nic.index, []);
    }
    await this.kernel.syncRoutes(e.table, []);
  }

  async close(): Promise<void> {
    await this.source.stop();
    await this.kernel?.close();
  }
}
