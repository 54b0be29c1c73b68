/**
 * The pure allocation step: previous state + desired tenants + configuration → next state and
 * every active tenant's {@link Allocation}. No I/O, no clock (the time is passed in).
 *
 * Rules:
 * - A tenant found in the state keeps its VRF name and table (retired ones are revived as they
 *   were). Only a table outside the configured range is moved (the operator changed the range).
 * - New tenants are placed in name order, so the outcome does not depend on the order in
 *   which tenants are listed: VRF name by {@link chooseVrfName}, table by the sha256 of the name
 *   within `allocation.table_range`, probing upwards (wrapping) past taken and reserved ids.
 * - Tenants missing from the input are retired (kept with a timestamp). A retired allocation is
 *   reclaimed only when the range has no free table left, oldest retirement first.
 * - RD and RT are `administrator:table`, unless the tenant overrides them. Tables whose derived
 *   RD/RT equals another tenant's override are skipped; a remaining collision is an error.
 */
import type { Config } from "../config/mod.ts";
import { TENANT_NAME } from "../tenants/model.ts";
import type { Allocation } from "./model.ts";
import {
  formatRouteDistinguisher,
  makeRouteDistinguisher,
  parseRouteDistinguisher,
} from "./route_distinguisher.ts";
import {
  type AllocationSettings,
  allocationSettings,
  isUsableTable,
  usableTableCount,
  validateAllocationConfig,
} from "./config.ts";
import { AllocationError } from "./errors.ts";
import { type HashFunction, hashToInt, sha256 } from "./hash.ts";
import type { AllocationState, StateEntry } from "./state.ts";
import { chooseVrfName } from "./vrf_name.ts";

/** What the allocator needs of a tenant: its name and optional RD/RT overrides. */
export interface TenantRequest {
  readonly name: string;
  readonly rd?: string;
  readonly rt?: string;
}

/** Options for {@link planAllocations}. */
export interface PlanOptions {
  /** The validated configuration (`allocation`, `bgp.asn`). */
  config: Config;
  /** The time recorded for new and retired allocations (default: now). */
  now?: Date;
  /** Hash of tenant names (default sha256); tests inject colliding ones. */
  hash?: HashFunction;
}

/** The outcome of {@link planAllocations}. */
export interface AllocationPlan {
  /** The next state (the previous one is not modified). */
  readonly state: AllocationState;
  /** Every requested tenant's allocation, in name order. */
  readonly allocations: Map<string, Allocation>;
  /** Whether `state` differs from the previous state (it needs saving). */
  readonly changed: boolean;
  /** Tenants given a new allocation. */
  readonly allocated: readonly string[];
  /** Retired tenants that came back with their previous allocation. */
  readonly revived: readonly string[];
  /** Tenants that disappeared in this step (now retired). */
  readonly retired: readonly string[];
  /** Retired tenants whose allocation was dropped to make room. */
  readonly reclaimed: readonly string[];
  /** Tenants whose table was outside `allocation.table_range` and got a new one. */
  readonly moved: readonly string[];
}

const byName = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;

function canonicalOverride(tenant: string, what: "rd" | "rt", text: string): string {
  try {
    return formatRouteDistinguisher(parseRouteDistinguisher(text));
  } catch (cause) {
    throw new AllocationError(
      `tenant ${tenant}: ${what} override ${JSON.stringify(text)}: ${(cause as Error).message}`,
      { tenants: [tenant] },
      { cause },
    );
  }
}

function derived(admin: number | string, table: number): string {
  return formatRouteDistinguisher(makeRouteDistinguisher(admin, table));
}

/** The table a derived `admin:table` value would need to equal `value`, if any. */
function tableOfDerived(admin: number | string, value: string): number | undefined {
  const rd = parseRouteDistinguisher(value);
  const a = makeRouteDistinguisher(admin, 0).admin;
  return rd.admin === a ? rd.assigned : undefined;
}

