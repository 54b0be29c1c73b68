/**
 * The pure part of the return path: which `Logical_Router_Static_Route` rows the agent
 * wants (from the routes imported into each tenant's VRF), how the rows it already owns
 * are read from a `select` result, and the one transaction that turns the latter into the
 * former. No I/O here.
 *
 * Rules:
 * - one row per (tenant, prefix); `nexthop` is the configured nexthop of the prefix's family,
 *   a family without one is skipped (reported as `no-nexthop`);
 * - any prefix is accepted, the default route included (a FortiGate commonly sends one per
 *   VRF and it is the usual return path), except prefixes inside one of the tenant's own
 *   exported prefixes (`own-prefix`: a loop back into the tenant) and IPv6 link-local /
 *   multicast or IPv4 multicast destinations (`not-unicast`);
 * - rows without `external_ids:"vpnv4-agent:owner"="vpnv4-agent"` are never read as ours,
 *   never mutated, never unreferenced.
 * @module
 */
import { formatPrefix, type IpPrefix, prefixContains, tryParsePrefix } from "../net/mod.ts";
import { ops } from "../ovsdb/mod.ts";
import type { Operation } from "../ovsdb/mod.ts";

/** The OVN NB table of static routes. */
export const STATIC_ROUTE_TABLE = "Logical_Router_Static_Route";
/** The OVN NB table of logical routers. */
export const ROUTER_TABLE = "Logical_Router";
/** `external_ids` key marking rows owned by the agent. */
export const OWNER_KEY = "vpnv4-agent:owner";
/** Value of {@link OWNER_KEY} on the agent's rows. */
export const OWNER_VALUE = "vpnv4-agent";
/** `external_ids` key naming the tenant of a row. */
export const TENANT_KEY = "vpnv4-agent:tenant";
/** `external_ids` key naming the tenant's VRF. */
export const VRF_KEY = "vpnv4-agent:vrf";

/** The routes imported into one tenant's VRF table. */
export interface TenantImport {
  /** Tenant name. */
  readonly tenant: string;
  /** The tenant's VRF device name (recorded in `external_ids`). */
  readonly vrf: string;
  /** The tenant's own exported prefixes (imports inside them are refused). */
  readonly exported: readonly IpPrefix[];
  /** Destinations of the imported routes (duplicates are fine). */
  readonly routes: readonly IpPrefix[];
}

/** The part of `config.import` that shapes rows. */
export interface RowSettings {
  /** Nexthop of IPv4 routes; without it IPv4 imports are skipped. */
  readonly nexthopV4?: string;
  /** Nexthop of IPv6 routes; without it IPv6 imports are skipped. */
  readonly nexthopV6?: string;
  /** Tenant name → `route_table` ("" when absent). */
  readonly routeTables?: Readonly<Record<string, string>>;
}

/** One row the agent wants. */
export interface DesiredRow {
  readonly tenant: string;
  readonly vrf: string;
  /** Canonical prefix text, e.g. `198.51.100.0/24`, `::/0`. */
  readonly ipPrefix: string;
  readonly nexthop: string;
  readonly routeTable: string;
}

/** Why an imported route got no row. */
export type SkipReason = "no-nexthop" | "own-prefix" | "not-unicast";

/** An imported route that got no row. */
export interface SkippedRoute {
  readonly tenant: string;
  readonly prefix: string;
  readonly family: 4 | 6;
  readonly reason: SkipReason;
}

/** Result of {@link desiredRows}. */
export interface DesiredRows {
  /** Sorted by tenant, then prefix text. */
  readonly rows: DesiredRow[];
  readonly skipped: SkippedRoute[];
  /** Rows per tenant (every tenant of the input appears, possibly with 0). */
  readonly perTenant: Map<string, number>;
}

function notUnicast(p: IpPrefix): boolean {
  if (p.length === 0) return false;
  if (p.family === 4) return p.length >= 4 && (p.bytes[0] & 0xf0) === 0xe0;
  if (p.bytes[0] === 0xff && p.length >= 8) return true;
  return p.length >= 10 && p.bytes[0] === 0xfe && (p.bytes[1] & 0xc0) === 0x80;
}

/** Computes the rows the agent wants from each tenant's imported routes. */
export function desiredRows(imports: Iterable<TenantImport>, settings: RowSettings): DesiredRows {
  const rows: DesiredRow[] = [];
  const skipped: SkippedRoute[] = [];
  const perTenant = new Map<string, number>();
  for (const imp of imports) {
    const seen = new Set<string>();
    const routeTable = settings.routeTables?.[imp.tenant] ?? "";
    let n = 0;
    for (const p of imp.routes) {
      const prefix = formatPrefix(p);
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      const skip = (reason: SkipReason) =>
        skipped.push({ tenant: imp.tenant, prefix, family: p.family, reason });
      if (notUnicast(p)) {
        skip("not-unicast");
        continue;
      }
      if (imp.exported.some((own) => prefixContains(own, p))) {
        skip("own-prefix");
        continue;
      }
      const nexthop = p.family === 4 ? settings.nexthopV4 : settings.nexthopV6;
      if (!nexthop) {
        skip("no-nexthop");
        continue;
      }
      rows.push({ tenant: imp.tenant, vrf: imp.vrf, ipPrefix: prefix, nexthop, routeTable });
      n++;
    }
    perTenant.set(imp.tenant, (perTenant.get(imp.tenant) ?? 0) + n);
  }
  rows.sort((a, b) =>
    a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.ipPrefix < b.ipPrefix ? -1 : 1
  );
  return { rows, skipped, perTenant };
}

