/**
 * Incremental apply: render the desired state, compare it with what FRR holds, send only the
 * differences in one `vtysh -d bgpd -f` batch.
 *
 * - {@link applyFrrConfig} (stateless) reads `show running-config bgpd` every time.
 * - {@link FrrApplier} (the agent's) reads it on a full resync only and keeps what FRR holds
 *   of the agent's configuration in a {@link RunningCache}: a change of a few tenants renders
 *   and diffs these tenants alone and costs one vtysh run, whatever the number of unchanged
 *   tenants. A restarted bgpd is recognised by its pid (`show modules`), which is checked
 *   before every apply that is not a known source change (the periodic FRR check).
 *
 * Everything the agent writes lives in bgpd (BGP instances, route-maps, prefix-lists), so
 * batches go to bgpd alone: zebra would otherwise keep its own copy of every prefix-list and
 * route-map and pay a configuration commit of the same cost as bgpd's for each batch. Copies
 * that reached zebra anyway (a saved frr.conf loaded at FRR start, frr-reload.py) are removed
 * at each full resync.
 * @module
 */
import { getLogger } from "../log/mod.ts";
import type {
  ConfigBlock,
  DesiredGlobal,
  DesiredTenant,
  FrrInput,
  FrrTenantInput,
  RenderedFrrConfig,
} from "./model.ts";
import { isAgentObjectName, renderFrrConfig, renderGlobal, renderTenants } from "./render.ts";
import { parseRunningConfig, sameBlock } from "./running_config.ts";
import { diffFrrConfig } from "./diff.ts";
import { RunningCache } from "./running_cache.ts";
import { FrrRenderError } from "./validate.ts";
import { Vtysh, VtyshError } from "./vtysh.ts";

const log = getLogger("frr");

/** The daemon that holds every line the agent writes. */
export const AGENT_DAEMON = "bgpd";

/** What one apply did (for metrics and status). */
export interface ApplySummary {
  /** Lines sent in the `vtysh -f` batch (0 when FRR already matched). */
  readonly linesSent: number;
  /** VRFs of tenants whose configuration was created. */
  readonly added: readonly string[];
  /** VRFs whose agent configuration was removed. */
  readonly removed: readonly string[];
  /** VRFs of tenants that needed some lines. */
  readonly changed: readonly string[];
  /** True when the global instance needed lines. */
  readonly globalChanged: boolean;
  /**
   * True when FRR held no agent configuration at all (first run, or FRR restarted). Only
   * determined when running-config was read (`source: "running-config"`); false otherwise.
   */
  readonly agentConfigMissing: boolean;
  /**
   * True when FRR was found restarted since an earlier successful apply of the same
   * {@link FrrApplier} (bgpd's pid changed, or the agent's configuration vanished): everything
   * was compared with a fresh running-config and re-applied.
   */
  readonly restartDetected: boolean;
  /** What the desired state was compared with: a fresh read, or the applier's cache. */
  readonly source: "running-config" | "cache";
  /** Size of the running-config read, in bytes (characters); 0 when none was read. */
  readonly runningConfigBytes: number;
  /** Where the time went, in milliseconds (for metrics and the benchmark). */
  readonly timings: {
    /** Rendering the desired state (overlaps the read). */
    readonly render: number;
    /** Waiting for `show running-config` after rendering (0 from the cache). */
    readonly read: number;
    readonly parseAndDiff: number;
    readonly send: number;
  };
}

/** Options of {@link applyFrrConfig}. */
export interface ApplyOptions {
  /** vtysh runner; default one built from `input.config.frr`. */
  vtysh?: Vtysh;
  /** Default `input.config.frr.mode`. */
  mode?: "incremental" | "full";
  /** Compute and return the batch without sending it. */
  dryRun?: boolean;
  /** Already rendered desired state (saves rendering again when the caller has it). */
  rendered?: RenderedFrrConfig;
}

/** {@link ApplySummary} plus the batch itself. */
export interface ApplyResult extends ApplySummary {
  /** The batch (sent unless `dryRun`). Contains secrets (neighbor passwords): never log it. */
  readonly lines: readonly string[];
}

/** Sends a batch to bgpd alone (see the module documentation). */
async function sendBatch(vtysh: Vtysh, lines: readonly string[]): Promise<void> {
  await vtysh.applyLines(lines, { daemon: AGENT_DAEMON });
}

