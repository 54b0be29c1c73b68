/**
 * rtmsg + RTA_* encoding and decoding: IPv4/IPv6 routes (unicast, blackhole,
 * unreachable, prohibit), gateways, RTA_VIA, MPLS encapsulation, and AF_MPLS label
 * routes with RTA_NEWDST.
 * @module
 */
import type { Family, IpAddress, IpPrefix } from "../net/mod.ts";
import {
  AF_INET,
  AF_INET6,
  AF_MPLS,
  LWTUNNEL_ENCAP_MPLS,
  MPLS_IPTUNNEL_DST,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_UNSPEC,
  RTA_DST,
  RTA_ENCAP,
  RTA_ENCAP_TYPE,
  RTA_GATEWAY,
  RTA_NEWDST,
  RTA_OIF,
  RTA_PRIORITY,
  RTA_TABLE,
  RTA_VIA,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTMSG_LEN,
  RTN_ANYCAST,
  RTN_BLACKHOLE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_PROHIBIT,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTN_UNSPEC,
} from "./constants.ts";
import { attrU16, attrU32, NLA_F_NESTED, parseAttrs } from "./attrs.ts";
import type { NetlinkMessage } from "./message.ts";
import type { MessageWriter } from "./writer.ts";

/** Route types the codec names. */
export type RouteType =
  | "unicast"
  | "local"
  | "broadcast"
  | "anycast"
  | "multicast"
  | "blackhole"
  | "unreachable"
  | "prohibit";

const TYPE_TO_RTN: Record<RouteType, number> = {
  unicast: RTN_UNICAST,
  local: RTN_LOCAL,
  broadcast: RTN_BROADCAST,
  anycast: RTN_ANYCAST,
  multicast: RTN_MULTICAST,
  blackhole: RTN_BLACKHOLE,
  unreachable: RTN_UNREACHABLE,
  prohibit: RTN_PROHIBIT,
};
const RTN_TO_TYPE: Record<number, RouteType> = Object.fromEntries(
  Object.entries(TYPE_TO_RTN).map(([k, v]) => [v, k as RouteType]),
);

/** Converts a route type name to its RTN_* value. */
export function routeTypeValue(type: RouteType): number {
  return TYPE_TO_RTN[type];
}

/** An IPv4/IPv6 route to add, replace or delete. */
export interface RouteSpec {
  /** Destination prefix (decides the family). */
  readonly dst: IpPrefix;
  /** Table id (any u32; ids above 255 go in RTA_TABLE). */
  readonly table: number;
  /** Route type; default `unicast`. For deletes, omitted means "any type". */
  readonly type?: RouteType;
  /** rtm_protocol; omitted on deletes means "any protocol". */
  readonly protocol?: number;
  /** rtm_scope; default universe (nowhere on deletes). */
  readonly scope?: number;
  /** RTA_PRIORITY (metric). */
  readonly priority?: number;
  /** RTA_OIF: output interface index. */
  readonly oif?: number;
  /** RTA_GATEWAY: next hop of the same family. */
  readonly gateway?: IpAddress;
  /** RTA_VIA: next hop of another family (e.g. IPv4 route via IPv6). */
  readonly via?: IpAddress;
  /** MPLS label stack to push (RTA_ENCAP_TYPE=MPLS, RTA_ENCAP/MPLS_IPTUNNEL_DST). */
  readonly mplsEncap?: readonly number[];
}

/** An AF_MPLS label route (incoming label → swap/pop, out via a next hop). */
export interface MplsRouteSpec {
  /** Incoming label. */
  readonly label: number;
  /** Labels to swap in (RTA_NEWDST); empty or omitted pops. */
  readonly newdst?: readonly number[];
  /** Next hop (RTA_VIA). */
  readonly via?: IpAddress;
  /** Output interface index. */
  readonly oif?: number;
  /** rtm_protocol. */
  readonly protocol?: number;
}

/** Operation for {@link encodeRoute}. */
export type RouteOp = "add" | "replace" | "delete";

/** Header options for encoders. */
export interface EncodeOptions {
  /** Sequence number (the transport fills it). */
  seq?: number;
  /** Port id (0 = kernel fills). */
  pid?: number;
  /** Ask for an ACK on success (default true). Errors are always reported. */
  ack?: boolean;
}