/** A row carrying the owner marker, as read from NB. */
export interface OwnedRow {
  readonly uuid: string;
  readonly ipPrefix: string;
  readonly nexthop: string;
  readonly routeTable: string;
  readonly tenant: string;
  readonly vrf: string;
  /** `policy` ("" when unset). */
  readonly policy: string;
  /** `output_port` ("" when unset). */
  readonly outputPort: string;
}

/** A logical router and the uuids of its static routes. */
export interface RouterRef {
  readonly uuid: string;
  readonly name: string;
  readonly staticRoutes: readonly string[];
}

/** What the agent owns in NB right now. */
export interface NbState {
  readonly rows: readonly OwnedRow[];
  readonly routers: readonly RouterRef[];
}

/** Options of {@link diffRows}. */
export interface DiffOptions {
  /** Name of the Logical_Router that gets the rows. */
  readonly router: string;
  /** Tenants whose rows stay exactly as they are (their routes could not be read). */
  readonly keepTenants?: ReadonlySet<string>;
}

/** Result of {@link diffRows}. */
export interface RowDiff {
  /** The operations of the one transaction (empty when nothing changes). */
  readonly ops: Operation[];
  readonly insert: DesiredRow[];
  readonly remove: OwnedRow[];
  /** Owned rows already right. */
  readonly kept: number;
  /** Uuid of the target router (undefined: not found, see `routerError`). */
  readonly routerUuid?: string;
  /** Set when the router is missing or ambiguous; `ops` then holds no inserts. */
  readonly routerError?: string;
  /** Index in `ops` of the target router's mutate (its `count` must be 1). */
  readonly routerOpIndex?: number;
}

function rowKey(r: { tenant: string; ipPrefix: string }): string {
  return `${r.tenant}\u0000${r.ipPrefix}`;
}

