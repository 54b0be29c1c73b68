/**
 * IP address and prefix primitives shared by every plane.
 *
 * Addresses are kept as network-order bytes (`Uint8Array` of 4 or 16 bytes) so the
 * netlink codec can copy them straight into attributes, and formatted canonically
 * (RFC 5952 for IPv6) so FRR lines, state files and status output agree.
 */

/** Address family: 4 or 6. */
export type Family = 4 | 6;

/** A parsed IP address. */
export interface IpAddress {
  readonly family: Family;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

/** A parsed, canonical IP prefix (host bits are zero). */
export interface IpPrefix {
  readonly family: Family;
  /** Network-order bytes of the network address. */
  readonly bytes: Uint8Array;
  /** Prefix length: 0..32 or 0..128. */
  readonly length: number;
}

/** Thrown for text that is not a valid address or prefix. */
export class IpParseError extends Error {
  override name = "IpParseError";
}

/**
 * A compact, immutable IPv4 prefix for large prefix sets (100,000 tenant prefixes): the network
 * as a 32-bit integer, the length and the canonical text, about a fifth of the memory of an
 * {@link IpPrefix} holding its own `Uint8Array`. It is an {@link IpPrefix}: `bytes` is built on
 * each access (a fresh array), and the helpers of this module read the integer directly.
 * Made by {@link compactPrefix}.
 */
export class CompactV4Prefix implements IpPrefix {
  /** Network address as a signed 32-bit integer (`net >>> 0` for the unsigned value). */
  readonly net: number;
  /** Canonical text (`ADDR/LEN`); the length is read back from it (one field less). */
  readonly text: string;

  /** Use {@link compactPrefix}; `net` must have its host bits clear, `text` be canonical. */
  constructor(net: number, text: string) {
    this.net = net | 0;
    this.text = text;
  }

  /** Prefix length, 0..32: the one or two digits after the `/` that ends the text. */
  get length(): number {
    const t = this.text, n = t.length;
    const last = t.charCodeAt(n - 1) - 48, before = t.charCodeAt(n - 2);
    return before === 47 ? last : (before - 48) * 10 + last;
  }

  /** Always 4. */
  get family(): 4 {
    return 4;
  }

  /** Network-order bytes (a new array on each access). */
  get bytes(): Uint8Array {
    const v = this.net;
    const b = new Uint8Array(4);
    b[0] = v >>> 24;
    b[1] = (v >>> 16) & 255;
    b[2] = (v >>> 8) & 255;
    b[3] = v & 255;
    return b;
  }
}

/**
 * An immutable IPv6 prefix with its canonical text, the IPv6 counterpart of
 * {@link CompactV4Prefix} (its bytes are kept; {@link formatPrefix} returns the text).
 */
export class CompactV6Prefix implements IpPrefix {
  readonly #bytes: Uint8Array;
  /** Prefix length, 0..128. */
  readonly length: number;
  /** Canonical text (`ADDR/LEN`). */
  readonly text: string;

  /** Use {@link compactPrefix}; `bytes` (16, host bits clear) is copied. */
  constructor(bytes: Uint8Array, length: number, text: string) {
    this.#bytes = new Uint8Array(bytes);
    this.length = length;
    this.text = text;
  }

  /** Always 6. */
  get family(): 6 {
    return 6;
  }

