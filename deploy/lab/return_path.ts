/**
 * Witnesses of the lab's return path (a FortiGate route imported into a tenant's VRF and then
 * written to OVN NB by the agent): the kernel routes of a VRF (`ip -j route show vrf`) and the
 * `Logical_Router_Static_Route` rows of OVN NB (`ovn-nbctl --format=json list`), read as plain
 * records. Test-side witnesses only: the agent itself never shells out.
 * @module
 */
import type { OvnDbInstance } from "../../tests/support/ovn_nb.ts";
import { runOk } from "../../tests/support/proc.ts";

/** One kernel route of a VRF as `ip -j route show vrf` prints it (fields used here). */
export interface KernelRoute {
  dst: string;
  protocol?: string;
  type?: string;
  gateway?: string;
  dev?: string;
  /** `encap mpls` label stack, e.g. `16/100`. */
  labels?: string;
}

/** One `Logical_Router_Static_Route` row. */
export interface StaticRouteRow {
  uuid: string;
  ipPrefix: string;
  nexthop: string;
  routeTable: string;
  externalIds: Record<string, string>;
  /** Whether the logical router's `static_routes` references the row. */
  onRouter: boolean;
}

/** The return path of one prefix: the kernel route in the VRF and the NB rows for it. */
export interface ReturnPathState {
  vrf: string;
  prefix: string;
  /** The kernel route for the prefix in the VRF's table, if any. */
  kernel?: KernelRoute;
  /** Every NB static route row for the prefix (the agent's and anyone else's). */
  rows: StaticRouteRow[];
  /** Milliseconds from the start of the wait until the state was observed. */
  ms?: number;
}

const ROUTE_TYPES = new Set([
  "unicast",
  "blackhole",
  "unreachable",
  "prohibit",
  "throw",
  "local",
  "broadcast",
  "anycast",
  "multicast",
  "nat",
]);

/**
 * Parses one line of `ip route show` (text, not `-j`: iproute2 prints the `encap mpls` label
 * stack under a second `"dst"` key, which makes the JSON ambiguous).
 */
export function parseRouteLine(line: string, family: 4 | 6): KernelRoute | undefined {
  const words = line.trim().split(/\s+/);
  if (!words[0]) return undefined;
  let type: string | undefined;
  if (ROUTE_TYPES.has(words[0])) type = words.shift();
  let dst = words.shift()!;
  if (dst === "default") dst = family === 4 ? "0.0.0.0/0" : "::/0";
  if (!dst.includes("/")) dst = `${dst}/${family === 4 ? 32 : 128}`;
  const route: KernelRoute = { dst, type: type ?? "unicast" };
  for (let i = 0; i < words.length - 1; i++) {
    const [k, v] = [words[i], words[i + 1]];
    if (k === "proto") route.protocol = v;
    else if (k === "via") route.gateway = v === "inet" || v === "inet6" ? words[i + 2] : v;
    else if (k === "dev") route.dev = v;
    else if (k === "encap" && v === "mpls") route.labels = words[i + 2];
  }
  return route;
}

/** Kernel routes (IPv4 and IPv6) of VRF `vrf` in network namespace `netns`. */
export async function vrfKernelRoutes(netns: string, vrf: string): Promise<KernelRoute[]> {
  const out: KernelRoute[] = [];
  for (const family of [4, 6] as const) {
    const text = await runOk("ip", ["-n", netns, `-${family}`, "route", "show", "vrf", vrf]);
    for (const line of text.split("\n")) {
      const r = parseRouteLine(line, family);
      if (r) out.push(r);
    }
  }
  return out;
}

type OvsdbValue = unknown;

function ovsdbMap(value: OvsdbValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(value) && value[0] === "map") {
    for (const [k, v] of value[1] as [string, string][]) out[k] = String(v);
  }
  return out;
}

function ovsdbUuids(value: OvsdbValue): string[] {
  if (!Array.isArray(value)) return [];
  if (value[0] === "uuid") return [String(value[1])];
  if (value[0] === "set") return (value[1] as [string, string][]).map((u) => String(u[1]));
  return [];
}

