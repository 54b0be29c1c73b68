/** `vpnv4-agent render`: prints the FRR configuration (dry run). */
import { renderFrrConfig } from "../frr/mod.ts";
import { dryRun, type DryRunFlags } from "./dry_run.ts";

/** Returns the FRR configuration text for the flags' config and tenants. */
export async function renderCommand(flags: DryRunFlags): Promise<string> {
  const { config, tenants, allocations } = await dryRun(flags);
  const rendered = renderFrrConfig({
    config,
    tenants: [...tenants.tenants.values()].map((tenant) => ({
      tenant,
      allocation: allocations.get(tenant.name)!,
    })),
  });
  return rendered.text.trimEnd();
}