/** Options of {@link encodeRoute}. */
export interface EncodeRouteOptions extends EncodeOptions {
  /** add (create, exclusive: EEXIST when present), replace, or delete. Default add. */
  op?: RouteOp;
}

function familyValue(f: Family): number {
  return f === 4 ? AF_INET : AF_INET6;
}

/** Encodes one MPLS label stack entry list (big-endian, bottom-of-stack on the last). */
export function encodeLabels(labels: readonly number[]): Uint8Array {
  const out = new Uint8Array(labels.length * 4);
  const v = new DataView(out.buffer);
  labels.forEach((l, i) => {
    v.setUint32(i * 4, ((l << 12) | (i === labels.length - 1 ? 0x100 : 0)) >>> 0, false);
  });
  return out;
}

/** Decodes an MPLS label stack. */
export function decodeLabels(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(v.getUint32(i, false) >>> 12);
  return out;
}

function writeVia(w: MessageWriter, via: IpAddress): void {
  // struct rtvia { __kernel_sa_family_t rtvia_family; __u8 rtvia_addr[]; }
  const payload = new Uint8Array(2 + via.bytes.length);
  payload[0] = familyValue(via.family);
  payload.set(via.bytes, 2);
  w.attr(RTA_VIA, payload);
}

/**
 * Appends an RTM_NEWROUTE / RTM_DELROUTE message for an IPv4/IPv6 route, laid out
 * as iproute2 lays it out for `ip route add TYPE DST table T proto P metric M encap mpls
 * L via GW dev D`: rtm_table holds ids below 256, RTA_TABLE the others.
 */
export function encodeRoute(
  w: MessageWriter,
  route: RouteSpec,
  options: EncodeRouteOptions = {},
): void {
  const op = options.op ?? "add";
  const del = op === "delete";
  let flags = NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK);
  if (op === "add") flags |= NLM_F_CREATE | NLM_F_EXCL;
  else if (op === "replace") flags |= NLM_F_CREATE | NLM_F_REPLACE;
  const start = w.beginMessage(del ? RTM_DELROUTE : RTM_NEWROUTE, flags, options);
  const dst = route.dst;
  const big = route.table > 255;
  w.u8(familyValue(dst.family));
  w.u8(dst.length);
  w.u8(0); // src_len
  w.u8(0); // tos
  w.u8(big ? RT_TABLE_UNSPEC : route.table);
  w.u8(route.protocol ?? (del ? 0 : 3)); // RTPROT_BOOT like iproute2 when unset
  // iproute2 uses scope nowhere for IPv4 deletes (match any scope), universe for IPv6.
  w.u8(route.scope ?? (del && dst.family === 4 ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE));
  w.u8(route.type ? TYPE_TO_RTN[route.type] : (del ? RTN_UNSPEC : RTN_UNICAST));
  w.u32(0); // rtm_flags
  if (dst.length > 0 || !del) w.attr(RTA_DST, dst.bytes);
  if (big) w.attrU32(RTA_TABLE, route.table);
  if (route.priority !== undefined) w.attrU32(RTA_PRIORITY, route.priority);
  if (route.mplsEncap && route.mplsEncap.length > 0) {
    const e = w.beginNested(RTA_ENCAP | NLA_F_NESTED);
    w.attr(MPLS_IPTUNNEL_DST, encodeLabels(route.mplsEncap));
    w.endNested(e);
    w.attrU16(RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_MPLS);
  }
  if (route.gateway) w.attr(RTA_GATEWAY, route.gateway.bytes);
  if (route.via) writeVia(w, route.via);
  if (route.oif !== undefined) w.attrU32(RTA_OIF, route.oif);
  w.endMessage(start);
}

