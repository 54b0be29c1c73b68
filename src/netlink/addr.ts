/**
 * ifaddrmsg + IFA_* encoding/decoding.
 * @module
 */
import type { IpAddress, IpPrefix } from "../net/mod.ts";
import {
  AF_INET,
  AF_INET6,
  IFA_ADDRESS,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from "./constants.ts";
import { attrString, parseAttrs } from "./attrs.ts";
import type { NetlinkMessage } from "./message.ts";
import type { EncodeOptions } from "./route.ts";
import type { MessageWriter } from "./writer.ts";

/** Options of {@link encodeAddr}. */
export interface EncodeAddrOptions extends EncodeOptions {
  /** Delete instead of add. */
  delete?: boolean;
}

/** Appends an RTM_NEWADDR/RTM_DELADDR for `prefix` (address + length) on an ifindex. */
export function encodeAddr(
  w: MessageWriter,
  index: number,
  options: EncodeAddrOptions & { address: IpPrefix },
): void {
  const del = options.delete === true;
  const flags = NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK) |
    (del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
  const start = w.beginMessage(del ? RTM_DELADDR : RTM_NEWADDR, flags, options);
  const a = options.address;
  w.u8(a.family === 4 ? AF_INET : AF_INET6);
  w.u8(a.length);
  w.u8(0); // flags
  w.u8(0); // scope
  w.u32(index);
  w.attr(IFA_LOCAL, a.bytes);
  w.attr(IFA_ADDRESS, a.bytes);
  w.endMessage(start);
}

/** Appends an RTM_GETADDR dump request. */
export function encodeAddrDump(w: MessageWriter, options: EncodeOptions = {}): void {
  const start = w.beginMessage(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, options);
  w.zeros(IFADDRMSG_LEN);
  w.endMessage(start);
}

/** A decoded address message. */
export interface AddrMessage {
  /** Interface index. */
  readonly index: number;
  /** Prefix length of the address. */
  readonly prefixLength: number;
  /** Address scope (RT_SCOPE_*). */
  readonly scope: number;
  /** IFA_ADDRESS (peer or own address). */
  readonly address?: IpAddress;
  /** IFA_LOCAL (own address). */
  readonly local?: IpAddress;
  /** IFA_LABEL. */
  readonly label?: string;
}

/** Decodes an RTM_NEWADDR / RTM_DELADDR payload. */
export function decodeAddr(message: NetlinkMessage): AddrMessage {
  const p = message.payload;
  if (p.length < IFADDRMSG_LEN) throw new RangeError(`ifaddrmsg too short: ${p.length} bytes`);
  const family = p[0] === AF_INET ? 4 : 6;
  const attrs = parseAttrs(p, { start: IFADDRMSG_LEN });
  const addr = (b?: Uint8Array): IpAddress | undefined =>
    b ? { family, bytes: b.slice() } : undefined;
  return {
    index: new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(4, true),
    prefixLength: p[1],
    scope: p[3],
    address: addr(attrs.get(IFA_ADDRESS)),
    local: addr(attrs.get(IFA_LOCAL)),
    label: attrString(attrs.get(IFA_LABEL)),
  };
}
