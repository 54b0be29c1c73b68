/**
 * The kernel side of expose method `dummy` (upstream's bgp-nic): a dummy device enslaved to
 * the expose VRF that holds every exposed host IP as a /32 or /128 address, so FRR's
 * `redistribute connected` in the VRF instance advertises them. Everything goes through the
 * netlink codec and the kernel plane's transport; the device is the agent's own (every
 * address on it but IPv6 link-local ones is managed).
 * @module
 */
import { formatPrefix, type IpPrefix } from "../net/mod.ts";
import {
  AF_INET,
  AF_INET6,
  decodeAddr,
  encodeAddr,
  encodeAddrDump,
  encodeNewLink,
  encodeSetLink,
  Errno,
  NetlinkError,
  RTM_NEWADDR,
} from "../netlink/mod.ts";
import { type KernelPlane, KernelUnsupportedError, VrfConflictError } from "../kernel/mod.ts";

/** The dummy device as it is after {@link ensureNic}. */
export interface NicState {
  readonly name: string;
  readonly index: number;
  readonly created: boolean;
}

/**
 * Creates dummy device `name` enslaved to the VRF with ifindex `vrfIndex` and up, or brings
 * an existing one there. A link of that name that is not a dummy raises
 * {@link VrfConflictError} and is left alone; a kernel without dummy support raises
 * {@link KernelUnsupportedError} naming CONFIG_DUMMY.
 */
export async function ensureNic(
  kernel: KernelPlane,
  name: string,
  vrfIndex: number,
): Promise<NicState> {
  let link = await kernel.getLink(name);
  let created = false;
  if (!link) {
    try {
      await kernel.transport.request(
        (w, h) => encodeNewLink(w, name, { ...h, link: { kind: "dummy" } }),
        { operation: `create dummy ${name}` },
      );
      created = true;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === Errno.EOPNOTSUPP) {
        throw new KernelUnsupportedError(
          "CONFIG_DUMMY",
          `cannot create dummy device ${name}: this kernel has no dummy support ` +
            `(CONFIG_DUMMY; the kernel said: ${e.extack ?? e.code}). ` +
            `Load it with modprobe dummy, or use expose.method table or network.`,
          { cause: e },
        );
      }
      if (!(e instanceof NetlinkError && e.errno === Errno.EEXIST)) throw e;
    }
    link = await kernel.getLink(name);
    if (!link) throw new Error(`dummy ${name}: created but not found`);
  }
  if (link.kind !== "dummy") {
    throw new VrfConflictError(
      `link ${name} exists and is ${link.kind ? `a ${link.kind}` : "not a dummy"}; not touching it`,
    );
  }
  const index = link.index;
  if (link.master !== vrfIndex || !link.up) {
    await kernel.transport.request(
      (w, h) => encodeSetLink(w, index, { ...h, master: vrfIndex, up: true }),
      { operation: `enslave ${name} to ifindex ${vrfIndex} and set it up` },
    );
  }
  return { name, index, created };
}

/** What {@link syncNicAddresses} changed. */
export interface NicSyncResult {
  readonly added: number;
  readonly removed: number;
  readonly kept: number;
}

function isLinkLocal6(p: IpPrefix): boolean {
  return p.family === 6 && p.bytes[0] === 0xfe && (p.bytes[1] & 0xc0) === 0x80;
}

/** The addresses on ifindex `index` (IPv6 link-local ones left out). */
export async function nicAddresses(kernel: KernelPlane, index: number): Promise<IpPrefix[]> {
  return await kernel.transport.dump((w, h) => encodeAddrDump(w, h), {
    operation: `dump addresses of ifindex ${index}`,
    decode: (m) => {
      if (m.type !== RTM_NEWADDR) return undefined;
      const family = m.payload[0];
      if (family !== AF_INET && family !== AF_INET6) return undefined;
      const a = decodeAddr(m);
      const addr = a.local ?? a.address;
      if (a.index !== index || !addr) return undefined;
      const p: IpPrefix = { family: addr.family, bytes: addr.bytes, length: a.prefixLength };
      return isLinkLocal6(p) ? undefined : p;
    },
  });
}

/**
 * Makes the addresses on ifindex `index` exactly `hosts` (each a /32 or /128): adds the
 * missing ones, removes any other (non link-local) address.
 */
export async function syncNicAddresses(
  kernel: KernelPlane,
  index: number,
  hosts: readonly IpPrefix[],
): Promise<NicSyncResult> {
  const want = new Map<string, IpPrefix>();
  for (const h of hosts) {
    if (h.length !== (h.family === 4 ? 32 : 128)) {
      throw new RangeError(`${formatPrefix(h)} is not a host address`);
    }
    want.set(formatPrefix(h), h);
  }
  const have = new Map((await nicAddresses(kernel, index)).map((p) => [formatPrefix(p), p]));
  let added = 0, removed = 0;
  for (const [text, p] of have) {
    if (want.has(text)) continue;
    try {
      await kernel.transport.request(
        (w, h) => encodeAddr(w, index, { ...h, address: p, delete: true }),
        { operation: `delete address ${text} from ifindex ${index}` },
      );
      removed++;
    } catch (e) {
      // Gone meanwhile (EADDRNOTAVAIL = 99).
      if (!(e instanceof NetlinkError && e.errno === 99)) throw e;
    }
  }
  for (const [text, p] of want) {
    if (have.has(text)) continue;
    try {
      await kernel.transport.request((w, h) => encodeAddr(w, index, { ...h, address: p }), {
        operation: `add address ${text} to ifindex ${index}`,
      });
      added++;
    } catch (e) {
      if (!(e instanceof NetlinkError && e.errno === Errno.EEXIST)) throw e;
    }
  }
  return { added, removed, kept: want.size - added };
}
