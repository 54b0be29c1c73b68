/**
 * Incremental apply: render the desired state, read FRR's running-config once, send only the
 * differences in one `vtysh -f` batch.
 * @module
 */
import { getLogger } from "../log/mod.ts";
import type { FrrInput, RenderedFrrConfig } from "./model.ts";
import { renderFrrConfig } from "./render.ts";
import { parseRunningConfig } from "./running_config.ts";
import { diffFrrConfig } from "./diff.ts";
import { Vtysh } from "./vtysh.ts";

const log = getLogger("frr");

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
  /** True when FRR held no agent configuration at all (first run, or FRR restarted). */
  readonly agentConfigMissing: boolean;
  /**
   * True when an earlier apply of the same {@link FrrApplier} succeeded but FRR now holds no
   * agent configuration: FRR was restarted (or reset) and everything was applied again.
   */
  readonly restartDetected: boolean;
  /** Size of the running-config read, in bytes (characters). */
  readonly runningConfigBytes: number;
  /** Where the time went, in milliseconds (for metrics and the benchmark). */
  readonly timings: {
    /** Rendering the desired state (overlaps the read). */
    readonly render: number;
    /** Waiting for `show running-config` after rendering. */
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

/**
 * Brings FRR's agent-owned configuration in line with `input`, sending only the differences
 * in one `vtysh -f` batch. Throws FrrRenderError (bad input), FrrConflictError, or a
 * VtyshError subclass (timeout, failing lines, daemons missing).
 */
export async function applyFrrConfig(
  input: FrrInput,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const vtysh = options.vtysh ?? new Vtysh(input.config.frr);
  const t0 = performance.now();
  // Start reading first: FRR builds the text while the desired state is rendered here.
  const reading = vtysh.runningConfig();
  reading.catch(() => {}); // rejection is handled by the await below
  let rendered: RenderedFrrConfig;
  try {
    rendered = options.rendered ?? renderFrrConfig(input);
  } catch (e) {
    await reading.catch(() => {});
    throw e;
  }
  const t1 = performance.now();
  const text = await reading;
  const t2 = performance.now();
  const diff = diffFrrConfig(rendered, parseRunningConfig(text), {
    mode: options.mode ?? input.config.frr.mode,
  });
  const t3 = performance.now();
  if (diff.lines.length > 0 && !options.dryRun) {
    await vtysh.applyLines(diff.lines);
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
    runningConfigBytes: text.length,
    timings: { render: t1 - t0, read: t2 - t1, parseAndDiff: t3 - t2, send: t4 - t3 },
  };
  if (diff.lines.length > 0) {
    log.info(
      "frr: {verb} {lines} lines: {added} added, {removed} removed, {changed} changed tenants",
      {
        verb: options.dryRun ? "would send" : "sent",
        lines: diff.lines.length,
        added: diff.added.length,
        removed: diff.removed.length,
        changed: diff.changed.length,
        globalChanged: diff.globalChanged,
      },
    );
  }
  return result;
}

/** Applies repeatedly and notices when FRR lost the agent's configuration between applies. */
export class FrrApplier {
  #applied = false;
  readonly #vtysh?: Vtysh;

  /** `vtysh` defaults to one built from each input's `config.frr`. */
  constructor(options: { vtysh?: Vtysh } = {}) {
    this.#vtysh = options.vtysh;
  }

  /** Like {@link applyFrrConfig}, with `restartDetected` filled in. */
  async apply(input: FrrInput, options: ApplyOptions = {}): Promise<ApplyResult> {
    const r = await applyFrrConfig(input, { vtysh: this.#vtysh, ...options });
    const hasDesired = input.tenants.length > 0 || input.config.bgp.peers.length > 0;
    const restartDetected = this.#applied && r.agentConfigMissing && hasDesired;
    if (restartDetected) {
      log.warn("frr: agent configuration missing from FRR (restarted?); applied everything", {
        lines: r.linesSent,
      });
    }
    if (!options.dryRun) this.#applied = true;
    return { ...r, restartDetected };
  }
}