function normPrefix(text: string): string {
  // ovn-nbctl writes /32 and /128 host routes without the length.
  const p = tryParsePrefix(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
  return p ? formatPrefix(p) : text;
}

function matches(o: OwnedRow, d: DesiredRow): boolean {
  return o.nexthop === d.nexthop && o.routeTable === d.routeTable && o.vrf === d.vrf &&
    (o.policy === "" || o.policy === "dst-ip") && o.outputPort === "";
}

/** The `external_ids` of a desired row. */
export function rowExternalIds(row: DesiredRow): Map<string, string> {
  return new Map([[OWNER_KEY, OWNER_VALUE], [TENANT_KEY, row.tenant], [VRF_KEY, row.vrf]]);
}

/**
 * Diffs the desired rows against the owned rows: inserts the missing rows and references
 * them from `options.router`, unreferences stale owned rows from every router (the table is
 * not a root table, so an unreferenced row is garbage collected), and keeps rows that are
 * already right (a duplicate of a kept row is stale). All in one list of operations.
 */
export function diffRows(
  desired: readonly DesiredRow[],
  state: NbState,
  options: DiffOptions,
): RowDiff {
  const candidates = state.routers.filter((r) => r.name === options.router);
  const target = candidates.length === 1 ? candidates[0] : undefined;
  const routerError = candidates.length === 0
    ? `logical router ${options.router} not found in OVN NB`
    : candidates.length > 1
    ? `logical router name ${options.router} is ambiguous (${candidates.length} routers)`
    : undefined;
  const keep = options.keepTenants ?? new Set<string>();
  const owned = new Map(state.rows.map((r) => [r.uuid, r]));
  const refs = new Map<string, string[]>(); // row uuid → routers referencing it
  for (const router of state.routers) {
    for (const u of router.staticRoutes) {
      if (!owned.has(u)) continue;
      const list = refs.get(u);
      if (list) list.push(router.uuid);
      else refs.set(u, [router.uuid]);
    }
  }
  const want = new Map(desired.map((d) => [rowKey(d), d]));
  const satisfied = new Set<string>();
  const remove: OwnedRow[] = [];
  const unref = new Map<string, string[]>(); // router uuid → row uuids to drop
  const drop = (routerUuid: string, rowUuid: string) => {
    const list = unref.get(routerUuid);
    if (list) list.push(rowUuid);
    else unref.set(routerUuid, [rowUuid]);
  };
  let kept = 0;
  // Sorted by uuid so agents on several nodes agree on which duplicate survives.
  for (const row of [...state.rows].sort((a, b) => (a.uuid < b.uuid ? -1 : 1))) {
    const routers = refs.get(row.uuid) ?? [];
    const norm = { ...row, ipPrefix: normPrefix(row.ipPrefix) };
    const key = rowKey(norm);
    let removed = false;
    for (const r of routers) {
      if (candidates.some((c) => c.uuid === r)) {
        if (!target) continue; // ambiguous name: leave its rows alone
        if (keep.has(row.tenant)) continue;
        const d = want.get(key);
        if (d && !satisfied.has(key) && matches(norm, d)) {
          satisfied.add(key);
          kept++;
          continue;
        }
      }
      drop(r, row.uuid);
      removed = true;
    }
    if (removed) remove.push(row);
  }
  const insert = target
    ? desired.filter((d) => !keep.has(d.tenant) && !satisfied.has(rowKey(d)))
    : [];
  const out: Operation[] = [];
  const named: ReturnType<typeof ops.namedUuid>[] = [];
  insert.forEach((d, i) => {
    const name = `import${i}`;
    out.push(ops.insert(STATIC_ROUTE_TABLE, {
      ip_prefix: d.ipPrefix,
      nexthop: d.nexthop,
      route_table: d.routeTable,
      external_ids: rowExternalIds(d),
    }, { uuidName: name }));
    named.push(ops.namedUuid(name));
  });
  let routerOpIndex: number | undefined;
  if (target) {
    const mutations: ops.Mutation[] = [];
    if (named.length > 0) mutations.push(["static_routes", "insert", named]);
    const gone = unref.get(target.uuid);
    if (gone) mutations.push(["static_routes", "delete", gone.map((u) => ops.uuid(u))]);
    if (mutations.length > 0) {
      routerOpIndex = out.length;
      out.push(ops.mutate(ROUTER_TABLE, [ops.cond("_uuid", "==", ops.uuid(target.uuid))], {
        mutations,
      }));
    }
  }
  for (const [routerUuid, rows] of unref) {
    if (target && routerUuid === target.uuid) continue;
    out.push(ops.mutate(ROUTER_TABLE, [ops.cond("_uuid", "==", ops.uuid(routerUuid))], {
      mutations: [["static_routes", "delete", rows.map((u) => ops.uuid(u))]],
    }));
  }
  return { ops: out, insert, remove, kept, routerUuid: target?.uuid, routerError, routerOpIndex };
}

/** Operations that unreference every owned row from every router (withdraw). */
export function withdrawOps(state: NbState): Operation[] {
  return diffRows([], state, { router: "\u0000none" }).ops;
}

// ---- reading `select` results -------------------------------------------------------------

function atom(v: unknown): string {
  if (Array.isArray(v) && v.length === 2 && (v[0] === "uuid" || v[0] === "named-uuid")) {
    return String(v[1]);
  }
  return String(v);
}

function setOf(v: unknown): string[] {
  if (Array.isArray(v) && v[0] === "set" && Array.isArray(v[1])) return v[1].map(atom);
  return v === undefined ? [] : [atom(v)];
}

function mapOf(v: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (Array.isArray(v) && v[0] === "map" && Array.isArray(v[1])) {
    for (const pair of v[1] as unknown[]) {
      if (Array.isArray(pair) && pair.length === 2) m.set(atom(pair[0]), atom(pair[1]));
    }
  }
  return m;
}

/** Operations reading {@link NbState}: the owned static routes, then all routers. */
export function readStateOps(): Operation[] {
  return [
    ops.select(STATIC_ROUTE_TABLE, [
      ops.cond("external_ids", "includes", new Map([[OWNER_KEY, OWNER_VALUE]])),
    ], {
      columns: [
        "_uuid",
        "ip_prefix",
        "nexthop",
        "route_table",
        "external_ids",
        "policy",
        "output_port",
      ],
    }),
    ops.select(ROUTER_TABLE, [], { columns: ["_uuid", "name", "static_routes"] }),
  ];
}

/**
 * Parses the results of {@link readStateOps}. Rows whose `external_ids` lack the owner
 * marker are dropped here too, whatever the server returned.
 */
export function parseState(
  routeRows: readonly Record<string, unknown>[],
  routerRows: readonly Record<string, unknown>[],
): NbState {
  const rows: OwnedRow[] = [];
  for (const r of routeRows) {
    const ids = mapOf(r.external_ids);
    if (ids.get(OWNER_KEY) !== OWNER_VALUE) continue;
    rows.push({
      uuid: atom(r._uuid),
      ipPrefix: String(r.ip_prefix ?? ""),
      nexthop: String(r.nexthop ?? ""),
      routeTable: String(r.route_table ?? ""),
      tenant: ids.get(TENANT_KEY) ?? "",
      vrf: ids.get(VRF_KEY) ?? "",
      policy: setOf(r.policy)[0] ?? "",
      outputPort: setOf(r.output_port)[0] ?? "",
    });
  }
  const routers = routerRows.map((r) => ({
    uuid: atom(r._uuid),
    name: String(r.name ?? ""),
    staticRoutes: setOf(r.static_routes),
  }));
  return { rows, routers };
}
