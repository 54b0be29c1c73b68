/**
 * The shared dry run of `render` and `validate`: config → tenants → allocations, touching
 * nothing (the state file is read, never written).
 */
import { type Config, ConfigError, loadConfig } from "../config/mod.ts";
import { type Allocation, Allocator, validateAllocationConfig } from "../allocate/mod.ts";
import type { TenantSet } from "../tenants/mod.ts";
import { collectTenants } from "./tenants.ts";

/** Flags shared by the dry-run commands. */
export interface DryRunFlags {
  config: string;
  tenants?: string;
}

/** Everything a dry run computed. */
export interface DryRun {
  config: Config;
  tenants: TenantSet;
  allocations: Map<string, Allocation>;
}

/** Loads and checks the config, reads the tenants once and allocates in memory. */
export async function dryRun(flags: DryRunFlags): Promise<DryRun> {
  const config = await loadConfig(flags.config);
  const issues = validateAllocationConfig(config);
  if (issues.length > 0) throw new ConfigError(flags.config, issues);
  const tenants = await collectTenants(config, { tenantsFile: flags.tenants });
  const allocator = await Allocator.open({ config, readOnly: true });
  const { allocations } = allocator.allocate(
    [...tenants.tenants.values()].map((t) => ({ name: t.name, rd: t.rd, rt: t.rt })),
  );
  return { config, tenants, allocations };
}
