/**
 * The stateful allocator: loads the state file, plans allocations for the current tenant set
 * and saves the state atomically when it changed.
 */
import type { Config } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";
import type { Allocation } from "./model.ts";
import type { HashFunction } from "./hash.ts";
import { type AllocationPlan, planAllocations, type TenantRequest } from "./plan.ts";
import { type AllocationState, readStateFile, writeStateFile } from "./state.ts";

const log = getLogger("allocate");

/** Options for {@link Allocator.open}. */
export interface AllocatorOptions {
  /** The validated configuration. */
  config: Config;
  /** State file; default `config.allocation.state_file`. */
  statePath?: string;
  /**
   * Never write (for `validate` / `render` and dry runs): a missing state file means
   * allocating in memory only, and {@link Allocator.save} does nothing.
   */
  readOnly?: boolean;
  /** Clock (default `new Date()`), for timestamps in the state. */
  now?: () => Date;
  /** Hash of tenant names (default sha256); tests inject colliding ones. */
  hash?: HashFunction;
}

/** Options for {@link Allocator.allocate}. */
export interface AllocateOptions {
  /** A reloaded configuration to use from now on. */
  config?: Config;
}

/** A tenant's RD/RT overrides as requested (before canonicalisation). */
interface Overrides {
  readonly rd?: string;
  readonly rt?: string;
}

interface LastPlan {
  readonly config: Config;
  readonly plan: AllocationPlan;
  /** Tenants that requested an RD or RT override. */
  readonly overrides: Map<string, Overrides>;
}

/** The outcome of {@link Allocator.allocate}. */
export type AllocationResult = AllocationPlan;

/**
 * Gives every tenant a stable VRF name, table, RD and RT. Create with {@link Allocator.open};
 * call {@link Allocator.allocate} with the complete tenant set whenever it changes, then
 * {@link Allocator.save}.
 */
export class Allocator {
  /** The state file. */
  readonly statePath: string;
  /** Whether this allocator never writes. */
  readonly readOnly: boolean;
  #config: Config;
  #state: AllocationState;
  #allocations = new Map<string, Allocation>();
  #now: () => Date;
  #hash?: HashFunction;
  #generation = 0;
  #savedGeneration = 0;
  /** The last plan and what it was computed from, for {@link Allocator.allocate}'s fast path. */
  #last?: LastPlan;
  /** Per active tenant, the call that last listed it (duplicate detection in the fast path). */
  readonly #listedIn = new Map<string, number>();
  #calls = 0;
  #saving: Promise<unknown> = Promise.resolve();

  private constructor(options: AllocatorOptions, statePath: string, state: AllocationState) {
    this.statePath = statePath;
    this.readOnly = options.readOnly ?? false;
    this.#config = options.config;
    this.#state = state;
    this.#now = options.now ?? (() => new Date());
    this.#hash = options.hash;
  }

  /**
   * Loads the state file (a missing file is a first start). Throws `StateFileError` when the
   * file is unreadable or corrupt; the file is left as it is.
   */
  static async open(options: AllocatorOptions): Promise<Allocator> {
    const statePath = options.statePath ?? options.config.allocation.state_file;
    const state = await readStateFile(statePath);
    log.debug("loaded allocation state {path}: {count} entries", {
      path: statePath,
      count: state.entries.size,
    });
    return new Allocator(options, statePath, state);
  }

