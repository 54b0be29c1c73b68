/**
 * The contract between the reconcile loop and the planes (kernel, FRR, return path).
 */
import type { Config } from "../config/mod.ts";
import type { Allocation } from "../allocate/mod.ts";
import type { Tenant } from "../tenants/mod.ts";
import type { PlaneName } from "../status/model.ts";

/** A tenant with its allocation. */
export interface DesiredTenant {
  readonly tenant: Tenant;
  readonly allocation: Allocation;
}

/** The desired state handed to every plane. */
export interface Desired {
  readonly config: Config;
  /** Current tenants by name. */
  readonly tenants: ReadonlyMap<string, DesiredTenant>;
  /** Allocations of tenants that are gone: their kernel state must be removed. */
  readonly retired: readonly Allocation[];
  /** Tenants retired by the allocation that produced this state. */
  readonly retiredNow?: ReadonlySet<string>;
}

/** How a reconcile was asked for. */
export interface ReconcileRequest {
  /** Look at everything (startup, periodic resync, after errors). */
  readonly full: boolean;
  /** Tenants known to have changed (a hint for incremental planes). */
  readonly changed?: ReadonlySet<string>;
  /** Tenants that were just retired. */
  readonly retiredNow?: ReadonlySet<string>;
}

/** What a plane reports after a reconcile. */
export interface PlaneOutcome {
  /** Per-tenant failures (the other tenants were applied). */
  readonly tenantErrors: ReadonlyMap<string, string>;
  /** Counters for metrics, e.g. `{ routes_added: 3 }`. */
  readonly counts?: Readonly<Record<string, number>>;
}

/** One plane. A thrown error means the whole plane failed this round. */
export interface Plane {
  readonly name: PlaneName;
  /** Brings this plane in line with `desired`. */
  reconcile(desired: Desired, request: ReconcileRequest): Promise<PlaneOutcome>;
  /** Removes everything the agent owns in this plane (`--withdraw-on-exit`). */
  withdrawAll(desired: Desired): Promise<void>;
  /** Whether the plane is usable at all, and notes for status. */
  health(): { usable: boolean; warnings: string[] };
  close(): Promise<void>;
}

/**
 * Pairs every tenant with its allocation. Entries of `previous` whose tenant and allocation
 * are the same objects are reused, so a round in which few tenants changed allocates little.
 */
export function desiredTenants(
  tenants: ReadonlyMap<string, Tenant>,
  allocations: ReadonlyMap<string, Allocation>,
  options: { previous?: ReadonlyMap<string, DesiredTenant> } = {},
): Map<string, DesiredTenant> {
  const out = new Map<string, DesiredTenant>();
  for (const [name, tenant] of tenants) {
    const allocation = allocations.get(name);
    if (allocation === undefined) throw new Error(`tenant ${name} has no allocation`);
    const old = options.previous?.get(name);
    const same = old !== undefined && old.tenant === tenant && old.allocation === allocation;
    out.set(name, same ? old : { tenant, allocation });
  }
  return out;
}