function ovsdbString(value: OvsdbValue): string {
  if (Array.isArray(value) && value[0] === "set") {
    const items = value[1] as unknown[];
    return items.length ? String(items[0]) : "";
  }
  return typeof value === "string" ? value : String(value ?? "");
}

async function nbList(
  nb: OvnDbInstance,
  table: string,
  columns: string[],
): Promise<Record<string, OvsdbValue>[]> {
  const text = await nb.nbctl([
    "--format=json",
    `--columns=${columns.join(",")}`,
    "list",
    table,
  ]);
  const doc = JSON.parse(text) as { headings: string[]; data: OvsdbValue[][] };
  return doc.data.map((row) => Object.fromEntries(doc.headings.map((h, i) => [h, row[i]])));
}

/** Every `Logical_Router_Static_Route` row, with whether logical router `router` holds it. */
export async function staticRoutes(nb: OvnDbInstance, router: string): Promise<StaticRouteRow[]> {
  const routers = await nbList(nb, "Logical_Router", ["name", "static_routes"]);
  const held = new Set(
    routers.filter((r) => ovsdbString(r.name) === router).flatMap((r) =>
      ovsdbUuids(r.static_routes)
    ),
  );
  const rows = await nbList(nb, "Logical_Router_Static_Route", [
    "_uuid",
    "ip_prefix",
    "nexthop",
    "route_table",
    "external_ids",
  ]);
  return rows.map((r) => {
    const uuid = ovsdbUuids(r._uuid)[0] ?? "";
    return {
      uuid,
      ipPrefix: ovsdbString(r.ip_prefix),
      nexthop: ovsdbString(r.nexthop),
      routeTable: ovsdbString(r.route_table),
      externalIds: ovsdbMap(r.external_ids),
      onRouter: held.has(uuid),
    };
  });
}

/** Reads the return path of `prefix` through VRF `vrf`: its kernel route and its NB rows. */
export async function readReturnPath(
  nb: OvnDbInstance,
  options: { netns: string; vrf: string; prefix: string; router: string },
): Promise<ReturnPathState> {
  const kernel = (await vrfKernelRoutes(options.netns, options.vrf)).find((r) =>
    r.dst === options.prefix
  );
  const rows = (await staticRoutes(nb, options.router)).filter((r) =>
    r.ipPrefix === options.prefix
  );
  return { vrf: options.vrf, prefix: options.prefix, kernel, rows };
}

/** The agent's `external_ids` on a return-path row of tenant `tenant` (VRF `vrf`). */
export function agentExternalIds(tenant: string, vrf: string): Record<string, string> {
  return {
    "vpnv4-agent:owner": "vpnv4-agent",
    "vpnv4-agent:tenant": tenant,
    "vpnv4-agent:vrf": vrf,
  };
}

/**
 * Problems with a return path that should be complete: a BGP route in the VRF table and
 * exactly one NB row for the prefix, owned by the agent for `tenant`, with `nexthop`, and
 * referenced by the router. Empty when all hold.
 */
export function returnPathProblems(
  state: ReturnPathState,
  expect: { tenant: string; nexthop: string },
): string[] {
  const problems: string[] = [];
  const where = `${state.prefix} (VRF ${state.vrf})`;
  if (!state.kernel) problems.push(`${where}: not in the VRF's kernel table`);
  else if (state.kernel.protocol !== "bgp") {
    problems.push(`${where}: kernel route has protocol ${state.kernel.protocol}, not bgp`);
  }
  if (state.rows.length !== 1) {
    problems.push(`${where}: ${state.rows.length} NB static route rows, want 1`);
  }
  const want = agentExternalIds(expect.tenant, state.vrf);
  for (const row of state.rows) {
    for (const [k, v] of Object.entries(want)) {
      if (row.externalIds[k] !== v) {
        problems.push(
          `${where}: row ${row.uuid} external_ids ${k}=${row.externalIds[k]}, want ${v}`,
        );
      }
    }
    if (row.nexthop !== expect.nexthop) {
      problems.push(`${where}: row nexthop ${row.nexthop}, want ${expect.nexthop}`);
    }
    if (!row.onRouter) problems.push(`${where}: row ${row.uuid} is not on the logical router`);
  }
  return problems;
}
