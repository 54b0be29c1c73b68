/**
 * The expose plane of the reconcile loop: chassis-local host and subnet routes (expose mode,
 * upstream ovn-bgp-agent parity). It owns
 * - the expose source (OVN NB/SB → this chassis' exposure → upstream-style driver calls),
 * - the kernel side: the agent's blackhole routes (rtm_protocol `kernel.route_protocol`) in
 *   `expose.table` (of VRF `expose.vrf` with `kernel.vrf_mode: device`),
 * - the FRR side: the `VPNV4-EXPOSE-*` route-maps and the redistribution (frr/expose_render.ts).
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

/** Checks the expose settings that span sections; returns problems (empty when fine). */
export function exposeConfigIssues(config: Config): string[] {
  const e = config.expose;
  const issues: string[] = [];
  if (!e.enabled) return issues;
  if (!exposeNbConnection(config)) {
    issues.push("expose.nb_connection: required when no ovn tenant source is configured");
  }
  const r = config.allocation.table_range;
  if (e.table >= r.min && e.table <= r.max) {
    issues.push(
      `expose.table: ${e.table} lies inside allocation.table_range ${r.min}-${r.max} (tenant tables)`,
    );
  }
  if (e.method === "dummy") {
    issues.push("expose.method: dummy is not implemented yet; use method table");
  }
  try {
    renderExposeConfig(config);
  } catch (err) {
    issues.push((err as Error).message);
  }
  return issues;
}

/** Drives the expose mode for the reconcile loop. */
export class ExposePlane implements Plane {
  readonly name = "expose" as const;
  readonly kernel: KernelPlane;
  readonly driver: ExposeModeDriver;
  readonly source: ExposeSource;
  #config: Config;
  #rendered: RenderedExpose;
  readonly #vtysh: Vtysh;
  #frrLines = 0;
  #kernelCounts = { added: 0, removed: 0, kept: 0 };
  #lastError?: string;

  private constructor(config: Config, kernel: KernelPlane, chassis: ChassisIdentity, options: ExposePlaneOptions) {
    this.#config = config;
    this.kernel = kernel;
    this.#rendered = renderExposeConfig(config);
    this.#vtysh = new Vtysh(config.frr);
    const backend: ExposeBackend = {
      syncPrefixes: (p) => this.#syncKernel(p),
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
   * Resolves the chassis, opens netlink, starts the source (its initial snapshot is applied
   * to the kernel at once). Throws on configuration problems and when OVN is unreachable.
   */
  static async open(config: Config, options: ExposePlaneOptions = {}): Promise<ExposePlane> {
    const issues = exposeConfigIssues(config);
    if (issues.length > 0) throw new Error(`expose: ${issues.join("; ")}`);
    const chassis = options.chassis ?? await resolveChassis(config.expose);
    log.info("expose: chassis {name} ({source})", {
      name: chassis.name,
      source: config.expose.chassis.name ? "configured" : "local OVS database",
    });
    const kernel = KernelPlane.open({
      protocol: config.kernel.route_protocol,
      netns: options.netns,
    });
    const plane = new ExposePlane(config, kernel, chassis, options);
    try {
      await plane.source.start();
    } catch (e) {
      await kernel.close();
      throw e;
    }
    return plane;
  }

  /** What is exposed now (status, tests). */
  exposure(): ExposureSet | undefined {
    return this.source.current();
  }

  #supported(p: IpPrefix): boolean {
    return this.#rendered.families.includes(p.family);
  }

  async #syncKernel(prefixes: readonly IpPrefix[]): Promise<void> {
    const e = this.#config.expose;
    if (this.#config.kernel.vrf_mode === "device") await this.kernel.ensureVrf(e.vrf, e.table);
    const r = await this.kernel.syncRoutes(e.table, prefixes.filter((p) => this.#supported(p)));
    this.#kernelCounts = { added: r.added, removed: r.removed, kept: r.kept };
    if (r.added + r.removed > 0) {
      log.info("expose: table {table}: +{added} -{removed} ={kept}", {
        table: e.table,
        added: r.added,
        removed: r.removed,
        kept: r.kept,
      });
    }
    if (r.failures.length > 0) {
      const f = r.failures[0];
      throw new Error(
        `expose: ${r.failures.length} route(s) refused in table ${e.table}, first: ${f.op} ${
          formatPrefix(f.prefix)
        }: ${f.error.message}`,
      );
    }
  }

  async #syncFrr(rendered = this.#rendered): Promise<void> {
    const bgpd = await this.#vtysh.runningConfig();
    const zebra = rendered.zebraLines.length > 0 || this.#config.kernel.vrf_mode === "table"
      ? await this.#vtysh.show("show running-config zebra")
      : "";
    const diff = diffExposeConfig(rendered, parseRunningConfig(`${bgpd}\n${zebra}`));
    this.#frrLines = diff.lines.length;
    if (diff.lines.length === 0) return;
    if (!diff.empty) log.info("expose: FRR needs {n} lines", { n: diff.lines.length });
    else log.info("expose: applying the expose configuration to FRR ({n} lines)", { n: diff.lines.length });
    await this.#vtysh.applyLines(diff.lines);
  }

  health(): { usable: boolean; warnings: string[] } {
    const warnings = this.#rendered.unsupported.map((u) => `IPv${u.family} not exposed: ${u.reason}`);
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
    await this.kernel.syncRoutes(desired.config.expose.table, []);
    const off = renderExposeConfig({
      ...desired.config,
      expose: { ...desired.config.expose, enabled: false },
    });
    await this.#syncFrr(off);
  }

  async close(): Promise<void> {
    await this.source.stop();
    await this.kernel.close();
  }
}
