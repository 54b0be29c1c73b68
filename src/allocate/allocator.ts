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
    const plan = planAllocations(this.#state, tenants, {
      config,
      now: this.#now(),
      hash: this.#hash,
    });
    this.#config = config;
    this.#allocations = plan.allocations;
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
