/**
 * nlmsghdr framing, nlmsgerr with extended ACK, and multipart handling.
 * @module
 */
import {
  nlAlign,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from "./constants.ts";
import { attrString, attrU32, parseAttrs } from "./attrs.ts";
import { errnoMessage, errnoName } from "./errno.ts";

/** A decoded netlink message header plus its payload (a view into the datagram). */
export interface NetlinkMessage {
  /** Message or attribute type. */
  readonly type: number;
  /** Header flags (NLM_F_*). */
  readonly flags: number;
  /** Sequence number. */
  readonly seq: number;
  /** Port id. */
  readonly pid: number;
  /** The bytes after the 16-byte header, up to nlmsg_len. */
  readonly payload: Uint8Array;
}

/** A decoded `struct nlmsgerr` (an ACK when `error` is 0). */
export interface NetlinkAck {
  /** Positive errno (0 for a plain ACK). */
  readonly errno: number;
  /** Header of the request this answers. */
  readonly request: { type: number; flags: number; seq: number; pid: number; length: number };
  /** NLMSGERR_ATTR_MSG text from the kernel (extended ACK), if any. */
  readonly extack?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the offending attribute in the request. */
  readonly extackOffset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: type of a missing attribute. */
  readonly missingAttr?: number;
}

/**
 * Splits one received datagram into its messages. Throws on a truncated header.
 * The payloads are views into `bytes`, valid while the buffer is not reused.
 */
export function parseMessages(bytes: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  forEachMessage(bytes, (m) => {
    out.push(m);
  });
  return out;
}

/** Calls `fn` for each message of a datagram without collecting them. */
export function forEachMessage(bytes: Uint8Array, fn: (m: NetlinkMessage) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= bytes.length) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > bytes.length) {
      throw new RangeError(`netlink message at offset ${off}: bad nlmsg_len ${len}`);
    }
    fn({
      type: view.getUint16(off + 4, true),
      flags: view.getUint16(off + 6, true),
      seq: view.getUint32(off + 8, true),
      pid: view.getUint32(off + 12, true),
      payload: bytes.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += nlAlign(len);
  }
}

/** Decodes the payload of an NLMSG_ERROR message, including extended ACK TLVs. */
export function decodeAck(message: NetlinkMessage): NetlinkAck {
  const p = message.payload;
  if (p.length < 4 + NLMSG_HDRLEN) {
    throw new RangeError(`NLMSG_ERROR payload too short: ${p.length} bytes`);
  }
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const error = view.getInt32(0, true);
  const request = {
    length: view.getUint32(4, true),
    type: view.getUint16(8, true),
    flags: view.getUint16(10, true),
    seq: view.getUint32(12, true),
    pid: view.getUint32(16, true),
  };
  let extack: string | undefined;
  let extackOffset: number | undefined;
  let missingAttr: number | undefined;
  if (message.flags & NLM_F_ACK_TLVS) {
    // The echoed request is its header only when capped, else all of it (request.length is
    // the peer's u32: align it arithmetically, nlAlign's 32-bit math would wrap negative).
    const echoed = message.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : request.length;
    const tlvStart = 4 + Math.ceil(echoed / 4) * 4;
    if (echoed >= NLMSG_HDRLEN && tlvStart < p.length) {
      const attrs = parseAttrs(p, { start: tlvStart });
      extack = attrString(attrs.get(NLMSGERR_ATTR_MSG));
      extackOffset = attrU32(attrs.get(NLMSGERR_ATTR_OFFS));
      missingAttr = attrU32(attrs.get(NLMSGERR_ATTR_MISS_TYPE));
    }
  }
  return { errno: error === 0 ? 0 : -error, request, extack, extackOffset, missingAttr };
}

/** True for the message that ends a multipart dump. */
export function isDone(message: NetlinkMessage): boolean {
  return message.type === NLMSG_DONE;
}

/** True for an NLMSG_ERROR (error or ACK) message. */
export function isError(message: NetlinkMessage): boolean {
  return message.type === NLMSG_ERROR;
}

/**
 * A request the kernel refused: errno, its name, and the extended ACK text.
 * `message` reads like `RTM_NEWROUTE: EEXIST (File exists): <extack>`.
 */
export class NetlinkError extends Error {
  /** The error class name. */
  override name = "NetlinkError";
  /** Positive errno. */
  readonly errno: number;
  /** Symbolic errno name, e.g. `EEXIST`. */
  readonly code: string;
  /** Kernel extended ACK text (NLMSGERR_ATTR_MSG), if any. */
  readonly extack?: string;
  /** What was being done (e.g. `RTM_NEWROUTE 10.0.0.0/24 table 100`). */
  readonly operation: string;

  /** Builds the error from an errno and optional extack text. */
  constructor(
    operation: string,
    errno: number,
    options: { extack?: string; cause?: unknown } = {},
  ) {
    const code = errnoName(errno);
    const text = `${operation}: ${code} (${errnoMessage(errno)})` +
      (options.extack ? `: ${options.extack}` : "");
    super(text, { cause: options.cause });
    this.errno = errno;
    this.code = code;
    this.extack = options.extack;
    this.operation = operation;
  }
}

/** Names of the rtnetlink message types, for errors and logs. */
export function messageTypeName(type: number): string {
  return MESSAGE_TYPES[type] ?? `type ${type}`;
}

const MESSAGE_TYPES: Record<number, string> = {
  1: "NLMSG_NOOP",
  2: "NLMSG_ERROR",
  3: "NLMSG_DONE",
  4: "NLMSG_OVERRUN",
  16: "RTM_NEWLINK",
  17: "RTM_DELLINK",
  18: "RTM_GETLINK",
  20: "RTM_NEWADDR",
  21: "RTM_DELADDR",
  22: "RTM_GETADDR",
  24: "RTM_NEWROUTE",
  25: "RTM_DELROUTE",
  26: "RTM_GETROUTE",
  32: "RTM_NEWRULE",
  33: "RTM_DELRULE",
  34: "RTM_GETRULE",
};
