/**
 * Prefix policy and tenant-set validation: the one gate between source data and the planes.
 */
import {
  comparePrefixes,
  formatPrefix,
  type IpPrefix,
  isDefaultRoute,
  parsePrefix,
  prefixContains,
} from "../net/mod.ts";
import type { PolicyConfig } from "../config/mod.ts";
import {
  type RawTenant,
  type Rejection,
  type Tenant,
  TENANT_NAME,
  type TenantSet,
} from "./model.ts";

/** A compiled prefix policy. */
export interface PrefixPolicy {
  readonly allowed: readonly IpPrefix[];
  readonly deny: readonly IpPrefix[];
  readonly maxPrefixesPerTenant: number;
}

/** Compiles the `tenants.policy` config section. */
export function compilePolicy(config: PolicyConfig): PrefixPolicy {
  return {
    allowed: config.allowed.map((p) => parsePrefix(p)),
    deny: config.deny.map((p) => parsePrefix(p)),
    maxPrefixesPerTenant: config.max_prefixes_per_tenant,
  };
}

/** Why a prefix may not be exported, or undefined when it may. */
export function prefixViolation(prefix: IpPrefix, policy: PrefixPolicy): string | undefined {
  if (isDefaultRoute(prefix)) return "default route is never exported";
  if (!policy.allowed.some((a) => prefixContains(a, prefix))) {
    return "outside the allowed ranges (tenants.policy.allowed)";
  }
  const denied = policy.deny.find((d) => prefixContains(d, prefix));
  if (denied) return `inside denied range ${formatPrefix(denied)} (tenants.policy.deny)`;
  return undefined;
}

/** Why a tenant name is unusable, or undefined. */
export function tenantNameViolation(name: string): string | undefined {
  if (TENANT_NAME.test(name)) return undefined;
  return "tenant name must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit";
}

/**
 * Validates and merges raw tenants from all sources into a {@link TenantSet}.
 *
 * - Tenants with the same name from several sources are merged (prefix union).
 * - Bad names and bad prefixes are rejected with a reason; a tenant over the prefix limit is
 *   rejected whole.
 * - A prefix claimed by two or more tenants is removed from all of them (it can't be told
 *   whose it is, and exporting it into the wrong VRF would leak traffic between tenants).
 */
export function buildTenantSet(raws: Iterable<RawTenant>, policy: PrefixPolicy): TenantSet {
  const rejected: Rejection[] = [];
  const merged = new Map<string, { prefixes: Map<string, IpPrefix>; raw: RawTenant }>();
  for (const raw of raws) {
    const nameProblem = tenantNameViolation(raw.name);
    if (nameProblem) {
      rejected.push({ tenant: raw.name, reason: nameProblem, origin: raw.origin });
      continue;
    }
    let entry = merged.get(raw.name);
    if (!entry) {
      entry = { prefixes: new Map(), raw };
      merged.set(raw.name, entry);
    }
    for (const text of raw.prefixes) {
      let prefix: IpPrefix;
      try {
        prefix = parsePrefix(text, { allowBareAddress: true });
      } catch (e) {
        rejected.push({
          tenant: raw.name,
          prefix: text,
          reason: (e as Error).message,
          origin: raw.origin,
        });
        continue;
      }
      const violation = prefixViolation(prefix, policy);
      if (violation) {
        rejected.push({ tenant: raw.name, prefix: text, reason: violation, origin: raw.origin });
        continue;
      }
      entry.prefixes.set(formatPrefix(prefix), prefix);
    }
  }
  const owners = new Map<string, string[]>();
  for (const [name, entry] of merged) {
    for (const key of entry.prefixes.keys()) {
      const list = owners.get(key);
      if (list) list.push(name);
      else owners.set(key, [name]);
    }
  }
  for (const [key, names] of owners) {
    if (names.length < 2) continue;
    for (const name of names) {
      merged.get(name)!.prefixes.delete(key);
      rejected.push({
        tenant: name,
        prefix: key,
        reason: `claimed by several tenants (${names.join(", ")}); exported by none`,
      });
    }
  }
  const tenants = new Map<string, Tenant>();
  for (const [name, entry] of [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (entry.prefixes.size > policy.maxPrefixesPerTenant) {
      rejected.push({
        tenant: name,
        reason: `${entry.prefixes.size} prefixes exceed tenants.policy.max_prefixes_per_tenant`,
        origin: entry.raw.origin,
      });
      continue;
    }
    tenants.set(name, {
      name,
      prefixes: [...entry.prefixes.values()].sort(comparePrefixes),
      ...(entry.raw.rt ? { rt: entry.raw.rt } : {}),
      ...(entry.raw.rd ? { rd: entry.raw.rd } : {}),
    });
  }
  return { tenants, rejected };
}
