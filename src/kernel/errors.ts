/**
 * Typed errors of the kernel plane.
 * @module
 */

/** The running kernel lacks a feature the agent needs (names the CONFIG_ option). */
export class KernelUnsupportedError extends Error {
  /** The error class name. */
  override name = "KernelUnsupportedError";
  /** The kernel config option that is missing, e.g. `CONFIG_NET_VRF`. */
  readonly config: string;

  /** Builds the error for a missing kernel option. */
  constructor(config: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.config = config;
  }
}

/** A link with the VRF's name exists but is not that VRF (other kind or other table). */
export class VrfConflictError extends Error {
  /** The error class name. */
  override name = "VrfConflictError";
}

/** The process lacks a Linux capability the agent needs (CAP_NET_ADMIN). */
export class MissingCapabilityError extends Error {
  /** The error class name. */
  override name = "MissingCapabilityError";
}

/** `kernel.mpls: require` but MPLS forwarding is not usable. */
export class MplsUnavailableError extends Error {
  /** The error class name. */
  override name = "MplsUnavailableError";
}
