/**
 * Giving freed heap memory back to the system: glibc's `malloc_trim` through libc.
 *
 * Deno allocates ArrayBuffers and its own buffers (socket reads, netlink dumps, child process
 * output) with malloc. glibc keeps what is freed in its arenas for reuse, so after a burst
 * (the initial sync of 100,000 routes, a running-config read) the process keeps tens of MB it
 * no longer uses. `malloc_trim(0)` returns the free pages of every arena.
 * @module
 */
import { loadNativeLibraries } from "./library.ts";

/**
 * Returns free malloc memory to the system. Returns whether anything was returned;
 * undefined when the C library has no `malloc_trim` (not glibc) or cannot be loaded.
 */
export function trimMallocHeap(): boolean | undefined {
  let trim;
  try {
    trim = loadNativeLibraries().libc.symbols.malloc_trim;
  } catch {
    return undefined;
  }
  if (trim === null) return undefined;
  return trim(0n) === 1;
}
