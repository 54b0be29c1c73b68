/**
 * Checks that the Debian packages the lab needs are installed, and names the exact
 * `apt-get install` line for what is missing.
 * @module
 */

/** One requirement: a file that a Debian package ships. */
interface Requirement {
  /** Debian package that provides `paths`. */
  pkg: string;
  /** Any one of these paths (globs not supported; alternatives allowed) satisfies it. */
  paths: string[];
  /** Needed only when the lab runs in the QEMU guest. */
  guestOnly?: boolean;
}

const REQUIREMENTS: Requirement[] = [
  { pkg: "frr", paths: ["/usr/lib/frr/zebra"] },
  { pkg: "frr", paths: ["/usr/lib/frr/bgpd"] },
  { pkg: "frr", paths: ["/usr/lib/frr/staticd"] },
  { pkg: "frr", paths: ["/usr/bin/vtysh"] },
  { pkg: "gobgpd", paths: ["/usr/bin/gobgpd", "/usr/sbin/gobgpd"] },
  { pkg: "gobgpd", paths: ["/usr/bin/gobgp"] },
  { pkg: "ovn-central", paths: ["/usr/share/ovn/ovn-nb.ovsschema"] },
  { pkg: "ovn-central", paths: ["/usr/bin/ovn-nbctl"] },
  { pkg: "openvswitch-common", paths: ["/usr/sbin/ovsdb-server", "/usr/bin/ovsdb-server"] },
  { pkg: "openvswitch-common", paths: ["/usr/bin/ovsdb-tool"] },
  { pkg: "openvswitch-common", paths: ["/usr/bin/ovsdb-client"] },
  { pkg: "iproute2", paths: ["/usr/bin/ip", "/usr/sbin/ip", "/bin/ip", "/sbin/ip"] },
  {
    pkg: "libmnl0",
    paths: ["/usr/lib/x86_64-linux-gnu/libmnl.so.0", "/lib/x86_64-linux-gnu/libmnl.so.0"],
  },
  { pkg: "qemu-system-x86", paths: ["/usr/bin/qemu-system-x86_64"], guestOnly: true },
  { pkg: "busybox-static", paths: ["/bin/busybox", "/usr/bin/busybox"], guestOnly: true },
];

/** Every package the lab can need, in install-line order. */
export const LAB_PACKAGES: readonly string[] = [
  "frr",
  "gobgpd",
  "ovn-central",
  "openvswitch-common",
  "qemu-system-x86",
  "linux-image-amd64",
  "busybox-static",
  "libmnl0",
  "iproute2",
];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function hasGuestKernel(): Promise<boolean> {
  try {
    for await (const e of Deno.readDir("/boot")) {
      const m = /^vmlinuz-(.+)$/.exec(e.name);
      if (m && await exists(`/lib/modules/${m[1]}/modules.dep`)) return true;
    }
  } catch {
    // no /boot
  }
  return false;
}

/** Missing Debian packages (deduplicated, in {@link LAB_PACKAGES} order). */
export async function missingPackages(options: { guest: boolean }): Promise<string[]> {
  const missing = new Set<string>();
  for (const r of REQUIREMENTS) {
    if (r.guestOnly && !options.guest) continue;
    let found = false;
    for (const p of r.paths) {
      if (await exists(p)) {
        found = true;
        break;
      }
    }
    if (!found) missing.add(r.pkg);
  }
  if (options.guest && !(await hasGuestKernel())) missing.add("linux-image-amd64");
  return LAB_PACKAGES.filter((p) => missing.has(p));
}

/** The exact command that installs `packages`. */
export function installLine(packages: readonly string[]): string {
  return `apt-get install -y ${packages.join(" ")}`;
}
