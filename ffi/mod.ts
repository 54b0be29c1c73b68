/**
 * `Deno.dlopen` bindings for netlink: libmnl (`libmnl.so.0`) with libc (`libc.so.6`)
 * as the fallback, sysctl reads and the capability probe through libc, `VPNV4_LIBMNL_PATH` / `VPNV4_LIBC_PATH` overrides, and errno-aware
 * errors.
 * @module
 */
export { LIBC_SYMBOLS, LIBMNL_SYMBOLS } from "./symbols.ts";
export {
  check,
  FfiError,
  lastErrno,
  type Libc,
  LIBC_PATH_ENV,
  type Libmnl,
  LIBMNL_PATH_ENV,
  loadNativeLibraries,
  type NativeLibraries,
  NativeLibraryError,
} from "./library.ts";
export { NetlinkSocket, type OpenSocketOptions, withNetns } from "./socket.ts";
export { readKernelFile, type ReadKernelFileOptions } from "./file.ts";
export { trimMallocHeap } from "./memory.ts";
export {
  CAP_NET_ADMIN,
  type CapabilitySets,
  hasCapability,
  processCapabilities,
} from "./capabilities.ts";