function checkConfig(config: Config): AllocationSettings {
  const issues = validateAllocationConfig(config);
  if (issues.length > 0) {
    throw new AllocationError(
      `configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      { configPath: issues[0].path },
    );
  }
  return allocationSettings(config);
}

/**
 * Computes the next allocation state for the complete set of desired tenants. Pure: the same
 * inputs give the same output. Throws {@link AllocationError} when the table range is
 * exhausted, an override is invalid or collides, or the configuration cannot be honoured.
 */
export function planAllocations(
  previous: AllocationState,
  tenants: Iterable<TenantRequest>,
  options: PlanOptions,
): AllocationPlan {
  const settings = checkConfig(options.config);
  const nowIso = (options.now ?? new Date()).toISOString();
  const hash = options.hash ?? sha256;

  // Desired tenants, validated, in name order.
  const requests = new Map<string, { rd?: string; rt?: string }>();
  for (const t of tenants) {
    if (!TENANT_NAME.test(t.name)) {
      throw new AllocationError(`invalid tenant name ${JSON.stringify(t.name)}`, {
        tenants: [t.name],
      });
    }
    if (requests.has(t.name)) {
      throw new AllocationError(`tenant ${t.name} is listed twice`, { tenants: [t.name] });
    }
    requests.set(t.name, {
      rd: t.rd === undefined ? undefined : canonicalOverride(t.name, "rd", t.rd),
      rt: t.rt === undefined ? undefined : canonicalOverride(t.name, "rt", t.rt),
    });
  }
  const names = [...requests.keys()].sort(byName);

  // Overrides must be unique among themselves; derived values avoid them.
  const overrideOwner = { rd: new Map<string, string>(), rt: new Map<string, string>() };
  const blocked = new Set<number>();
  for (const name of names) {
    const req = requests.get(name)!;
    for (const what of ["rd", "rt"] as const) {
      const value = req[what];
      if (value === undefined) continue;
      const other = overrideOwner[what].get(value);
      if (other !== undefined) {
        throw new AllocationError(
          `${what.toUpperCase()} ${value} is set for both tenant ${other} and tenant ${name}; ` +
            `${what.toUpperCase()}s must be unique`,
          { tenants: [other, name] },
        );
      }
      overrideOwner[what].set(value, name);
      const t = tableOfDerived(what === "rd" ? settings.rdAdmin : settings.rtAdmin, value);
      if (t !== undefined && isUsableTable(t, settings)) blocked.add(t);
    }
  }

  const entries = new Map<string, StateEntry>(previous.entries);
  const retired: string[] = [];
  const revived: string[] = [];
  const reclaimed: string[] = [];
  const moved: string[] = [];
  const allocated: string[] = [];

  for (const [name, e] of [...entries].sort((a, b) => byName(a[0], b[0]))) {
    if (!requests.has(name) && e.retired_at === undefined) {
      entries.set(name, { ...e, retired_at: nowIso });
      retired.push(name);
    } else if (requests.has(name) && e.retired_at !== undefined) {
      const { retired_at: _, ...rest } = e;
      entries.set(name, rest);
      revived.push(name);
    }
  }

  const occupied = new Set<number>();
  for (const e of entries.values()) if (isUsableTable(e.table, settings)) occupied.add(e.table);
  const capacity = usableTableCount(settings);
  const unavailable = () => {
    let n = occupied.size;
    for (const t of blocked) if (!occupied.has(t)) n++;
    return n;
  };

  const reclaimOne = (): number | undefined => {
    const candidates = [...entries.values()]
      .filter((e) =>
        e.retired_at !== undefined && isUsableTable(e.table, settings) && !blocked.has(e.table)
      )
      .sort((a, b) =>
        Date.parse(a.retired_at!) - Date.parse(b.retired_at!) || byName(a.tenant, b.tenant)
      );
    const victim = candidates[0];
    if (!victim) return undefined;
    entries.delete(victim.tenant);
    occupied.delete(victim.table);
    reclaimed.push(victim.tenant);
    return victim.table;
  };

  const pickTable = (name: string): number => {
    if (unavailable() >= capacity) {
      const t = reclaimOne();
      if (t !== undefined) return t;
      throw new AllocationError(
        `allocation.table_range ${settings.tableMin}-${settings.tableMax} is exhausted: no ` +
          `table id left for tenant ${name} (${capacity} usable, none retired to reclaim); ` +
          `widen allocation.table_range`,
        { configPath: "allocation.table_range", tenants: [name] },
      );
    }
    const span = settings.tableMax - settings.tableMin + 1;
    let t = settings.tableMin + hashToInt(hash(name)) % span;
    for (;;) {
      if (isUsableTable(t, settings) && !occupied.has(t) && !blocked.has(t)) return t;
      t = t >= settings.tableMax ? settings.tableMin : t + 1;
    }
  };

  const vrfsTaken = new Set<string>();
  for (const e of entries.values()) vrfsTaken.add(e.vrf);

  for (const name of names) {
    const existing = entries.get(name);
    if (existing && isUsableTable(existing.table, settings)) continue;
    const table = pickTable(name);
    occupied.add(table);
    if (existing) {
      entries.set(name, { ...existing, table });
      moved.push(name);
    } else {
      const vrf = chooseVrfName(name, vrfsTaken, { hash });
      vrfsTaken.add(vrf);
      entries.set(name, { tenant: name, vrf, table, allocated_at: nowIso });
      allocated.push(name);
    }
  }

  // Allocations, with RD/RT uniqueness across active tenants.
  const allocations = new Map<string, Allocation>();
  const seen = { rd: new Map<string, string>(), rt: new Map<string, string>() };
  for (const name of names) {
    const e = entries.get(name)!;
    const req = requests.get(name)!;
    const a: Allocation = {
      tenant: name,
      vrf: e.vrf,
      table: e.table,
      rd: req.rd ?? derived(settings.rdAdmin, e.table),
      rt: req.rt ?? derived(settings.rtAdmin, e.table),
    };
    for (const what of ["rd", "rt"] as const) {
      const other = seen[what].get(a[what]);
      if (other !== undefined) {
        const [x, y] = [other, name].sort(byName);
        throw new AllocationError(
          `${what.toUpperCase()} ${a[what]} would be used by both tenant ${x} and tenant ${y}` +
            ` (an override equals the other's derived value); change the override`,
          { tenants: [x, y] },
        );
      }
      seen[what].set(a[what], name);
    }
    allocations.set(name, a);
  }

  const changed = allocated.length + revived.length + retired.length + reclaimed.length +
      moved.length > 0;
  return {
    state: { entries: changed ? entries : previous.entries },
    allocations,
    changed,
    allocated,
    revived,
    retired,
    reclaimed,
    moved,
  };
}