  /**
   * Allocates for the complete set of current tenants (tenants not in it are retired).
   * Throws `AllocationError` (range exhausted, colliding overrides); the state is then unchanged.
   */
  allocate(
    tenants: Iterable<TenantRequest>,
    options: AllocateOptions = {},
  ): AllocationResult {
    const config = options.config ?? this.#config;
    // Read more than once below: a one-shot iterator is copied first.
    const list = Array.isArray(tenants) ? tenants as readonly TenantRequest[] : [...tenants];
    const same = this.#unchanged(config, list);
    if (same) return same;
    const plan = planAllocations(this.#state, list, {
      config,
      now: this.#now(),
      hash: this.#hash,
    });
    this.#config = config;
    this.#allocations = plan.allocations;
    this.#remember(config, plan, list);
    if (plan.changed) {
      this.#state = plan.state;
      this.#generation++;
    }
    for (const name of plan.allocated) {
      const a = plan.allocations.get(name)!;
      log.info("allocated tenant {tenant}: vrf {vrf}, table {table}, rd {rd}, rt {rt}", { ...a });
    }
    for (const name of plan.revived) log.info("tenant {tenant} is back", { tenant: name });
    for (const name of plan.retired) log.info("tenant {tenant} retired", { tenant: name });
    for (const name of plan.moved) {
      log.warning("tenant {tenant} moved to table {table}: old table outside table_range", {
        tenant: name,
        table: plan.allocations.get(name)!.table,
      });
    }
    for (const name of plan.reclaimed) {
      log.warning("reclaimed the allocation of retired tenant {tenant}: table_range is full", {
        tenant: name,
      });
    }
    return plan;
  }

  /**
   * The plan for the same tenants (names and overrides) and the same configuration as the last
   * call, without planning: {@link planAllocations} is idempotent, so planning again from the
   * state it produced gives the same allocations and no change. Under pod churn the tenant set
   * keeps its names while its prefixes change, and planning 10,000 tenants each round costs
   * about 18 MB of garbage. Returns undefined when anything differs.
   */
  #unchanged(config: Config, tenants: readonly TenantRequest[]): AllocationPlan | undefined {
    const last = this.#last;
    if (!last || last.config !== config) return undefined;
    const call = ++this.#calls;
    const active = last.plan.allocations;
    let count = 0;
    for (const t of tenants) {
      if (!active.has(t.name) || this.#listedIn.get(t.name) === call) return undefined;
      this.#listedIn.set(t.name, call);
      const o = last.overrides.get(t.name);
      if (t.rd !== o?.rd || t.rt !== o?.rt) return undefined;
      count++;
    }
    if (count !== active.size) return undefined;
    return last.plan.changed || last.plan.retired.length > 0 ? this.#settled(last) : last.plan;
  }

  /** The plan that planning again gives after `last`: same allocations, nothing changed. */
  #settled(last: LastPlan): AllocationPlan {
    const plan: AllocationPlan = {
      state: this.#state,
      allocations: last.plan.allocations,
      changed: false,
      allocated: [],
      revived: [],
      retired: [],
      reclaimed: [],
      moved: [],
    };
    this.#last = { ...last, plan };
    return plan;
  }

  #remember(config: Config, plan: AllocationPlan, tenants: readonly TenantRequest[]): void {
    const overrides = new Map<string, Overrides>();
    for (const t of tenants) {
      if (t.rd !== undefined || t.rt !== undefined) overrides.set(t.name, { rd: t.rd, rt: t.rt });
    }
    for (const name of this.#listedIn.keys()) {
      if (!plan.allocations.has(name)) this.#listedIn.delete(name);
    }
    this.#last = { config, plan, overrides };
  }

  /** The current allocation of an active tenant (after {@link Allocator.allocate}). */
  get(name: string): Allocation | undefined {
    return this.#allocations.get(name);
  }

  /** Every active tenant's allocation from the last {@link Allocator.allocate}. */
  get allocations(): ReadonlyMap<string, Allocation> {
    return this.#allocations;
  }

  /** The current state, including retired tenants. */
  get state(): AllocationState {
    return this.#state;
  }

  /** Whether the state changed since it was loaded or last saved. */
  get dirty(): boolean {
    return this.#generation !== this.#savedGeneration;
  }

  /**
   * Writes the state atomically when it changed. Resolves to whether a file was written
   * (never in read-only mode). Throws `StateFileError` when writing fails.
   */
  save(): Promise<boolean> {
    const run = this.#saving.catch(() => {}).then(async () => {
      if (this.readOnly || !this.dirty) return false;
      const generation = this.#generation;
      await writeStateFile(this.statePath, this.#state);
      this.#savedGeneration = generation;
      log.debug("saved allocation state {path}", { path: this.statePath });
      return true;
    });
    this.#saving = run;
    return run;
  }
}
