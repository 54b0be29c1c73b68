/**
 * Reading GoBGP's VPN RIBs (`gobgp … rib -j`, GoBGP 3.x) as flat route records: RD, RT,
 * label and nexthop per VPN prefix. Shared by the lab and its e2e test.
 * @module
 */
import type { GobgpPath } from "../../tests/support/gobgp.ts";

export type { GobgpPath };

/** `gobgp … rib -j`: paths keyed by (RD-qualified) prefix. */
export type GobgpRib = Record<string, GobgpPath[]>;

/** One VPN route as GoBGP holds it. */
export interface VpnRoute {
  /** RIB key, e.g. `65000:1315:10.244.0.5/32`. */
  key: string;
  /** The IP prefix without RD. */
  prefix: string;
  /** Route distinguisher as `ADMIN:ASSIGNED`. */
  rd: string;
  /** Route-target extended communities (`ADMIN:ASSIGNED`). */
  rts: string[];
  /** MPLS labels of the NLRI. */
  labels: number[];
  /** BGP nexthop (MP_REACH or NEXT_HOP). */
  nexthop?: string;
}

/** The RD of a GoBGP NLRI as text. */
export function rdText(rd: GobgpPath["nlri"]["rd"]): string {
  return rd ? `${rd.admin}:${rd.assigned}` : "";
}

/** Route targets of a path (extended communities, attribute type 16). */
export function routeTargets(path: GobgpPath): string[] {
  const attr = path.attrs.find((a) => a.type === 16) as
    | { value?: { type?: number; subtype?: number; value?: string }[] }
    | undefined;
  return (attr?.value ?? [])
    .filter((c) => c.subtype === undefined || c.subtype === 2)
    .map((c) => String(c.value));
}

/** The BGP nexthop of a path (MP_REACH_NLRI, type 14, or NEXT_HOP, type 3). */
export function nexthopOf(path: GobgpPath): string | undefined {
  for (const type of [14, 3]) {
    const attr = path.attrs.find((a) => a.type === type) as { nexthop?: string } | undefined;
    if (attr?.nexthop) return attr.nexthop;
  }
  return undefined;
}

/** Flattens a VPN RIB (best path per key, or the first). */
export function vpnRoutes(rib: GobgpRib): VpnRoute[] {
  return Object.entries(rib).map(([key, paths]) => {
    const path = paths.find((p) => p.best) ?? paths[0];
    return {
      key,
      prefix: path.nlri.prefix ?? key,
      rd: rdText(path.nlri.rd),
      rts: routeTargets(path),
      labels: path.nlri.labels ?? [],
      nexthop: nexthopOf(path),
    };
  }).sort((a, b) => a.key.localeCompare(b.key));
}

/** The IP prefixes held in a (VRF) RIB, whatever the key style (with or without RD). */
export function prefixesOf(rib: GobgpRib): string[] {
  return Object.entries(rib).map(([key, paths]) => paths[0]?.nlri.prefix ?? key).sort();
}

/** A fixed-width table of routes for the evidence output. */
export function routeTable(routes: VpnRoute[], vrfOf: (r: VpnRoute) => string): string {
  const header = ["PREFIX", "RD", "RT", "LABEL", "NEXTHOP", "IMPORTED INTO VRF"];
  const rows = routes.map((r) => [
    r.prefix,
    r.rd,
    r.rts.join(",") || "-",
    r.labels.join(",") || "-",
    r.nexthop ?? "-",
    vrfOf(r) || "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i].length)));
  return [header, ...rows].map((c) => c.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}
