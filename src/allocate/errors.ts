/**
 * Errors of the allocator: a state file that cannot be used, and allocations that cannot be made.
 */

/**
 * The allocation state file is unreadable or corrupt. It is never silently discarded: the
 * operator has to look at it (the file is left untouched).
 */
export class StateFileError extends Error {
  override name = "StateFileError";
  /** The state file. */
  readonly path: string;
  /** What is wrong, e.g. `allocations[2].table: duplicate table 1003 (also demo)`. */
  readonly problem: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`allocation state file ${path}: ${problem}`, options);
    this.path = path;
    this.problem = problem;
  }
}

/**
 * Tenants cannot be given an allocation: table range exhausted, conflicting RD/RT overrides,
 * a configuration the allocator cannot honour.
 */
export class AllocationError extends Error {
  override name = "AllocationError";
  /** The configuration path the problem is about, e.g. `allocation.table_range`, if any. */
  readonly configPath?: string;
  /** The tenants the problem is about. */
  readonly tenants: readonly string[];

  constructor(
    message: string,
    details: { configPath?: string; tenants?: readonly string[] } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.configPath = details.configPath;
    this.tenants = details.tenants ?? [];
  }
}