/** Appends an RTM_NEWROUTE / RTM_DELROUTE for an AF_MPLS label route. */
export function encodeMplsRoute(
  w: MessageWriter,
  route: MplsRouteSpec,
  options: EncodeRouteOptions = {},
): void {
  const op = options.op ?? "add";
  const del = op === "delete";
  let flags = NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK);
  if (op === "add") flags |= NLM_F_CREATE | NLM_F_EXCL;
  else if (op === "replace") flags |= NLM_F_CREATE | NLM_F_REPLACE;
  const start = w.beginMessage(del ? RTM_DELROUTE : RTM_NEWROUTE, flags, options);
  w.u8(AF_MPLS);
  w.u8(20);
  w.u8(0);
  w.u8(0);
  w.u8(254); // RT_TABLE_MAIN: the only MPLS table
  w.u8(route.protocol ?? (del ? 0 : 3));
  w.u8(del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE);
  w.u8(del ? RTN_UNSPEC : RTN_UNICAST);
  w.u32(0);
  w.attr(RTA_DST, encodeLabels([route.label]));
  if (route.newdst && route.newdst.length > 0) w.attr(RTA_NEWDST, encodeLabels(route.newdst));
  if (route.via) writeVia(w, route.via);
  if (route.oif !== undefined) w.attrU32(RTA_OIF, route.oif);
  w.endMessage(start);
}

/** Options of {@link encodeRouteDump}. */
export interface RouteDumpOptions extends EncodeOptions {
  /** Address family; default IPv4. */
  family?: Family;
  /** Filter by table (kernel-side with NETLINK_GET_STRICT_CHK). */
  table?: number;
  /** Filter by protocol (kernel-side with strict checking). */
  protocol?: number;
}

/** Appends an RTM_GETROUTE dump request. */
export function encodeRouteDump(w: MessageWriter, options: RouteDumpOptions = {}): void {
  const start = w.beginMessage(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, options);
  const table = options.table;
  w.u8(familyValue(options.family ?? 4));
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(table !== undefined && table < 256 ? table : 0);
  w.u8(options.protocol ?? 0);
  w.u8(0);
  w.u8(0);
  w.u32(0);
  if (table !== undefined && table > 255) w.attrU32(RTA_TABLE, table);
  w.endMessage(start);
}

/** A decoded route message (RTM_NEWROUTE / RTM_DELROUTE). */
export interface RouteMessage {
  /** 4, 6, or "mpls". */
  readonly family: Family | "mpls" | number;
  /** The table: RTA_TABLE when present, else rtm_table. */
  readonly table: number;
  /** rtm_protocol (RTPROT_*). */
  readonly protocol: number;
  /** Address scope (RT_SCOPE_*). */
  readonly scope: number;
  /** Route type (RTN_* value, or its name in RouteMessage). */
  readonly type: RouteType | number;
  /** rtm_flags. */
  readonly flags: number;
  /** Destination (IPv4/IPv6); the default route has length 0. */
  readonly dst?: IpPrefix;
  /** AF_MPLS incoming label. */
  readonly label?: number;
  /** RTA_GATEWAY. */
  readonly gateway?: IpAddress;
  /** RTA_VIA next hop. */
  readonly via?: IpAddress;
  /** RTA_OIF ifindex. */
  readonly oif?: number;
  /** Priority / metric. */
  readonly priority?: number;
  /** RTA_NEWDST label stack. */
  readonly newdst?: number[];
  /** MPLS encapsulation label stack. */
  readonly mplsEncap?: number[];
}

function toFamily(af: number): Family | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

