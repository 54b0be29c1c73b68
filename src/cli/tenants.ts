/**
 * One-shot tenant collection for the dry-run commands (`render`, `validate`): reads every
 * configured source once (or the `--tenants` file instead) and applies the prefix policy.
 */
import type { Config } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";
import {
  buildTenantSet,
  compilePolicy,
  loadTenantsFile,
  type RawTenant,
  type Rejection,
  type TenantSet,
} from "../tenants/mod.ts";
import { snapshotOvnTenants } from "../ovn/mod.ts";
import { formatPrefix } from "../net/mod.ts";

const log = getLogger("cli");

/** Options for {@link collectTenants}. */
export interface CollectOptions {
  /** Use this tenants file instead of the configured sources. */
  tenantsFile?: string;
}

/** Reads the tenants once and returns the validated set; rejections are logged. */
export async function collectTenants(
  config: Config,
  options: CollectOptions = {},
): Promise<TenantSet> {
  const policy = compilePolicy(config.tenants.policy);
  const raws: RawTenant[] = [];
  const rejected: Rejection[] = [];
  if (options.tenantsFile) {
    raws.push(...await loadTenantsFile(options.tenantsFile, { policy }));
  } else {
    for (const source of config.tenants.sources) {
      if (source.type === "file") {
        raws.push(...await loadTenantsFile(source.path, { policy }));
        continue;
      }
      const snapshot = await snapshotOvnTenants(source, policy);
      rejected.push(...snapshot.rejected);
      for (const t of snapshot.tenants.values()) {
        raws.push({ name: t.name, prefixes: t.prefixes.map(formatPrefix), origin: "ovn" });
      }
    }
  }
  const built = buildTenantSet(raws, policy);
  const set: TenantSet = { tenants: built.tenants, rejected: [...rejected, ...built.rejected] };
  for (const r of set.rejected) {
    log.warn("rejected {tenant} {prefix}: {reason}", {
      tenant: r.tenant,
      prefix: r.prefix ?? "",
      reason: r.reason,
      origin: r.origin ?? "",
    });
  }
  return set;
}
