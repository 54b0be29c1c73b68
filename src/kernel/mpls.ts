/**
 * MPLS readiness: /proc/sys/net/mpls and net.mpls.platform_labels, judged by the
 * `kernel.mpls` setting.
 * @module
 */
import { getLogger } from "../log/mod.ts";
import { MplsUnavailableError } from "./errors.ts";

/** The `kernel.mpls` setting. */
export type MplsMode = "require" | "auto" | "off";

/** What was found. */
export interface MplsStatus {
  /** The setting that was applied. */
  readonly mode: MplsMode;
  /** True when MPLS forwarding can be used (module present and labels > 0). */
  readonly ready: boolean;
  /** net.mpls.platform_labels, when readable. */
  readonly platformLabels?: number;
  /** Why it is not ready. */
  readonly reason?: string;
}

/** Options of {@link checkMpls}. */
export interface CheckMplsOptions {
  /** Directory holding the `mpls` sysctl folder; default `/proc/sys/net`. */
  sysctlNetDir?: string;
}

/**
 * Checks MPLS readiness. `require` throws {@link MplsUnavailableError} with the fix;
 * `auto` logs a warning and returns (control-plane-only); `off` checks nothing.
 */
export async function checkMpls(
  mode: MplsMode,
  options: CheckMplsOptions = {},
): Promise<MplsStatus> {
  if (mode === "off") return { mode, ready: false, reason: "kernel.mpls is off" };
  const dir = `${options.sysctlNetDir ?? "/proc/sys/net"}/mpls`;
  let platformLabels: number | undefined;
  let reason: string | undefined;
  try {
    const text = await Deno.readTextFile(`${dir}/platform_labels`);
    platformLabels = Number.parseInt(text.trim(), 10);
    if (!(platformLabels > 0)) {
      reason = `net.mpls.platform_labels is ${text.trim()}; set it above the highest label ` +
        `(e.g. sysctl -w net.mpls.platform_labels=1048575)`;
    }
  } catch (e) {
    reason = e instanceof Deno.errors.NotFound
      ? `${dir} does not exist: the kernel has no MPLS forwarding ` +
        `(CONFIG_MPLS_ROUTING; load it with modprobe mpls_router mpls_iptunnel)`
      : `cannot read ${dir}/platform_labels: ${(e as Error).message}`;
  }
  const status: MplsStatus = { mode, ready: reason === undefined, platformLabels, reason };
  if (!status.ready) {
    if (mode === "require") {
      throw new MplsUnavailableError(`kernel.mpls is require but MPLS is not ready: ${reason}`);
    }
    getLogger("kernel").warn(
      "MPLS not ready; continuing control-plane-only: {reason}",
      { reason },
    );
  }
  return status;
}
