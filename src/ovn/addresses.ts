/**
 * Parsing of OVN Northbound `Logical_Switch_Port` address columns and switch subnets.
 * Pure: no I/O.
 * @module
 */
import { formatIp, type IpPrefix, parsePrefix, tryParseIp } from "../net/mod.ts";
import { parseV4 } from "./fast_ip.ts";

/** Keywords that may appear in `addresses` and carry no workload address. */
export const ADDRESS_KEYWORDS: ReadonlySet<string> = new Set(["unknown", "router", "dynamic"]);

/** Port types that carry workload (pod / VM) addresses; `""` is a plain VIF. */
export const WORKLOAD_PORT_TYPES: ReadonlySet<string> = new Set(["", "virtual", "external"]);

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const SPACES = /[ \t\n\r]+/;
const NON_SPACE_WS = /[\t\n\r]/;
/** Longest address entry accepted; longer ones are hostile. */
const MAX_ENTRY = 4096;

/** An address found on a port. */
export interface PortAddress {
  readonly family: 4 | 6;
  /** Canonical address text. */
  readonly text: string;
  /** IPv4 address as uint32 (0 for IPv6). */
  readonly v4: number;
  /** IPv6 bytes (undefined for IPv4). */
  readonly bytes?: Uint8Array;
  /** The on-link prefix given with the address (`IP/LEN`), when there was one. */
  readonly onLink?: IpPrefix;
}

/** The result of parsing one port's address columns. */
export interface ParsedAddresses {
  readonly addresses: PortAddress[];
  /** Texts that could not be parsed, with the reason. */
  readonly problems: string[];
}

function parseToken(token: string, out: PortAddress[], problems: string[], where: string): void {
  const slash = token.indexOf("/");
  const ipText = slash < 0 ? token : token.slice(0, slash);
  let addr: PortAddress | undefined;
  const v4 = parseV4(ipText);
  if (v4 >= 0) addr = { family: 4, text: ipText, v4 };
  else if (ipText.includes(":")) {
    const ip = tryParseIp(ipText);
    if (ip) addr = { family: 6, text: formatIp(ip), v4: 0, bytes: ip.bytes };
  }
  if (!addr) {
    problems.push(`${where}: ${JSON.stringify(token.slice(0, 64))} is not an IP address`);
    return;
  }
  if (slash < 0) {
    out.push(addr);
    return;
  }
  try {
    out.push({ ...addr, onLink: parsePrefix(token, { strict: false }) });
  } catch (e) {
    problems.push(`${where}: ${(e as Error).message}`);
  }
}

/**
 * Parses one entry of `addresses` or `dynamic_addresses`: `MAC IP [IP…]`, or a keyword
 * (`unknown`, `router`, `dynamic`, `MAC dynamic`) that yields no address.
 */
export function parseAddressEntry(
  entry: string,
  into: { addresses: PortAddress[]; problems: string[] },
  options: { column?: string } = {},
): void {
  const where = options.column ?? "addresses";
  if (entry.length > MAX_ENTRY) {
    into.problems.push(`${where}: entry of ${entry.length} characters`);
    return;
  }
  const tokens = NON_SPACE_WS.test(entry) ? entry.split(SPACES) : entry.split(" ");
  let first = true;
  for (const t of tokens) {
    if (t === "") continue;
    const wasFirst = first;
    first = false;
    if (ADDRESS_KEYWORDS.has(t)) continue;
    if (wasFirst && t.length === 17 && MAC.test(t)) continue;
    parseToken(t, into.addresses, into.problems, where);
  }
}

/** The address columns of a port, as decoded from the cache. */
export interface PortAddressColumns {
  addresses?: readonly string[];
  dynamic_addresses?: string;
  /** `external_ids:neutron:cidrs` (`IP/LEN [IP/LEN…]`). */
  neutronCidrs?: string;
}

/** Parses all address columns of a port; duplicates are removed. */
export function parsePortAddresses(cols: PortAddressColumns): ParsedAddresses {
  const acc = { addresses: [] as PortAddress[], problems: [] as string[] };
  for (const e of cols.addresses ?? []) parseAddressEntry(e, acc, { column: "addresses" });
  if (cols.dynamic_addresses) {
    parseAddressEntry(cols.dynamic_addresses, acc, { column: "dynamic_addresses" });
  }
  if (cols.neutronCidrs) {
    if (cols.neutronCidrs.length > MAX_ENTRY) {
      acc.problems.push(`neutron:cidrs: ${cols.neutronCidrs.length} characters`);
    } else {
      for (const t of cols.neutronCidrs.split(SPACES)) {
        if (t !== "") parseToken(t, acc.addresses, acc.problems, "neutron:cidrs");
      }
    }
  }
  const list = acc.addresses;
  if (list.length < 2) return acc;
  // Deduplicate by address, keeping the first on-link prefix seen.
  const seen = new Map<string, PortAddress>();
  for (const a of list) {
    const prev = seen.get(a.text);
    if (!prev || (!prev.onLink && a.onLink)) seen.set(a.text, a);
  }
  return { addresses: [...seen.values()], problems: acc.problems };
}

/**
 * Parses a switch's subnets: `other_config:subnet` (one or more IPv4 CIDRs separated by
 * spaces or commas) and `other_config:ipv6_prefix` (`PREFIX` meaning /64, or `PREFIX/LEN`).
 */
export function parseSwitchSubnets(
  otherConfig: ReadonlyMap<unknown, unknown> | undefined,
  problems: string[] = [],
): IpPrefix[] {
  const out: IpPrefix[] = [];
  if (!otherConfig) return out;
  const subnet = otherConfig.get("subnet");
  if (typeof subnet === "string" && subnet.length <= MAX_ENTRY) {
    for (const t of subnet.split(/[\s,]+/)) {
      if (t === "") continue;
      try {
        out.push(parsePrefix(t, { strict: false }));
      } catch (e) {
        problems.push(`other_config:subnet: ${(e as Error).message}`);
      }
    }
  }
  const v6 = otherConfig.get("ipv6_prefix");
  if (typeof v6 === "string" && v6 !== "" && v6.length <= 64) {
    try {
      out.push(parsePrefix(v6.includes("/") ? v6 : `${v6}/64`, { strict: false }));
    } catch (e) {
      problems.push(`other_config:ipv6_prefix: ${(e as Error).message}`);
    }
  }
  return out;
}
