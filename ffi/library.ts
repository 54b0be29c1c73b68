/**
 * Loading libmnl and libc, with path overrides and one clear error when nothing loads.
 * @module
 */
import { errnoMessage, errnoName } from "../src/netlink/errno.ts";
import { LIBC_SYMBOLS, LIBMNL_SYMBOLS } from "./symbols.ts";

/** Environment variable that overrides the libmnl path (or `none` to skip libmnl). */
export const LIBMNL_PATH_ENV = "VPNV4_LIBMNL_PATH";
/** Environment variable that overrides the libc path. */
export const LIBC_PATH_ENV = "VPNV4_LIBC_PATH";

/** The loaded libmnl. */
export type Libmnl = Deno.DynamicLibrary<typeof LIBMNL_SYMBOLS>;
/** The loaded libc. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/** The libraries in use: libmnl when available, libc always (errno, poll, setns). */
export interface NativeLibraries {
  /** libmnl, or undefined when absent (the libc socket calls are used instead). */
  readonly mnl?: Libmnl;
  /** libc, always loaded (errno, poll, setns, eventfd; sockets when libmnl is absent). */
  readonly libc: Libc;
  /** Which implementation carries socket I/O. */
  readonly backend: "libmnl" | "libc";
  /** Why libmnl was not used, when it was not. */
  readonly mnlUnavailable?: string;
}

/** Neither libmnl nor libc could be loaded (or FFI is not permitted). */
export class NativeLibraryError extends Error {
  /** The error class name. */
  override name = "NativeLibraryError";
}

/** A failed native call: the call name, errno and its symbolic name. */
export class FfiError extends Error {
  /** The error class name. */
  override name = "FfiError";
  /** Positive errno (0 when unknown). */
  readonly errno: number;
  /** Symbolic errno, e.g. `EPERM`. */
  readonly code: string;
  /** The C function that failed. */
  readonly call: string;

  /** Builds the error for `call` failing with `errno`. */
  constructor(call: string, errno: number, options: { detail?: string } = {}) {
    const code = errnoName(errno);
    super(
      `${call} failed: ${code} (${errnoMessage(errno)})` +
        (options.detail ? ` ${options.detail}` : ""),
    );
    this.errno = errno;
    this.code = code;
    this.call = call;
  }
}

let cached: NativeLibraries | undefined;

function envPath(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads the native libraries once per process. libmnl comes from
 * `VPNV4_LIBMNL_PATH` (or `libmnl.so.0`; `none` disables it), libc from
 * `VPNV4_LIBC_PATH` (or `libc.so.6`). Throws {@link NativeLibraryError} naming both
 * attempts when no socket implementation loads.
 */
export function loadNativeLibraries(): NativeLibraries {
  if (cached) return cached;
  const mnlPath = envPath(LIBMNL_PATH_ENV) ?? "libmnl.so.0";
  const libcPath = envPath(LIBC_PATH_ENV) ?? "libc.so.6";
  let mnl: Libmnl | undefined;
  let mnlUnavailable: string | undefined;
  if (mnlPath === "none") {
    mnlUnavailable = `${LIBMNL_PATH_ENV}=none`;
  } else {
    try {
      mnl = Deno.dlopen(mnlPath, LIBMNL_SYMBOLS);
    } catch (e) {
      mnlUnavailable = `${mnlPath}: ${(e as Error).message}`;
    }
  }
  let libc: Libc;
  try {
    libc = Deno.dlopen(libcPath, LIBC_SYMBOLS);
  } catch (e) {
    mnl?.close();
    throw new NativeLibraryError(
      `cannot load a netlink socket library: libmnl (${mnlUnavailable ?? mnlPath}) and libc (` +
        `${libcPath}: ${(e as Error).message}); install libmnl0 or set ${LIBMNL_PATH_ENV} / ` +
        `${LIBC_PATH_ENV}, and run with --allow-ffi`,
      { cause: e },
    );
  }
  cached = { mnl, libc, backend: mnl ? "libmnl" : "libc", mnlUnavailable };
  return cached;
}

/** Reads the calling thread's errno (call right after the failed synchronous call). */
export function lastErrno(libs: NativeLibraries): number {
  const p = libs.libc.symbols.__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/**
 * Turns a C return code into a value or an {@link FfiError}: negative results (and
 * null pointers) read errno and throw. This is the one place errno becomes an error;
 * `detail` (e.g. the path) is appended to the message.
 */
export function check<T extends number | bigint | Deno.PointerValue>(
  call: string,
  result: T,
  options: { detail?: string } = {},
): T {
  const failed = result === null || (typeof result === "number" && result < 0) ||
    (typeof result === "bigint" && result < 0n);
  if (failed) throw new FfiError(call, lastErrno(loadNativeLibraries()), options);
  return result;
}
