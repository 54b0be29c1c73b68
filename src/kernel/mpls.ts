/**
 * MPLS readiness: /proc/sys/net/mpls and net.mpls.platform_labels, judged by the
 * `kernel.mpls` setting. The sysctl is read through libc over FFI (`ffi/file.ts`): Deno refuses
 * its own file APIs under /proc to anything short of `--allow-all`, and the product runs with
 * narrow permissions.
 * @module
 */
import { FfiError, readKernelFile } from "../../ffi/mod.ts";
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
  /**
   * Network namespace whose sysctls are read (name under /run/netns or a path); default the
   * agent's own. net.mpls.platform_labels is per namespace (0 in a fresh one).
   */
  netns?: string;
}

/**
 * Checks MPLS readiness. `require` throws {@link MplsUnavailableError} with the fix;
 * `auto` logs a warning and returns (control-plane-only); `off` checks nothing.
 */
export function checkMpls(
  mode: MplsMode,
  options: CheckMplsOptions = {},
): Promise<MplsStatus> {
  return Promise.resolve().then(() => check(mode, options));
}

function check(mode: MplsMode, options: CheckMplsOptions): MplsStatus {
  if (mode === "off") return { mode, ready: false, reason: "kernel.mpls is off" };
  const dir = `${options.sysctlNetDir ?? "/proc/sys/net"}/mpls`;
  let platformLabels: number | undefined;
  let reason: string | undefined;
  try {
    const text = readKernelFile(`${dir}/platform_labels`, { netns: options.netns });
    platformLabels = Number.parseInt(text.trim(), 10);
    if (!(platformLabels > 0)) {
      reason = `net.mpls.platform_labels is ${text.trim()}; set it above the highest label ` +
        `(e.g. sysctl -w net.mpls.platform_labels=1048575)`;
    }
  } catch (e) {
    reason = e instanceof FfiError && e.code === "ENOENT" && e.call === "open" &&
        e.message.includes(dir)
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
