/**
 * Reading small kernel files (sysctls under /proc/sys) through libc `open`/`read`/`close`.
 *
 * Deno refuses every file API under /proc, /sys and /dev unless the process has `--allow-all`,
 * whatever `--allow-read` says; the product runs with narrow flags (scripts/permissions.ts), so
 * sysctls are read here, over FFI, instead of with `Deno.readTextFile`. Failures are
 * {@link FfiError}s carrying errno (`ENOENT` when the sysctl does not exist).
 * @module
 */
import { check, loadNativeLibraries } from "./library.ts";
import { withNetns } from "./socket.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0x80000;

/** Options of {@link readKernelFile}. */
export interface ReadKernelFileOptions {
  /**
   * Network namespace (name under /run/netns or a path) to open the file in: /proc/sys/net
   * shows the namespace of the thread that opens it.
   */
  netns?: string;
  /** Upper bound on the bytes read (default 64 KiB; sysctl files are tiny). */
  maxBytes?: number;
}

function cString(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * Reads a file with libc (synchronously) and decodes it as UTF-8. Throws {@link FfiError}
 * from `check` (`call` is `open` or `read`, `code` the errno name, the message names the path).
 */
export function readKernelFile(path: string, options: ReadKernelFileOptions = {}): string {
  const c = loadNativeLibraries().libc.symbols;
  const open = () => check("open", c.open(cString(path), O_RDONLY | O_CLOEXEC), { detail: path });
  const fd = options.netns ? withNetns(options.netns, open) : open();
  const limit = options.maxBytes ?? 64 * 1024;
  const buf = new Uint8Array(limit);
  let total = 0;
  try {
    while (total < limit) {
      const room = buf.subarray(total);
      const n = Number(check("read", c.read(fd, room, BigInt(room.length)), { detail: path }));
      if (n === 0) break;
      total += n;
    }
  } finally {
    c.close(fd);
  }
  return new TextDecoder().decode(buf.subarray(0, total));
}
