/**
 * The process's Linux capabilities through libc `capget` (Deno cannot read /proc/self/status
 * under the product permissions). Used to say "needs CAP_NET_ADMIN" up front instead of a
 * stream of EPERM from rtnetlink.
 * @module
 */
import { check, loadNativeLibraries } from "./library.ts";

/** CAP_NET_ADMIN: VRF devices, routes, rules, MPLS (linux/capability.h). */
export const CAP_NET_ADMIN = 12;

const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** The three capability sets of a process, as bit masks (bit N = capability N). */
export interface CapabilitySets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** The calling process's capability sets (`capget(2)`, version 3, 64 bits). */
export function processCapabilities(): CapabilitySets {
  const c = loadNativeLibraries().libc.symbols;
  // struct __user_cap_header_struct { __u32 version; int pid; }
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  // struct __user_cap_data_struct { __u32 effective, permitted, inheritable; } [2]
  const data = new Uint8Array(24);
  check("capget", c.capget(header, data));
  const v = new DataView(data.buffer);
  const set = (offset: number) =>
    BigInt(v.getUint32(offset, true)) | (BigInt(v.getUint32(12 + offset, true)) << 32n);
  return { effective: set(0), permitted: set(4), inheritable: set(8) };
}

/** Whether capability `cap` (e.g. {@link CAP_NET_ADMIN}) is in the effective set. */
export function hasCapability(cap: number): boolean {
  return (processCapabilities().effective & (1n << BigInt(cap))) !== 0n;
}
