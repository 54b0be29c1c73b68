/**
 * Locates a guest kernel (Debian's, under /boot) and its module files.
 * @module
 */

/** Modules the initramfs loads with `insmod`, in dependency order (see docs/lab-notes). */
export const INITRAMFS_MODULES: readonly string[] = [
  "virtio_ring",
  "virtio",
  "virtio_pci_modern_dev",
  "virtio_pci_legacy_dev",
  "virtio_pci",
  "netfs",
  "fscache",
  "9pnet",
  "9pnet_virtio",
  "9p",
  "overlay",
];

/** A kernel image together with its module tree. */
export interface GuestKernel {
  /** `uname -r` of the kernel, e.g. `6.1.0-56-amd64`. */
  version: string;
  /** Path of the bzImage, e.g. `/boot/vmlinuz-6.1.0-56-amd64`. */
  image: string;
  /** `/lib/modules/<version>`. */
  modulesDir: string;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.localeCompare(b);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the newest `/boot/vmlinuz-*` whose `/lib/modules/<version>/modules.dep` exists.
 * Returns `undefined` when there is none.
 */
export async function findGuestKernel(
  options: { bootDir?: string; modulesRoot?: string } = {},
): Promise<GuestKernel | undefined> {
  const bootDir = options.bootDir ?? "/boot";
  const modulesRoot = options.modulesRoot ?? "/lib/modules";
  const versions: string[] = [];
  try {
    for await (const e of Deno.readDir(bootDir)) {
      if (e.name.startsWith("vmlinuz-")) versions.push(e.name.slice("vmlinuz-".length));
    }
  } catch {
    return undefined;
  }
  versions.sort(compareVersions).reverse();
  for (const version of versions) {
    const modulesDir = `${modulesRoot}/${version}`;
    if (await exists(`${modulesDir}/modules.dep`)) {
      return { version, image: `${bootDir}/vmlinuz-${version}`, modulesDir };
    }
  }
  return undefined;
}

/**
 * Resolves module names to absolute `.ko` paths from `modules.dep`
 * (names compare with `-` and `_` as equal, like modprobe). Throws naming the missing module.
 */
export async function resolveModules(
  kernel: GuestKernel,
  names: readonly string[],
): Promise<string[]> {
  const dep = await Deno.readTextFile(`${kernel.modulesDir}/modules.dep`);
  const byName = new Map<string, string>();
  for (const line of dep.split("\n")) {
    const file = line.split(":", 1)[0];
    if (!file) continue;
    const base = file.slice(file.lastIndexOf("/") + 1).replace(/\.ko(\.[a-z]+)?$/, "");
    byName.set(base.replaceAll("-", "_"), `${kernel.modulesDir}/${file}`);
  }
  return names.map((name) => {
    const path = byName.get(name.replaceAll("-", "_"));
    if (!path) {
      throw new Error(`kernel ${kernel.version}: module ${name} not found in modules.dep`);
    }
    if (!path.endsWith(".ko")) {
      throw new Error(`kernel ${kernel.version}: module ${name} is compressed (${path})`);
    }
    return path;
  });
}
