/**
 * Builds (and caches) the busybox initramfs that mounts the host root over 9p
 * with a tmpfs overlay and hands over to the job's stage-2 script.
 * @module
 */
import { type GuestKernel, INITRAMFS_MODULES, resolveModules } from "./kernel.ts";

/** Bump when the initramfs layout or init script changes; part of the cache key. */
export const BUILDER_VERSION = 4;

/** Default cache directory of built initramfs images. */
export const DEFAULT_CACHE_DIR = "/var/tmp/vpnv4-guest";

/** 9p mount tag of the read-only host root. */
export const HOSTROOT_TAG = "hostroot";
/** 9p mount tag of the writable per-job directory. */
export const JOB_TAG = "vpnv4job";
/** Where the job directory is mounted inside the guest. */
export const GUEST_JOB_DIR = "/run/vpnv4-job";

const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /newroot /lower /rw
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "vpnv4-guest-init: $*" >/dev/console; echo o > /proc/sysrq-trigger; sleep 5; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /modules.order); do insmod "/modules/$m.ko" || fail "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose ${HOSTROOT_TAG} /lower || fail "mount hostroot"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "mount tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "mount overlay"
mount -t tmpfs -o mode=0755 tmpfs /newroot/run || fail "mount /run"
mkdir -p /newroot${GUEST_JOB_DIR}
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 ${JOB_TAG} /newroot${GUEST_JOB_DIR} || fail "mount job"
umount /dev 2>/dev/null; umount /sys; umount /proc
exec switch_root /newroot /bin/bash ${GUEST_JOB_DIR}/stage2.sh
fail "switch_root failed"
`;

/** Minimal cpio "newc" writer. */
class CpioWriter {
  #chunks: Uint8Array[] = [];
  #ino = 1;
  #enc = new TextEncoder();

  add(name: string, mode: number, data: Uint8Array = new Uint8Array(), rdev?: [number, number]) {
    const nameBytes = this.#enc.encode(name + "\0");
    const f = (n: number) => n.toString(16).padStart(8, "0");
    const header = "070701" + f(this.#ino++) + f(mode) + f(0) + f(0) + f(1) + f(0) +
      f(data.length) + f(0) + f(0) + f(rdev?.[0] ?? 0) + f(rdev?.[1] ?? 0) +
      f(nameBytes.length) + f(0);
    this.#push(this.#enc.encode(header));
    this.#push(nameBytes, 110 + nameBytes.length);
    this.#push(data, data.length);
  }

  #push(bytes: Uint8Array, padFrom?: number) {
    this.#chunks.push(bytes);
    if (padFrom !== undefined) {
      const pad = (4 - (padFrom % 4)) % 4;
      if (pad) this.#chunks.push(new Uint8Array(pad));
    }
  }

  finish(): Uint8Array {
    this.add("TRAILER!!!", 0);
    const total = this.#chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total + ((512 - (total % 512)) % 512));
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

const DIR = 0o040755;
const FILE = 0o100755;
const CHR = 0o020600;

/**
 * Returns the path of the cached initramfs for `kernel`, building it when missing.
 * The cache key is the kernel version plus {@link BUILDER_VERSION}; writes are atomic.
 */
export async function ensureInitramfs(
  kernel: GuestKernel,
  options: { cacheDir?: string; busybox?: string } = {},
): Promise<string> {
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const path = `${cacheDir}/initramfs-${kernel.version}-b${BUILDER_VERSION}.cpio`;
  try {
    await Deno.stat(path);
    return path;
  } catch {
    // build below
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  const busybox = options.busybox ?? "/bin/busybox";
  const modules = await resolveModules(kernel, INITRAMFS_MODULES);
  const cpio = new CpioWriter();
  for (const d of ["bin", "dev", "proc", "sys", "newroot", "lower", "rw", "modules"]) {
    cpio.add(d, DIR);
  }
  cpio.add("dev/console", CHR, undefined, [5, 1]);
  cpio.add("dev/null", 0o020666, undefined, [1, 3]);
  cpio.add("bin/busybox", FILE, await Deno.readFile(busybox));
  cpio.add("bin/sh", 0o120777, new TextEncoder().encode("busybox"));
  cpio.add("init", FILE, new TextEncoder().encode(INIT_SCRIPT));
  cpio.add("modules.order", 0o100644, new TextEncoder().encode(INITRAMFS_MODULES.join("\n")));
  for (const [i, file] of modules.entries()) {
    cpio.add(`modules/${INITRAMFS_MODULES[i]}.ko`, 0o100644, await Deno.readFile(file));
  }
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(tmp, cpio.finish());
  await Deno.rename(tmp, path);
  return path;
}