  /** Network-order bytes (a new array on each access: the prefix stays immutable). */
  get bytes(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }
}

/** A prefix made by {@link compactPrefix}. */
export type CompactPrefix = CompactV4Prefix | CompactV6Prefix;

/**
 * The compact form of a prefix (itself when it already is one). `text` is its canonical text
 * when the caller has it (saves formatting, and shares the string).
 */
export function compactPrefix(prefix: IpPrefix, text?: string): CompactPrefix {
  if (prefix instanceof CompactV4Prefix || prefix instanceof CompactV6Prefix) return prefix;
  const t = text ?? formatPrefix(prefix);
  if (prefix.family === 4) {
    const b = prefix.bytes;
    return new CompactV4Prefix((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3], t);
  }
  return new CompactV6Prefix(prefix.bytes, prefix.length, t);
}

/** The IPv4 network of a prefix as an unsigned 32-bit number (reads compact prefixes directly). */
export function v4Number(prefix: IpPrefix): number {
  if (prefix instanceof CompactV4Prefix) return prefix.net >>> 0;
  const b = prefix.bytes;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

const IPV4_PART = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!IPV4_PART.test(parts[i])) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  let head = text;
  let v4tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.indexOf(".", lastColon) > lastColon) {
    v4tail = parseIpv4(text.slice(lastColon + 1));
    if (!v4tail) return undefined;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const groups: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const left = toGroups(halves[0]);
  const right = halves.length === 2 ? toGroups(halves[1]) : [];
  if (!left || !right) return undefined;
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...left, ...new Array(8 - total).fill(0), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (v4tail) out.set(v4tail, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address; throws {@link IpParseError} naming the text. */
export function parseIp(text: string): IpAddress {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = text.includes(":") ? parseIpv6(text) : undefined;
  if (v6) return { family: 6, bytes: v6 };
  throw new IpParseError(`invalid IP address ${JSON.stringify(text)}`);
}

/** Returns the address if `text` parses, else undefined. */
export function tryParseIp(text: string): IpAddress | undefined {
  try {
    return parseIp(text);
  } catch {
    return undefined;
  }
}

/** Options for {@link parsePrefix}. */
export interface ParsePrefixOptions {
  /** Reject prefixes with host bits set (default true). When false they are masked. */
  strict?: boolean;
  /** Accept a bare address as a host prefix (/32 or /128). Default false. */
  allowBareAddress?: boolean;
}

/** Parses `ADDR/LEN`; throws {@link IpParseError} with the reason. */
export function parsePrefix(text: string, options: ParsePrefixOptions = {}): IpPrefix {
  const strict = options.strict ?? true;
  const slash = text.indexOf("/");
  if (slash < 0) {
    if (!options.allowBareAddress) {
      throw new IpParseError(`invalid prefix ${JSON.stringify(text)}: missing /length`);
    }
    const addr = parseIp(text);
    return { family: addr.family, bytes: addr.bytes, length: addr.family === 4 ? 32 : 128 };
  }
  const addrText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  let addr: IpAddress;
  try {
    addr = parseIp(addrText);
  } catch (cause) {
    throw new IpParseError(`invalid prefix ${JSON.stringify(text)}: bad address`, { cause });
  }
  const max = addr.family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) {
    throw new IpParseError(
      `invalid prefix ${JSON.stringify(text)}: length must be 0..${max}`,
    );
  }
  const length = Number(lenText);
  const masked = maskBytes(addr.bytes, length);
  if (strict && !bytesEqual(masked, addr.bytes)) {
    throw new IpParseError(
      `invalid prefix ${JSON.stringify(text)}: host bits set (did you mean ${
        formatPrefix({ family: addr.family, bytes: masked, length })
      }?)`,
    );
  }
  return { family: addr.family, bytes: masked, length };
}

/** Returns the prefix if `text` parses strictly, else undefined. */
export function tryParsePrefix(
  text: string,
  options: ParsePrefixOptions = {},
): IpPrefix | undefined {
  try {
    return parsePrefix(text, options);
  } catch {
    return undefined;
  }
}

/** Zeroes the bits after `length`. Returns a new array. */
export function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] &= bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Formats an address canonically (dotted quad; RFC 5952 for IPv6). */
export function formatIp(addr: { family: Family; bytes: Uint8Array }): string {
  const b = addr.bytes;
  if (addr.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // Longest run of >= 2 zero groups, first one wins on ties (RFC 5952 4.2).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Formats a prefix canonically as `ADDR/LEN`. */
export function formatPrefix(prefix: IpPrefix): string {
  if (prefix instanceof CompactV4Prefix || prefix instanceof CompactV6Prefix) return prefix.text;
  return `${formatIp(prefix)}/${prefix.length}`;
}

/** Canonicalizes prefix text (throws on invalid input). */
export function canonicalPrefix(text: string, options: ParsePrefixOptions = {}): string {
  return formatPrefix(parsePrefix(text, options));
}

/** True when `outer` contains `inner` (same family, shorter-or-equal length, same bits). */
export function prefixContains(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
  if (outer.family === 4) {
    const mask = outer.length === 0 ? 0 : (0xffffffff << (32 - outer.length)) >>> 0;
    return ((v4Number(inner) & mask) >>> 0) === v4Number(outer);
  }
  return bytesEqual(maskBytes(inner.bytes, outer.length), outer.bytes);
}

/** True for 0.0.0.0/0 and ::/0. */
export function isDefaultRoute(prefix: IpPrefix): boolean {
  return prefix.length === 0;
}

/** Host prefix (/32 or /128) for an address. */
export function hostPrefix(addr: IpAddress): IpPrefix {
  return { family: addr.family, bytes: addr.bytes, length: addr.family === 4 ? 32 : 128 };
}

/** Total order on prefixes: family, then bytes, then length. Useful for stable output. */
export function comparePrefixes(a: IpPrefix, b: IpPrefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.family === 4) {
    const x = v4Number(a), y = v4Number(b);
    return x !== y ? x - y : a.length - b.length;
  }
  const ab = a.bytes, bb = b.bytes;
  for (let i = 0; i < ab.length; i++) {
    if (ab[i] !== bb[i]) return ab[i] - bb[i];
  }
  return a.length - b.length;
}
