/**
 * Allocation-light IPv4 helpers for the hot path of the OVN source (100k ports): parsing
 * dotted quads to uint32 and policy checks on uint32 ranges. Semantics match `src/net`
 * (no leading zeros) and `src/tenants/policy.ts`, which stay the reference for messages.
 * @module
 */
import type { IpPrefix } from "../net/mod.ts";
import { type PrefixPolicy, prefixViolation } from "../tenants/policy.ts";

/** Parses a strict dotted quad (no leading zeros) to an unsigned 32-bit number, or -1. */
export function parseV4(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let first = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) first = c;
      else if (first === 48) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + part;
}

/** Formats a uint32 as a dotted quad. */
export function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** The IpPrefix of a uint32 network and length. */
export function v4Prefix(net: number, length: number): IpPrefix {
  return {
    family: 4,
    bytes: new Uint8Array([net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255]),
    length,
  };
}

/** The uint32 network of an IPv4 prefix. */
export function v4Net(p: IpPrefix): number {
  const b = p.bytes;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/** Netmask of a length as uint32. */
export function v4Mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

interface V4Range {
  net: number;
  mask: number;
  length: number;
}

function ranges(list: readonly IpPrefix[]): V4Range[] {
  return list.filter((p) => p.family === 4).map((p) => ({
    net: (v4Net(p) & v4Mask(p.length)) >>> 0,
    mask: v4Mask(p.length),
    length: p.length,
  }));
}

function inRanges(rs: V4Range[], net: number, length: number): boolean {
  for (const r of rs) if (r.length <= length && ((net & r.mask) >>> 0) === r.net) return true;
  return false;
}

/** A prefix policy with IPv4 ranges precompiled; IPv6 goes to the reference check. */
export class FastPolicy {
  readonly policy: PrefixPolicy;
  readonly #allowed: V4Range[];
  readonly #deny: V4Range[];

  constructor(policy: PrefixPolicy) {
    this.policy = policy;
    this.#allowed = ranges(policy.allowed);
    this.#deny = ranges(policy.deny);
  }

  /** Why an IPv4 prefix (uint32 network, length) may not be exported, or undefined. */
  v4Violation(net: number, length: number): string | undefined {
    if (length > 0 && inRanges(this.#allowed, net, length) && !inRanges(this.#deny, net, length)) {
      return undefined;
    }
    return prefixViolation(v4Prefix(net, length), this.policy) ?? undefined;
  }

  /** Why any prefix may not be exported, or undefined. */
  violation(prefix: IpPrefix): string | undefined {
    if (prefix.family === 4) return this.v4Violation(v4Net(prefix), prefix.length);
    return prefixViolation(prefix, this.policy);
  }
}