/** pid of bgpd (`show modules`): changes when FRR (or bgpd alone) was restarted. */
export async function bgpdPid(vtysh: Vtysh): Promise<number> {
  const args = ["-d", AGENT_DAEMON, "-c", "show modules"];
  const r = await vtysh.run(args);
  const m = /^pid: ([0-9]{1,10})\s*$/m.exec(r.stdout);
  if (r.code !== 0 || !m) {
    throw new VtyshError(
      `cannot tell bgpd's pid (exit ${r.code}): ${(r.stderr + r.stdout).trim().slice(0, 300)}`,
      { command: ["vtysh", ...vtysh.baseArgs, ...args], stderr: r.stderr, code: r.code },
    );
  }
  return Number(m[1]);
}

/**
 * Removes the agent's prefix-lists and route-maps from zebra, where the agent never puts them
 * (they are bgpd's); returns how many objects were removed.
 */
async function removeZebraCopies(vtysh: Vtysh): Promise<number> {
  const args = ["-d", "zebra", "-c", "show running-config"];
  const r = await vtysh.run(args);
  if (r.code !== 0) {
    throw new VtyshError(
      `zebra's running-config failed (exit ${r.code}): ${(r.stderr + r.stdout).trim()}`,
      { command: ["vtysh", ...vtysh.baseArgs, ...args], stderr: r.stderr, code: r.code },
    );
  }
  const lines = new Set<string>();
  for (const b of parseRunningConfig(r.stdout)) {
    const t = b.header.split(" ");
    if ((t[0] === "ip" || t[0] === "ipv6") && t[1] === "prefix-list" && t.length > 2) {
      if (isAgentObjectName(t[2])) lines.add(`no ${t[0]} prefix-list ${t[2]}`);
    } else if (t[0] === "route-map" && t.length === 4 && isAgentObjectName(t[1])) {
      lines.add(`no route-map ${t[1]}`);
    }
  }
  if (lines.size === 0) return 0;
  await vtysh.applyLines([...lines], { daemon: "zebra" });
  log.info("frr: removed {n} agent objects from zebra (they belong to bgpd only)", {
    n: lines.size,
  });
  return lines.size;
}

/**
 * The desired state as the diff needs it: without the configuration text, and without the
 * block list unless in full mode.
 */
function renderForDiff(input: FrrInput, mode: "incremental" | "full"): RenderedFrrConfig {
  if (mode === "full") return renderFrrConfig(input);
  const global = renderGlobal(input);
  return { global, tenants: renderTenants(input, global), blocks: [], text: "" };
}

interface FullRun {
  result: ApplyResult;
  running: ConfigBlock[];
  rendered: RenderedFrrConfig;
}

async function fullApply(input: FrrInput, options: ApplyOptions): Promise<FullRun> {
  const vtysh = options.vtysh ?? new Vtysh(input.config.frr);
  const t0 = performance.now();
  // Start reading first: FRR builds the text while the desired state is rendered here.
  const reading = vtysh.runningConfig();
  reading.catch(() => {}); // rejection is handled by the await below
  let rendered: RenderedFrrConfig;
  try {
    rendered = options.rendered ?? renderForDiff(input, options.mode ?? input.config.frr.mode);
  } catch (e) {
    await reading.catch(() => {});
    throw e;
  }
  const t1 = performance.now();
  const text = await reading;
  const t2 = performance.now();
  const running = parseRunningConfig(text);
  const diff = diffFrrConfig(rendered, running, { mode: options.mode ?? input.config.frr.mode });
  const t3 = performance.now();
  if (!options.dryRun) {
    if (diff.lines.length > 0) await sendBatch(vtysh, diff.lines);
    await removeZebraCopies(vtysh);
  }
  const t4 = performance.now();
  const result: ApplyResult = {
    lines: diff.lines,
    linesSent: options.dryRun ? 0 : diff.lines.length,
    added: diff.added,
    removed: diff.removed,
    changed: diff.changed,
    globalChanged: diff.globalChanged,
    agentConfigMissing: diff.empty,
    restartDetected: false,
    source: "running-config",
    runningConfigBytes: text.length,
    timings: { render: t1 - t0, read: t2 - t1, parseAndDiff: t3 - t2, send: t4 - t3 },
  };
  logApply(result, options.dryRun);
  return { result, running, rendered };
}

function logApply(r: ApplyResult, dryRun?: boolean): void {
  if (r.lines.length === 0) return;
  log.info(
    "frr: {verb} {lines} lines: {added} added, {removed} removed, {changed} changed tenants",
    {
      verb: dryRun ? "would send" : "sent",
      lines: r.lines.length,
      added: r.added.length,
      removed: r.removed.length,
      changed: r.changed.length,
      globalChanged: r.globalChanged,
      source: r.source,
    },
  );
}

/**
 * Brings FRR's agent-owned configuration in line with `input`, reading running-config and
 * sending only the differences in one `vtysh -f` batch. Throws FrrRenderError (bad input),
 * FrrConflictError, or a VtyshError subclass (timeout, failing lines, daemons missing).
 */
