/**
 * The FRR plane of the reconcile loop: one diff-based `vtysh -f` batch per reconcile. Removed
 * tenants disappear from the rendered state, so their agent-owned blocks are removed by the diff.
 *
 * - Full rounds (startup, periodic resync, after errors) read FRR's running-config and compare
 *   everything (repairs drift).
 * - Source changes compare only the tenants that changed with what FRR is known to hold (no
 *   read): their cost does not grow with the number of unchanged tenants.
 * - Other rounds (the periodic `frr_check_s` check, retries), and a source change when the
 *   last check is older than `frr_check_s`, first check bgpd's pid and resync fully when FRR
 *   was restarted.
 */
import { getLogger } from "../log/mod.ts";
import { FrrApplier, type Vtysh } from "../frr/mod.ts";
import type { Desired, Plane, PlaneOutcome, ReconcileRequest } from "./plane.ts";

const log = getLogger("agent", "frr");

/** Drives FRR for the reconcile loop. */
export class FrrPlaneAdapter implements Plane {
  readonly name = "frr" as const;
  readonly #applier: FrrApplier;
  #reachable = true;
  /** When bgpd's pid was last checked (ms since the epoch). */
  #lastVerify = 0;
  #lastError?: string;

  constructor(options: { vtysh?: Vtysh } = {}) {
    this.#applier = new FrrApplier({ vtysh: options.vtysh });
  }

  health(): { usable: boolean; warnings: string[] } {
    return {
      usable: this.#reachable,
      warnings: this.#lastError ? [`last FRR error: ${this.#lastError}`] : [],
    };
  }

  async reconcile(desired: Desired, request: ReconcileRequest): Promise<PlaneOutcome> {
    // The restart check runs in rounds without source changes (the frr_check_s timer), and at
    // least every frr_check_s during sustained churn, when every round has changes.
    const now = Date.now();
    const verify = (request.changed?.size ?? 0) === 0 ||
      now - this.#lastVerify >= desired.config.reconcile.frr_check_s * 1000;
    if (verify || request.full) this.#lastVerify = now;
    try {
      const r = await this.#applier.apply(
        { config: desired.config, tenants: [...desired.tenants.values()] },
        { full: request.full, verify },
      );
      this.#reachable = true;
      this.#lastError = undefined;
      if (r.restartDetected) log.warn("FRR lost the agent configuration (restart?): re-applied");
      return {
        tenantErrors: new Map(),
        counts: {
          lines_sent: r.linesSent,
          tenants_added: r.added.length,
          tenants_removed: r.removed.length,
          tenants_changed: r.changed.length,
          restarts_detected: r.restartDetected ? 1 : 0,
          running_config_reads: r.source === "running-config" ? 1 : 0,
        },
      };
    } catch (e) {
      this.#lastError = (e as Error).message;
      if ((e as Error).name === "VtyshError" || (e as Error).name === "VtyshTimeoutError") {
        this.#reachable = false;
      }
      throw e;
    }
  }

  async withdrawAll(desired: Desired): Promise<void> {
    await this.#applier.apply({
      config: { ...desired.config, bgp: { ...desired.config.bgp, peers: [] } },
      tenants: [],
    }, { full: true });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
