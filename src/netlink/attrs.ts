/**
 * Attribute decoding: a flat table of `type → payload view` (nested attributes are
 * decoded on demand with {@link parseAttrs} on the payload).
 * @module
 */
import { nlAlign } from "./constants.ts";

const decoder = new TextDecoder();

/** Mask that strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from an attribute type. */
export const NLA_TYPE_MASK = 0x3fff;
/** Flag on nested attribute types. */
export const NLA_F_NESTED = 0x8000;

/** Decoded attributes: type (flags stripped) to payload; the last occurrence wins. */
export type AttrMap = Map<number, Uint8Array>;

/** Parses the attributes in `bytes[start, end)`; throws on a truncated attribute. */
export function parseAttrs(
  bytes: Uint8Array,
  range: { start?: number; end?: number } = {},
): AttrMap {
  const out: AttrMap = new Map();
  const end = range.end ?? bytes.length;
  let off = range.start ?? 0;
  if (off < 0 || end > bytes.length || off > end) {
    throw new RangeError(`netlink attributes: range ${off}..${end} outside ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (off + 4 <= end) {
    const len = view.getUint16(off, true);
    const type = view.getUint16(off + 2, true) & NLA_TYPE_MASK;
    if (len < 4 || off + len > end) {
      throw new RangeError(`netlink attribute type ${type} at offset ${off}: bad length ${len}`);
    }
    out.set(type, bytes.subarray(off + 4, off + len));
    off += nlAlign(len);
  }
  return out;
}

/** Reads a u8 attribute payload. */
export function attrU8(payload: Uint8Array | undefined): number | undefined {
  return payload && payload.length >= 1 ? payload[0] : undefined;
}

/** Reads a u16 attribute payload (host order). */
export function attrU16(payload: Uint8Array | undefined): number | undefined {
  if (!payload || payload.length < 2) return undefined;
  return payload[0] | (payload[1] << 8);
}

/** Reads a u32 attribute payload (host order). */
export function attrU32(payload: Uint8Array | undefined): number | undefined {
  if (!payload || payload.length < 4) return undefined;
  return (payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24)) >>> 0;
}

/** Reads a NUL-terminated string attribute payload. */
export function attrString(payload: Uint8Array | undefined): string | undefined {
  if (!payload) return undefined;
  const nul = payload.indexOf(0);
  return decoder.decode(nul >= 0 ? payload.subarray(0, nul) : payload);
}