export async function applyFrrConfig(
  input: FrrInput,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return (await fullApply(input, options)).result;
}

/** Options of {@link FrrApplier.apply}. */
export interface ApplierApplyOptions extends ApplyOptions {
  /**
   * Read running-config and compare everything (full resync: repairs drift). Default false:
   * compare the tenants that changed since the last apply with the cache, when it is valid.
   */
  full?: boolean;
  /**
   * Check bgpd's pid first and resync fully when FRR was restarted. Default true; the agent
   * skips it for source changes (the periodic FRR check does it every `frr_check_s`).
   */
  verify?: boolean;
}

/**
 * What a tenant's FRR configuration depends on: its allocation. Its prefixes do not matter
 * (they are selected in the kernel, see render.ts): pod churn costs no vtysh run.
 */
interface AppliedTenant {
  readonly vrf: string;
  readonly rd: string;
  readonly rt: string;
}

function appliedOf(t: FrrTenantInput): AppliedTenant {
  const { vrf, rd, rt } = t.allocation;
  return { vrf, rd, rt };
}

/** Whether `t` renders like the applied tenant. */
function sameInput(prev: AppliedTenant, t: FrrTenantInput): boolean {
  const a = t.allocation;
  return a?.vrf === prev.vrf && a.rd === prev.rd && a.rt === prev.rt;
}

/** Whether two rendered global parts (instance and export policy) are the same. */
function sameGlobal(a: DesiredGlobal, b: DesiredGlobal): boolean {
  return sameBlock(a.block, b.block) && a.policy.length === b.policy.length &&
    a.policy.every((block, i) => sameBlock(block, b.policy[i]));
}

/**
 * Applies repeatedly, keeping what FRR holds of the agent's configuration between applies
 * (see the module documentation), and notices when FRR was restarted.
 */
export class FrrApplier {
  #applied = false;
  readonly #vtysh?: Vtysh;
  /** Valid while FRR is known to hold exactly what was read plus what was sent since. */
  #cache?: RunningCache;
  /** bgpd's pid when the cache was filled. */
  #pid?: number;
  /** The desired global instance and export policy the cache matches. */
  #global?: DesiredGlobal;
  /** Tenants as last applied, by name. */
  #appliedTenants = new Map<string, AppliedTenant>();

  /** `vtysh` defaults to one built from each input's `config.frr`. */
  constructor(options: { vtysh?: Vtysh } = {}) {
    this.#vtysh = options.vtysh;
  }

  /** Whether the next apply can work from the cache (no read of running-config). */
  get cached(): boolean {
    return this.#cache !== undefined;
  }

  /** Forgets the cache: the next apply reads running-config. */
  invalidate(): void {
    this.#cache = undefined;
    this.#pid = undefined;
    this.#global = undefined;
    this.#appliedTenants = new Map();
  }

  /**
   * Like {@link applyFrrConfig}, from the cache when it is valid and `full` is not set, with
   * `restartDetected` filled in. Any error forgets the cache (FRR may hold part of a batch).
   */
  async apply(input: FrrInput, options: ApplierApplyOptions = {}): Promise<ApplyResult> {
    const vtysh = options.vtysh ?? this.#vtysh ?? new Vtysh(input.config.frr);
    const mode = options.mode ?? input.config.frr.mode;
    const incremental = !options.full && mode === "incremental";
    try {
      let restarted = false;
      if (this.#cache && incremental && (options.verify ?? true)) {
        const pid = await bgpdPid(vtysh);
        if (pid !== this.#pid) {
          log.warn("frr: bgpd was restarted (pid {old} → {new}): full resync", {
            old: this.#pid,
            new: pid,
          });
          restarted = true;
          this.invalidate();
        }
      }
      if (this.#cache && incremental) {
        const r = await this.#fromCache(input, vtysh, options);
        if (r) return r;
      }
      return await this.#full(input, vtysh, { ...options, mode }, restarted);
    } catch (e) {
      if (!options.dryRun) this.invalidate();
      throw e;
    }
  }

