/**
 * A small prefix-list and route-map evaluator, independent of src/frr: reads the export
 * policy out of rendered lines (through the strict line grammar) and decides, as FRR does,
 * whether a route passes `redistribute kernel route-map NAME`.
 *
 * FRR's rules modelled here: entries are tried in ascending `seq` order and the first entry
 * that matches decides; no match is an implicit deny. An entry `P/len` without `le` matches
 * exactly `P/len`; with `le N` it matches every prefix whose first `len` bits are those of `P`
 * and whose length is between `len` and `N`. An `ip` list matches only IPv4 routes, an `ipv6`
 * list only IPv6 ones. A route-map `permit 10` with `match … prefix-list X` permits a route
 * when X permits it, and otherwise (no further entry) denies it.
 * @module
 */
import { formatPrefix, type IpPrefix, tryParsePrefix } from "../../src/net/mod.ts";
import { classifyLine } from "./_grammar.ts";
import { contains } from "./_oracle.ts";

/** One prefix-list entry. */
export interface PrefixListEntry {
  readonly seq: number;
  readonly action: "permit" | "deny";
  readonly prefix: IpPrefix;
  /** The `le` bound, or undefined for an exact-length entry. */
  readonly le?: number;
  /** The line it came from (for messages). */
  readonly line: string;
}

/** One prefix-list with its family. */
export interface PrefixList {
  readonly family: 4 | 6;
  /** Entries in ascending `seq` order. */
  readonly entries: readonly PrefixListEntry[];
}

/** The export policy as read back from rendered lines. */
export interface PolicyModel {
  readonly lists: ReadonlyMap<string, PrefixList>;
  /** Route-map name → the prefix-list its single `permit 10` entry matches, and its family. */
  readonly routeMaps: ReadonlyMap<string, { family: 4 | 6; list: string }>;
}

/**
 * Reads the prefix-lists and route-maps out of rendered lines (other lines are skipped; lines
 * outside the grammar throw). Throws on what FRR would silently merge or reinterpret: two
 * entries with the same `seq`, the same range twice, a CIDR with host bits or in non-canonical
 * form, a route-map entry twice, a route-map without exactly one `match` or matching a list of
 * the other family or one that does not exist.
 */
export function parsePolicy(lines: readonly string[]): PolicyModel {
  const lists = new Map<string, { family: 4 | 6; entries: PrefixListEntry[] }>();
  const routeMaps = new Map<string, { family: 4 | 6; list: string }>();
  let inRouteMap: { name: string; family: 4 | 6; matches: string[] } | undefined;
  const closeRouteMap = () => {
    if (!inRouteMap) return;
    const { name, family, matches } = inRouteMap;
    if (matches.length !== 1) throw new Error(`route-map ${name}: ${matches.length} match lines`);
    routeMaps.set(name, { family, list: matches[0] });
    inRouteMap = undefined;
  };
  for (const line of lines) {
    const c = classifyLine(line);
    if (!c) throw new Error(`line outside the grammar: ${JSON.stringify(line)}`);
    const g = c.groups;
    if (c.kind === "prefixList4" || c.kind === "prefixList6") {
      closeRouteMap();
      const family = c.kind === "prefixList4" ? 4 : 6;
      const name = `VPNV4-EXPORT-V${family}`;
      const text = `${g[2]}/${g[3]}`;
      const prefix = tryParsePrefix(text);
      if (!prefix || prefix.family !== family || formatPrefix(prefix) !== text) {
        throw new Error(`${JSON.stringify(line)}: ${text} is not a canonical IPv${family} CIDR`);
      }
      const list = lists.get(name) ?? { family, entries: [] };
      lists.set(name, list);
      const entry: PrefixListEntry = {
        seq: Number(g[0]),
        action: g[1] as "permit" | "deny",
        prefix,
        le: g[4] === undefined ? undefined : Number(g[4]),
        line,
      };
      for (const e of list.entries) {
        if (e.seq === entry.seq) throw new Error(`${line}: seq also used by ${e.line}`);
        if (formatPrefix(e.prefix) === text && e.le === entry.le) {
          throw new Error(`${line}: same range as ${e.line}`);
        }
      }
      list.entries.push(entry);
    } else if (c.kind === "routeMap") {
      closeRouteMap();
      const name = `VPNV4-EXPORT-V${g[0]}`;
      if (routeMaps.has(name)) throw new Error(`route-map ${name} permit 10 twice`);
      inRouteMap = { name, family: Number(g[0]) as 4 | 6, matches: [] };
    } else if (c.kind === "match") {
      if (!inRouteMap) throw new Error(`${JSON.stringify(line)} outside a route-map`);
      const family = g[0] === "ip" ? 4 : 6;
      if (family !== Number(g[1]) || family !== inRouteMap.family) {
        throw new Error(`route-map ${inRouteMap.name}: ${JSON.stringify(line)} mixes families`);
      }
      inRouteMap.matches.push(`VPNV4-EXPORT-V${g[1]}`);
    } else closeRouteMap();
  }
  closeRouteMap();
  for (const [name, rm] of routeMaps) {
    if (!lists.has(rm.list)) throw new Error(`route-map ${name} matches missing ${rm.list}`);
  }
  const sorted = new Map<string, PrefixList>();
  for (const [name, l] of lists) {
    sorted.set(name, { family: l.family, entries: [...l.entries].sort((a, b) => a.seq - b.seq) });
  }
  return { lists: sorted, routeMaps };
}

/** Whether one entry matches a route prefix. */
export function entryMatches(entry: PrefixListEntry, route: IpPrefix): boolean {
  if (!contains(entry.prefix, route)) return false;
  if (entry.le === undefined) return route.length === entry.prefix.length;
  return route.length <= entry.le;
}

/** What a prefix-list decides for a route: first match wins, implicit deny. */
export function evaluatePrefixList(
  list: PrefixList,
  route: IpPrefix,
): { action: "permit" | "deny"; entry?: PrefixListEntry } {
  if (route.family !== list.family) return { action: "deny" };
  for (const entry of list.entries) {
    if (entryMatches(entry, route)) return { action: entry.action, entry };
  }
  return { action: "deny" };
}

/** Whether `redistribute … route-map NAME` lets a route through. Throws for a missing map. */
export function routeMapPermits(policy: PolicyModel, name: string, route: IpPrefix): boolean {
  const rm = policy.routeMaps.get(name);
  if (!rm) throw new Error(`route-map ${name} is not rendered`);
  if (route.family !== rm.family) return false;
  return evaluatePrefixList(policy.lists.get(rm.list)!, route).action === "permit";
}
