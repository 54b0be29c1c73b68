/**
 * ifinfomsg + IFLA_* encoding/decoding: names, master, link kinds (vrf, dummy,
 * veth) with IFLA_VRF_TABLE.
 * @module
 */
import {
  AF_UNSPEC,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_VRF_TABLE,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  VETH_INFO_PEER,
} from "./constants.ts";
import { attrString, attrU32, parseAttrs } from "./attrs.ts";
import type { NetlinkMessage } from "./message.ts";
import type { EncodeOptions } from "./route.ts";
import type { MessageWriter } from "./writer.ts";

const encoder = new TextEncoder();

/** Kinds of links the agent creates. */
export type LinkKind =
  | { readonly kind: "vrf"; readonly table: number }
  | { readonly kind: "dummy" }
  | { readonly kind: "veth"; readonly peer: string };

function writeIfinfo(w: MessageWriter, index: number, flags: number, change: number): void {
  w.u8(AF_UNSPEC);
  w.u8(0);
  w.u16(0); // ifi_type
  w.i32(index);
  w.u32(flags);
  w.u32(change);
}

/** Options of {@link encodeNewLink}. */
export interface NewLinkOptions extends EncodeOptions {
  /** Bring it up in the same request. */
  up?: boolean;
  /** Master ifindex. */
  master?: number;
}

/**
 * Appends an RTM_NEWLINK that creates `name` of the given kind (NLM_F_CREATE|EXCL),
 * laid out like `ip link add NAME type KIND ...` (IFLA_INFO_KIND without NUL).
 */
export function encodeNewLink(
  w: MessageWriter,
  name: string,
  options: NewLinkOptions & { link: LinkKind },
): void {
  const flags = NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK) | NLM_F_CREATE | NLM_F_EXCL;
  const start = w.beginMessage(RTM_NEWLINK, flags, options);
  writeIfinfo(w, 0, options.up ? IFF_UP : 0, options.up ? IFF_UP : 0);
  w.attrString(IFLA_IFNAME, name);
  if (options.master !== undefined) w.attrU32(IFLA_MASTER, options.master);
  const li = w.beginNested(IFLA_LINKINFO);
  w.attr(IFLA_INFO_KIND, encoder.encode(options.link.kind));
  const link = options.link;
  if (link.kind === "vrf") {
    const data = w.beginNested(IFLA_INFO_DATA);
    w.attrU32(IFLA_VRF_TABLE, link.table);
    w.endNested(data);
  } else if (link.kind === "veth") {
    const data = w.beginNested(IFLA_INFO_DATA);
    const peer = w.beginNested(VETH_INFO_PEER);
    writeIfinfo(w, 0, 0, 0);
    w.attrString(IFLA_IFNAME, link.peer);
    w.endNested(peer);
    w.endNested(data);
  }
  w.endNested(li);
  w.endMessage(start);
}

/** Options of {@link encodeSetLink}. */
export interface SetLinkOptions extends EncodeOptions {
  /** Set admin state up (true) or down (false); omitted leaves it. */
  up?: boolean;
  /** Set the master ifindex (0 to release). */
  master?: number;
  /** Set the MTU. */
  mtu?: number;
}

/** Appends an RTM_NEWLINK that changes an existing link by ifindex (like `ip link set`). */
export function encodeSetLink(w: MessageWriter, index: number, options: SetLinkOptions = {}): void {
  const start = w.beginMessage(
    RTM_NEWLINK,
    NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK),
    options,
  );
  const change = options.up === undefined ? 0 : IFF_UP;
  writeIfinfo(w, index, options.up ? IFF_UP : 0, change);
  if (options.master !== undefined) w.attrU32(IFLA_MASTER, options.master);
  if (options.mtu !== undefined) w.attrU32(IFLA_MTU, options.mtu);
  w.endMessage(start);
}

/** Appends an RTM_DELLINK for an ifindex. */
export function encodeDelLink(w: MessageWriter, index: number, options: EncodeOptions = {}): void {
  const start = w.beginMessage(
    RTM_DELLINK,
    NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK),
    options,
  );
  writeIfinfo(w, index, 0, 0);
  w.endMessage(start);
}

/** Appends an RTM_GETLINK for one link by name (ENODEV when absent), ACKed after the reply. */
export function encodeGetLink(w: MessageWriter, name: string, options: EncodeOptions = {}): void {
  const start = w.beginMessage(
    RTM_GETLINK,
    NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK),
    options,
  );
  writeIfinfo(w, 0, 0, 0);
  w.attrString(IFLA_IFNAME, name);
  w.endMessage(start);
}

/** Appends an RTM_GETLINK dump request. */
export function encodeLinkDump(w: MessageWriter, options: EncodeOptions = {}): void {
  const start = w.beginMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, options);
  writeIfinfo(w, 0, 0, 0);
  w.endMessage(start);
}

/** A decoded link message. */
export interface LinkMessage {
  /** Interface index. */
  readonly index: number;
  /** ifi_flags (IFF_*). */
  readonly flags: number;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** IFLA_IFNAME. */
  readonly name?: string;
  /** IFLA_MASTER ifindex. */
  readonly master?: number;
  /** IFLA_MTU. */
  readonly mtu?: number;
  /** IFLA_INFO_KIND, e.g. `vrf`, `veth`, `dummy`. */
  readonly kind?: string;
  /** IFLA_VRF_TABLE for VRF devices. */
  readonly vrfTable?: number;
}

/** Decodes an RTM_NEWLINK / RTM_DELLINK payload. */
export function decodeLink(message: NetlinkMessage): LinkMessage {
  const p = message.payload;
  if (p.length < IFINFOMSG_LEN) throw new RangeError(`ifinfomsg too short: ${p.length} bytes`);
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const flags = v.getUint32(8, true);
  const attrs = parseAttrs(p, { start: IFINFOMSG_LEN });
  let kind: string | undefined;
  let vrfTable: number | undefined;
  const li = attrs.get(IFLA_LINKINFO);
  if (li) {
    const inner = parseAttrs(li);
    kind = attrString(inner.get(IFLA_INFO_KIND));
    const data = inner.get(IFLA_INFO_DATA);
    if (kind === "vrf" && data) vrfTable = attrU32(parseAttrs(data).get(IFLA_VRF_TABLE));
  }
  return {
    index: v.getInt32(4, true),
    flags,
    up: (flags & IFF_UP) !== 0,
    name: attrString(attrs.get(IFLA_IFNAME)),
    master: attrU32(attrs.get(IFLA_MASTER)),
    mtu: attrU32(attrs.get(IFLA_MTU)),
    kind,
    vrfTable,
  };
}