  async #full(
    input: FrrInput,
    vtysh: Vtysh,
    options: ApplyOptions & { mode: "incremental" | "full" },
    restarted: boolean,
  ): Promise<ApplyResult> {
    // The cache is rebuilt from what this run reads: let the old one go before the peak of
    // running-config text, parsed blocks and rendered tenants (megabytes at 10,000 VRFs).
    if (!options.dryRun) this.#cache = undefined;
    // The pid is read before running-config: a restart in between shows at the next check.
    const pid = options.dryRun ? undefined : await bgpdPid(vtysh);
    const run = await fullApply(input, { ...options, vtysh });
    const r = run.result;
    const hasDesired = input.tenants.length > 0 || input.config.bgp.peers.length > 0;
    const restartDetected = restarted || (this.#applied && r.agentConfigMissing && hasDesired);
    if (restartDetected) {
      log.warn("frr: agent configuration missing from FRR (restarted?); applied everything", {
        lines: r.linesSent,
      });
    }
    if (!options.dryRun) {
      this.#applied = true;
      // The cache does not follow changes of the global instance (the next apply reads
      // again), nor full mode (re-sent blocks FRR ignores as duplicates).
      if (options.mode === "incremental" && !r.globalChanged) {
        const cache = new RunningCache(run.running);
        const desired = new Map(run.rendered.tenants.map((t) => [t.vrf, t]));
        cache.record(r.lines, desired, new Set([...cache.vrfs(), ...desired.keys()]));
        this.#cache = cache;
        this.#pid = pid;
        this.#global = run.rendered.global;
        this.#appliedTenants = new Map();
        for (const t of input.tenants) this.#appliedTenants.set(t.tenant.name, appliedOf(t));
      } else this.invalidate();
    }
    return { ...r, restartDetected };
  }

  /** The incremental apply from the cache; undefined when running-config must be read. */
  async #fromCache(
    input: FrrInput,
    vtysh: Vtysh,
    options: ApplyOptions,
  ): Promise<ApplyResult | undefined> {
    const cache = this.#cache!;
    const t0 = performance.now();
    const global = renderGlobal(input);
    if (!this.#global || !sameGlobal(global, this.#global)) return undefined;
    const names = new Set<string>();
    const vrfs = new Set<string>();
    const changedInputs: FrrTenantInput[] = [];
    for (const t of input.tenants) {
      const name = t.tenant?.name;
      if (names.has(name)) throw new FrrRenderError(`tenant ${name}`, "listed twice");
      names.add(name);
      const vrf = t.allocation?.vrf;
      if (vrfs.has(vrf)) {
        throw new FrrRenderError(
          `tenant ${name}: allocation.vrf`,
          `VRF ${vrf} is also allocated to another tenant`,
        );
      }
      vrfs.add(vrf);
      const prev = this.#appliedTenants.get(name);
      if (!prev || !sameInput(prev, t)) changedInputs.push(t);
    }
    const gone: string[] = [];
    if (names.size !== this.#appliedTenants.size || changedInputs.length > 0) {
      for (const name of this.#appliedTenants.keys()) if (!names.has(name)) gone.push(name);
    }
    const timings = { render: 0, read: 0, parseAndDiff: 0, send: 0 };
    const summary = {
      globalChanged: false,
      agentConfigMissing: false,
      restartDetected: false,
      source: "cache" as const,
      runningConfigBytes: 0,
    };
    if (changedInputs.length === 0 && gone.length === 0) {
      timings.render = performance.now() - t0;
      return { lines: [], linesSent: 0, added: [], removed: [], changed: [], ...summary, timings };
    }
    const tenants = renderTenants({ config: input.config, tenants: changedInputs }, global);
    const affected = new Set<string>();
    for (const t of tenants) affected.add(t.vrf);
    for (const t of changedInputs) {
      const prev = this.#appliedTenants.get(t.tenant.name);
      if (prev) affected.add(prev.vrf);
    }
    for (const name of gone) affected.add(this.#appliedTenants.get(name)!.vrf);
    const t1 = performance.now();
    const diff = diffFrrConfig(
      { global, tenants, blocks: [], text: "" },
      cache.blocksFor(affected),
      { mode: "incremental" },
    );
    if (diff.globalChanged) return undefined; // the cached global instance is stale
    const t2 = performance.now();
    if (diff.lines.length > 0 && !options.dryRun) {
      await sendBatch(vtysh, diff.lines);
    }
    const t3 = performance.now();
    if (!options.dryRun) {
      cache.record(diff.lines, new Map(tenants.map((t: DesiredTenant) => [t.vrf, t])), affected);
      for (const t of changedInputs) this.#appliedTenants.set(t.tenant.name, appliedOf(t));
      for (const name of gone) this.#appliedTenants.delete(name);
    }
    const result: ApplyResult = {
      lines: diff.lines,
      linesSent: options.dryRun ? 0 : diff.lines.length,
      added: diff.added,
      removed: diff.removed,
      changed: diff.changed,
      ...summary,
      timings: { render: t1 - t0, read: 0, parseAndDiff: t2 - t1, send: t3 - t2 },
    };
    logApply(result, options.dryRun);
    return result;
  }
}
