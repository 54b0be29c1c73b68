/**
 * The checks every rendered configuration and every vtysh batch must pass:
 * - {@link checkLines}: each line is in the strict grammar and binds to what it belongs to
 *   (instance of an allocated VRF, its own RD and RT, the export route-map of the family of its
 *   address-family, prefix-list CIDRs that are policy ranges or default routes, never a tenant
 *   prefix);
 * - {@link checkPolicyFilter}: the rendered export policy, evaluated as FRR would, permits a
 *   route exactly when the oracle says it may be exported.
 * @module
 */
import { assert, assertEquals } from "../support/assert.ts";
import { formatPrefix, type IpPrefix, parsePrefix } from "../../src/net/mod.ts";
import type { Allocation } from "../../src/allocate/mod.ts";
import { classifyLine } from "./_grammar.ts";
import { exportable, type ModelPolicy } from "./_oracle.ts";
import { parsePolicy, routeMapPermits } from "./_prefix_list.ts";

/** What the lines of one render or batch may refer to. */
export interface LineContext {
  /** Local ASN. */
  asn: number;
  /** Allocations of the tenants of the render, by VRF. */
  byVrf: ReadonlyMap<string, Allocation>;
  /** VRFs whose instance a batch may remove (`no router bgp ASN vrf X`). */
  removable?: ReadonlySet<string>;
  /** VRFs whose per-VRF objects of an earlier version a batch may remove. */
  legacy?: ReadonlySet<string>;
  /** The policy ranges of the configuration (texts as configured). */
  policy: { allowed: readonly string[]; deny: readonly string[] };
  /** Canonical texts of every tenant prefix of the render (none may appear in a line). */
  tenantPrefixes: Iterable<string>;
  /** For messages. */
  where: string;
}

/** What {@link checkLines} saw. */
export interface LineSummary {
  /** VRF → families redistributed (through the export route-map of that family). */
  redistributed: Map<string, Set<4 | 6>>;
  /** VRFs with an instance header. */
  instances: string[];
  /** VRFs whose instance was removed. */
  removed: string[];
  /** VRFs whose earlier per-VRF objects were removed. */
  legacyRemoved: Set<string>;
  prefixListLines: number;
}

/** Checks every line against the grammar and binds each value; see the module doc. */
export function checkLines(lines: readonly string[], ctx: LineContext): LineSummary {
  const { where } = ctx;
  const rangeTexts = new Set(
    ["0.0.0.0/0", "::/0", ...ctx.policy.allowed, ...ctx.policy.deny].map((t) =>
      formatPrefix(parsePrefix(t))
    ),
  );
  // A tenant prefix may legitimately equal a configured range; any other one must not show.
  const forbidden = new Set([...ctx.tenantPrefixes].filter((p) => !rangeTexts.has(p)));
  const summary: LineSummary = {
    redistributed: new Map(),
    instances: [],
    removed: [],
    legacyRemoved: new Set(),
    prefixListLines: 0,
  };
  let vrf: string | undefined; // inside `router bgp ASN vrf X`
  let af: 4 | 6 | undefined; // inside ` address-family ipvN unicast` of a VRF instance
  for (const line of lines) {
    const c = classifyLine(line);
    assert(c, `${where}: line outside the grammar: ${JSON.stringify(line)}`);
    for (const token of line.trim().split(" ")) {
      assert(!forbidden.has(token), `${where}: tenant prefix ${token} in ${JSON.stringify(line)}`);
    }
    const g = c.groups;
    switch (c.kind) {
      case "routerBgpVrf":
        vrf = g[1]!;
        af = undefined;
        assert(ctx.byVrf.has(vrf), `${where}: instance of unknown VRF ${vrf}`);
        assertEquals(Number(g[0]), ctx.asn, `${where}: ASN of VRF ${vrf}`);
        summary.instances.push(vrf);
        break;
      case "noRouterBgpVrf":
        assert(ctx.removable?.has(g[1]!), `${where}: removes instance of VRF ${g[1]} not gone`);
        assert(!ctx.byVrf.has(g[1]!), `${where}: removes the instance of present VRF ${g[1]}`);
        assertEquals(Number(g[0]), ctx.asn, `${where}: ASN of removed VRF ${g[1]}`);
        summary.removed.push(g[1]!);
        break;
      case "noLegacyRouteMap":
      case "noLegacyPrefixList":
        assert(ctx.legacy?.has(g[0]!), `${where}: ${JSON.stringify(line)} of no earlier VRF`);
        summary.legacyRemoved.add(g[0]!);
        break;
      case "routerBgp":
      case "exit":
      case "separator":
        vrf = undefined;
        af = undefined;
        break;
      case "addressFamily":
        if (vrf !== undefined) {
          assertEquals(g[1], "unicast", `${where}: VRF ${vrf} has ${line.trim()}`);
          af = g[0] === "ipv4" ? 4 : 6;
        }
        break;
      case "exitAf":
        af = undefined;
        break;
      case "redistribute": {
        assert(vrf !== undefined && af !== undefined, `${where}: redistribute outside a VRF AF`);
        assertEquals(Number(g[0]), af, `${where}: VRF ${vrf} IPv${af} uses the V${g[0]} map`);
        const set = summary.redistributed.get(vrf) ?? new Set();
        assert(!set.has(af), `${where}: VRF ${vrf} redistributes IPv${af} twice`);
        summary.redistributed.set(vrf, set.add(af));
        break;
      }
      case "rd":
      case "rt":
        assert(vrf !== undefined && af !== undefined, `${where}: ${c.kind} outside a VRF AF`);
        assertEquals(g[0], ctx.byVrf.get(vrf)![c.kind], `${where}: ${c.kind} of VRF ${vrf}`);
        break;
      case "prefixList4":
      case "prefixList6":
      case "noPrefixList4":
      case "noPrefixList6": {
        const cidr = `${g[2]}/${g[3]}`;
        assert(rangeTexts.has(cidr), `${where}: ${cidr} is neither a policy range nor default`);
        summary.prefixListLines++;
        break;
      }
    }
  }
  return summary;
}

/** Probe counts of {@link checkPolicyFilter}. */
export interface FilterCounts {
  permitted: number;
  denied: number;
}

/**
 * Evaluates the export policy read from `lines` (route-maps `VPNV4-EXPORT-V4/V6`, as the VRF
 * instances redistribute through them) for every probe, against the oracle's `exportable`.
 */
export function checkPolicyFilter(
  lines: readonly string[],
  probes: Iterable<IpPrefix>,
  options: { policy: ModelPolicy; where: string; counts?: FilterCounts },
): void {
  const { policy, where } = options;
  let model;
  try {
    model = parsePolicy(lines);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
  }
  for (const p of probes) {
    const permitted = routeMapPermits(model, `VPNV4-EXPORT-V${p.family}`, p);
    const want = exportable(p, policy);
    assertEquals(
      permitted,
      want,
      `${where}: the export policy ${permitted ? "permits" : "denies"} ${formatPrefix(p)}`,
    );
    if (options.counts) {
      if (permitted) options.counts.permitted++;
      else options.counts.denied++;
    }
  }
}
