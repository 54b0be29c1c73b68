/**
 * What the kernel plane makes of a desired state, and what a kernel actually holds.
 *
 * src/agent/kernel_plane.ts has no pure function for its mapping (it is inlined in
 * `KernelPlaneAdapter.reconcile`), so {@link desiredKernelRoutes} rebuilds it the same way: in
 * a full round every current tenant's table is synced to exactly the tenant's prefixes
 * (`syncRoutes(allocation.table, tenant.prefixes)`), then every retired allocation's table is
 * synced to nothing. A later sync of the same table replaces an earlier one, as `syncRoutes`
 * does. The real-kernel property in kernel_routes_test.ts checks this model against what the
 * real adapter leaves in a kernel.
 * @module
 */
import { formatPrefix, tryParsePrefix } from "../../src/net/mod.ts";
import type { Desired } from "../../src/agent/plane.ts";
import { run } from "../support/netns.ts";

/** Route table id → canonical prefix texts (sorted). */
export type TableRoutes = Map<number, string[]>;

/** The routes a full kernel-plane round leaves behind, per table (empty tables left out). */
export function desiredKernelRoutes(desired: Desired): TableRoutes {
  const tables = new Map<number, string[]>();
  for (const { tenant, allocation } of desired.tenants.values()) {
    tables.set(allocation.table, [...new Set(tenant.prefixes.map(formatPrefix))].sort());
  }
  for (const allocation of desired.retired) tables.set(allocation.table, []);
  return new Map([...tables].filter(([, p]) => p.length > 0).sort(([a], [b]) => a - b));
}

interface IpRoute {
  type?: string;
  dst: string;
  table?: string | number;
  protocol?: string | number;
}

/**
 * The routes of one rtm_protocol in every table of a network namespace (`ip -j route show
 * table all`, both families), as the witness of what the kernel holds. Throws when such a
 * route is not a blackhole or its destination does not parse.
 */
export async function kernelRoutes(ns: string, protocol: number): Promise<TableRoutes> {
  const tables = new Map<number, string[]>();
  for (const family of ["-4", "-6"]) {
    const out = await run(["ip", "-n", ns, "-j", family, "route", "show", "table", "all"]);
    const routes = JSON.parse(out.stdout.trim() || "[]") as IpRoute[];
    for (const r of routes) {
      if (String(r.protocol) !== String(protocol)) continue;
      const text = r.dst === "default" ? (family === "-4" ? "0.0.0.0/0" : "::/0") : r.dst;
      const prefix = tryParsePrefix(text, { allowBareAddress: true });
      if (!prefix || r.type !== "blackhole") {
        throw new Error(`unexpected route of protocol ${protocol}: ${JSON.stringify(r)}`);
      }
      const table = r.table === "main" ? 254 : Number(r.table ?? 254);
      const list = tables.get(table) ?? [];
      list.push(formatPrefix(prefix));
      tables.set(table, list);
    }
  }
  return new Map([...tables].map(([t, p]) => [t, p.sort()] as const).sort(([a], [b]) => a - b));
}