/** Decodes a route message's payload. */
export function decodeRoute(message: NetlinkMessage): RouteMessage {
  const p = message.payload;
  if (p.length < RTMSG_LEN) throw new RangeError(`rtmsg too short: ${p.length} bytes`);
  const af = p[0];
  const attrs = parseAttrs(p, { start: RTMSG_LEN });
  const fam = toFamily(af);
  const dstBytes = attrs.get(RTA_DST);
  let dst: IpPrefix | undefined;
  let label: number | undefined;
  if (fam) {
    const size = fam === 4 ? 4 : 16;
    if (p[1] > size * 8) {
      throw new RangeError(`rtmsg dst_len ${p[1]} is longer than IPv${fam} allows`);
    }
    const bytes = new Uint8Array(size);
    if (dstBytes) bytes.set(dstBytes.subarray(0, size));
    dst = { family: fam, bytes, length: p[1] };
  } else if (af === AF_MPLS && dstBytes) {
    label = decodeLabels(dstBytes)[0];
  }
  const gw = attrs.get(RTA_GATEWAY);
  const viaBytes = attrs.get(RTA_VIA);
  let via: IpAddress | undefined;
  if (viaBytes && viaBytes.length >= 2) {
    const vf = toFamily(attrU16(viaBytes)!);
    if (vf) {
      const size = vf === 4 ? 4 : 16;
      if (viaBytes.length < 2 + size) {
        throw new RangeError(`RTA_VIA of ${viaBytes.length} bytes for IPv${vf}`);
      }
      via = { family: vf, bytes: viaBytes.slice(2, 2 + size) };
    }
  }
  if (gw && fam && gw.length !== (fam === 4 ? 4 : 16)) {
    throw new RangeError(`RTA_GATEWAY of ${gw.length} bytes for IPv${fam}`);
  }
  const newdst = attrs.get(RTA_NEWDST);
  let mplsEncap: number[] | undefined;
  const encap = attrs.get(RTA_ENCAP);
  if (encap && attrU16(attrs.get(RTA_ENCAP_TYPE)) === LWTUNNEL_ENCAP_MPLS) {
    const inner = parseAttrs(encap).get(MPLS_IPTUNNEL_DST);
    if (inner) mplsEncap = decodeLabels(inner);
  }
  return {
    family: fam ?? (af === AF_MPLS ? "mpls" : af),
    table: attrU32(attrs.get(RTA_TABLE)) ?? p[4],
    protocol: p[5],
    scope: p[6],
    type: RTN_TO_TYPE[p[7]] ?? p[7],
    flags: new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(8, true),
    dst,
    label,
    gateway: gw && fam ? { family: fam, bytes: gw.slice() } : undefined,
    via,
    oif: attrU32(attrs.get(RTA_OIF)),
    priority: attrU32(attrs.get(RTA_PRIORITY)),
    newdst: newdst ? decodeLabels(newdst) : undefined,
    mplsEncap,
  };
}

/**
 * The fields of a route message that reconciliation needs, filled into a reusable
 * object without allocating (`dst` is a view into the received datagram).
 */
export interface RouteScan {
  /** Address family. */
  family: number;
  /** Destination prefix length. */
  dstLen: number;
  /** Table id (RTA_TABLE when present, else rtm_table). */
  table: number;
  /** rtm_protocol (RTPROT_*). */
  protocol: number;
  /** RTN_* value. */
  type: number;
  /** RTA_DST payload (a view), if present. */
  dst: Uint8Array | undefined;
}

/** Creates an empty {@link RouteScan} to reuse with {@link scanRoute}. */
export function newRouteScan(): RouteScan {
  return { family: 0, dstLen: 0, table: 0, protocol: 0, type: 0, dst: undefined };
}

/** Fills `out` from a route message (hot path of large dumps); returns `out`. */
export function scanRoute(message: NetlinkMessage, out: RouteScan): RouteScan {
  const p = message.payload;
  if (p.length < RTMSG_LEN) throw new RangeError(`rtmsg too short: ${p.length} bytes`);
  out.family = p[0];
  out.dstLen = p[1];
  out.table = p[4];
  out.protocol = p[5];
  out.type = p[7];
  out.dst = undefined;
  let off = RTMSG_LEN;
  while (off + 4 <= p.length) {
    const len = p[off] | (p[off + 1] << 8);
    const type = (p[off + 2] | (p[off + 3] << 8)) & 0x3fff;
    if (len < 4 || off + len > p.length) {
      throw new RangeError(`route attribute ${type} at offset ${off}: bad length ${len}`);
    }
    if (type === RTA_DST) out.dst = p.subarray(off + 4, off + len);
    else if (type === RTA_TABLE) {
      // As decodeRoute: the last RTA_TABLE wins, one too short to hold a u32 means rtm_table.
      out.table = len >= 8
        ? (p[off + 4] | (p[off + 5] << 8) | (p[off + 6] << 16) | (p[off + 7] << 24)) >>> 0
        : p[4];
    }
    off += (len + 3) & ~3;
  }
  return out;
}
