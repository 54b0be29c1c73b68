/**
 * Netlink message writer: appends nlmsghdr-framed messages and (nested, padded)
 * attributes into one growable buffer, so a batch of many requests is one `sendto`.
 * @module
 */
import { nlAlign, NLMSG_HDRLEN } from "./constants.ts";

const encoder = new TextEncoder();

/**
 * Appends netlink messages to a growable buffer. Little-endian host order (x86-64,
 * aarch64), as netlink uses host order.
 */
export class MessageWriter {
  #buf: Uint8Array;
  #view: DataView;
  /** Current write offset (bytes used). */
  offset = 0;

  /** Creates a writer with an initial capacity in bytes. */
  constructor(capacity = 4096) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** The bytes written so far (a view, valid until the next write or reset). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.offset);
  }

  /** The underlying buffer (for FFI sends: keep it referenced during the call). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Forgets everything written (keeps the capacity). */
  reset(): void {
    this.offset = 0;
  }

  #ensure(extra: number): void {
    const need = this.offset + extra;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.offset));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /**
   * Starts a message: writes an nlmsghdr with length 0 and returns its offset; finish
   * with {@link endMessage}.
   */
  beginMessage(type: number, flags: number, options: { seq?: number; pid?: number } = {}): number {
    this.#ensure(NLMSG_HDRLEN);
    const start = this.offset;
    const v = this.#view;
    v.setUint32(start, 0, true);
    v.setUint16(start + 4, type, true);
    v.setUint16(start + 6, flags, true);
    v.setUint32(start + 8, (options.seq ?? 0) >>> 0, true);
    v.setUint32(start + 12, (options.pid ?? 0) >>> 0, true);
    this.offset += NLMSG_HDRLEN;
    return start;
  }

  /** Writes the final length of the message that starts at `start`. */
  endMessage(start: number): void {
    this.#view.setUint32(start, this.offset - start, true);
    this.pad();
  }

  /** Pads to the 4-byte boundary with zeros. */
  pad(): void {
    const aligned = nlAlign(this.offset);
    if (aligned === this.offset) return;
    this.#ensure(aligned - this.offset);
    this.#buf.fill(0, this.offset, aligned);
    this.offset = aligned;
  }

  /** Appends a u8. */
  u8(value: number): void {
    this.#ensure(1);
    this.#buf[this.offset++] = value;
  }

  /** Appends a u16 (host order). */
  u16(value: number): void {
    this.#ensure(2);
    this.#view.setUint16(this.offset, value, true);
    this.offset += 2;
  }

  /** Appends a u32 (host order). */
  u32(value: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.offset, value >>> 0, true);
    this.offset += 4;
  }

  /** Appends an i32 (host order). */
  i32(value: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.offset, value, true);
    this.offset += 4;
  }

  /** Appends raw bytes. */
  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  /** Appends `n` zero bytes. */
  zeros(n: number): void {
    this.#ensure(n);
    this.#buf.fill(0, this.offset, this.offset + n);
    this.offset += n;
  }

  /** Appends an attribute with a raw payload, padded. */
  attr(type: number, payload: Uint8Array): void {
    this.#ensure(4 + payload.length + 3);
    this.#view.setUint16(this.offset, 4 + payload.length, true);
    this.#view.setUint16(this.offset + 2, type, true);
    this.#buf.set(payload, this.offset + 4);
    this.offset += 4 + payload.length;
    this.pad();
  }

  /** Appends a u8 attribute (padded to 8 bytes). */
  attrU8(type: number, value: number): void {
    this.#ensure(8);
    this.#view.setUint32(this.offset, 5 | (type << 16), true);
    this.#view.setUint32(this.offset + 4, value & 0xff, true);
    this.offset += 8;
  }

  /** Appends a u16 attribute (padded to 8 bytes). */
  attrU16(type: number, value: number): void {
    this.#ensure(8);
    this.#view.setUint32(this.offset, 6 | (type << 16), true);
    this.#view.setUint32(this.offset + 4, value & 0xffff, true);
    this.offset += 8;
  }

  /** Appends a u32 attribute. */
  attrU32(type: number, value: number): void {
    this.#ensure(8);
    this.#view.setUint32(this.offset, 8 | (type << 16), true);
    this.#view.setUint32(this.offset + 4, value >>> 0, true);
    this.offset += 8;
  }

  /** Appends a NUL-terminated string attribute. */
  attrString(type: number, value: string): void {
    const bytes = encoder.encode(value);
    this.#ensure(4 + bytes.length + 1 + 3);
    this.#view.setUint16(this.offset, 4 + bytes.length + 1, true);
    this.#view.setUint16(this.offset + 2, type, true);
    this.#buf.set(bytes, this.offset + 4);
    this.#buf[this.offset + 4 + bytes.length] = 0;
    this.offset += 4 + bytes.length + 1;
    this.pad();
  }

  /** Appends a flag attribute (no payload). */
  attrFlag(type: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.offset, 4 | (type << 16), true);
    this.offset += 4;
  }

  /** Starts a nested attribute and returns its offset; finish with {@link endNested}. */
  beginNested(type: number): number {
    this.#ensure(4);
    const start = this.offset;
    this.#view.setUint16(start, 0, true);
    this.#view.setUint16(start + 2, type, true);
    this.offset += 4;
    return start;
  }

  /** Writes the length of the nested attribute that starts at `start`. */
  endNested(start: number): void {
    this.pad();
    this.#view.setUint16(start, this.offset - start, true);
  }
}
