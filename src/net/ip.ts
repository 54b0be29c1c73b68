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
  return `${formatIp(prefix)}/${prefix.length}`;
}

/** Canonicalizes prefix text (throws on invalid input). */
export function canonicalPrefix(text: string, options: ParsePrefixOptions = {}): string {
  return formatPrefix(parsePrefix(text, options));
}

/** True when `outer` contains `inner` (same family, shorter-or-equal length, same bits). */
export function prefixContains(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
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
  for (let i = 0; i < a.bytes.length; i++) {
    if (a.bytes[i] !== b.bytes[i]) return a.bytes[i] - b.bytes[i];
  }
  return a.length - b.length;
}
