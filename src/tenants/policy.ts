/**
 * Prefix policy and tenant-set validation: the one gate between source data and the planes.
 */
import {
  type CompactPrefix,
  compactPrefix,
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

const compiled = new WeakMap<PolicyConfig, PrefixPolicy>();

/**
 * Compiles the `tenants.policy` config section. The same section object gives the same
 * policy object, which keeps {@link buildTenantSet}'s per-tenant cache valid across updates.
 */
export function compilePolicy(config: PolicyConfig): PrefixPolicy {
  let policy = compiled.get(config);
  if (!policy) {
    policy = {
      allowed: config.allowed.map((p) => parsePrefix(p)),
      deny: config.deny.map((p) => parsePrefix(p)),
      maxPrefixesPerTenant: config.max_prefixes_per_tenant,
    };
    compiled.set(config, policy);
  }
  return policy;
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

/** One raw tenant's prefixes, parsed and checked against a policy. */
interface ParsedRaw {
  /** The `prefixes` array this was computed from (a raw tenant may be changed in place). */
  readonly source: readonly string[];
  readonly length: number;
  /**
   * Accepted prefixes: unique, sorted ({@link comparePrefixes}), compact (their canonical text
   * is `formatPrefix(p)`, at no cost). Used as the tenant's `prefixes` when it is alone.
   */
  readonly prefixes: readonly CompactPrefix[];
  readonly rejected: readonly Rejection[];
  /** The tenant built from this raw tenant alone, reused while nothing else changes it. */
  tenant?: Tenant;
  /** {@link OwnerIndex}: the update that last saw this raw tenant, and under which name. */
  seen?: number;
  seenAs?: string;
}

/**
 * Parsed prefixes per policy and raw tenant object. Sources hand over the same object for a
 * tenant that did not change (the OVN index keeps its views), so an update re-parses only the
 * tenants that changed; entries go away with their raw tenants.
 */
const parsedRaws = new WeakMap<PrefixPolicy, WeakMap<RawTenant, ParsedRaw>>();

function parseRaw(raw: RawTenant, policy: PrefixPolicy): ParsedRaw {
  let cache = parsedRaws.get(policy);
  if (!cache) parsedRaws.set(policy, cache = new WeakMap());
  const hit = cache.get(raw);
  const list = Array.isArray(raw.prefixes) ? raw.prefixes : [];
  if (hit && hit.source === list && hit.length === list.length) return hit;
  const seen = new Set<string>();
  const prefixes: CompactPrefix[] = [];
  const rejected: Rejection[] = [];
  for (const text of list) {
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
    // Sources (the OVN index) mostly hand over canonical texts: keep their string.
    const formatted = formatPrefix(prefix);
    const key = formatted === text ? text : formatted;
    if (seen.has(key)) continue;
    seen.add(key);
    prefixes.push(compactPrefix(prefix, key));
  }
  prefixes.sort(comparePrefixes);
  const parsed: ParsedRaw = {
    source: list,
    length: list.length,
    // A copy sized to fit: the pushed array has room for half as many again.
    prefixes: prefixes.slice(),
    rejected,
    tenant: undefined,
    seen: 0,
    seenAs: "",
  };
  cache.set(raw, parsed);
  return parsed;
}

/**
 * Which tenants claim each prefix, kept up to date between calls of {@link buildTenantSet}
 * from the parsed raw tenants that came and went: an update costs a pass over the raw tenants
 * plus the prefixes of the changed ones, not a pass over every prefix.
 */
class OwnerIndex {
  /** Indexed raw tenants and the tenant name they were indexed under. */
  readonly #indexed = new Map<ParsedRaw, string>();
  /**
   * Prefix key → the claiming tenant's name (one raw tenant claims it: the usual case, kept
   * small for 100,000 prefixes), or tenant name → number of raw tenants of that name.
   */
  readonly #owners = new Map<string, string | Map<string, number>>();
  /** Keys claimed by two or more tenants. */
  readonly #conflicts = new Set<string>();
  /** Number of the current update (marks the raw tenants it saw). */
  #update = 0;

  /**
   * Re-indexes for the current raw tenants (`names[i]` and `parsed[i]`, in source order) and
   * returns, per tenant, the prefix keys it must drop because other tenants claim them too;
   * pushes one rejection per such claim. Allocates for the changed raw tenants only (no map of
   * all of them: at 10,000 tenants such maps are large objects that only a full GC frees).
   */
  update(
    names: readonly string[],
    parsed: readonly ParsedRaw[],
    rejected: Rejection[],
  ): Map<string, Set<string>> {
    const update = ++this.#update;
    const claims: number[] = [];
    for (let i = 0; i < parsed.length; i++) {
      const p = parsed[i];
      if (p.seen === update) continue;
      p.seen = update;
      p.seenAs = names[i];
      if (this.#indexed.get(p) !== names[i]) claims.push(i);
    }
    this.#indexed.forEach((name, p) => {
      if (p.seen === update && p.seenAs === name) return;
      this.#claim(p, name, -1);
      this.#indexed.delete(p);
    });
    for (const i of claims) {
      this.#claim(parsed[i], names[i], 1);
      this.#indexed.set(parsed[i], names[i]);
    }
    const dropped = new Map<string, Set<string>>();
    for (const key of this.#conflicts) {
      const owners = this.#owners.get(key)!;
      const names = typeof owners === "string" ? [owners] : [...owners.keys()].sort();
      for (const name of names) {
        let set = dropped.get(name);
        if (!set) dropped.set(name, set = new Set());
        set.add(key);
        rejected.push({
          tenant: name,
          prefix: key,
          reason: `claimed by several tenants (${names.join(", ")}); exported by none`,
        });
      }
    }
    return dropped;
  }

  #claim(parsed: ParsedRaw, name: string, delta: 1 | -1): void {
    for (const { text: key } of parsed.prefixes) {
      const cur = this.#owners.get(key);
      if (delta === 1) {
        if (cur === undefined) {
          this.#owners.set(key, name);
          continue;
        }
        const names = typeof cur === "string" ? new Map([[cur, 1]]) : cur;
        names.set(name, (names.get(name) ?? 0) + 1);
        if (names !== cur) this.#owners.set(key, names);
        if (names.size > 1) this.#conflicts.add(key);
        continue;
      }
      if (cur === undefined) continue;
      if (typeof cur === "string") {
        if (cur === name) this.#owners.delete(key);
        continue;
      }
      const n = (cur.get(name) ?? 0) - 1;
      if (n > 0) cur.set(name, n);
      else cur.delete(name);
      if (cur.size > 1) continue;
      this.#conflicts.delete(key);
      if (cur.size === 0) this.#owners.delete(key);
      else {
        const [[only, count]] = cur;
        if (count === 1) this.#owners.set(key, only);
      }
    }
  }
}

const ownerIndexes = new WeakMap<PrefixPolicy, OwnerIndex>();

function ownerIndex(policy: PrefixPolicy): OwnerIndex {
  let index = ownerIndexes.get(policy);
  if (!index) ownerIndexes.set(policy, index = new OwnerIndex());
  return index;
}

/**
 * Validates and merges raw tenants from all sources into a {@link TenantSet}.
 *
 * - Tenants with the same name from several sources are merged (prefix union).
 * - Bad names and bad prefixes are rejected with a reason; a tenant over the prefix limit is
 *   rejected whole.
 * - A prefix claimed by two or more tenants is removed from all of them (it can't be told
 *   whose it is, and exporting it into the wrong VRF would leak traffic between tenants).
 *
 * Prefixes are parsed once per raw tenant object (see {@link compilePolicy}); a tenant whose
 * raw tenant did not change keeps its {@link Tenant} object, which the planes' caches use.
 */
export function buildTenantSet(raws: Iterable<RawTenant>, policy: PrefixPolicy): TenantSet {
  const rejected: Rejection[] = [];
  // Valid raw tenants in source order (parallel arrays: no object per tenant and call).
  const names: string[] = [];
  const parsedRaws: ParsedRaw[] = [];
  const validRaws: RawTenant[] = [];
  let sorted = true;
  for (const raw of raws) {
    const nameProblem = tenantNameViolation(raw.name);
    if (nameProblem) {
      rejected.push({ tenant: raw.name, reason: nameProblem, origin: raw.origin });
      continue;
    }
    const parsed = parseRaw(raw, policy);
    for (let r = 0; r < parsed.rejected.length; r++) rejected.push(parsed.rejected[r]);
    if (names.length > 0 && raw.name < names[names.length - 1]) sorted = false;
    names.push(raw.name);
    parsedRaws.push(parsed);
    validRaws.push(raw);
  }
  const dropped = ownerIndex(policy).update(names, parsedRaws, rejected);
  // By name, stable (the first raw tenant of a name leads); sources usually come sorted.
  const order = sorted
    ? undefined
    : names.map((_, i) => i).sort((a, b) =>
      names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b
    );
  const at = (k: number) => (order ? order[k] : k);
  const tenants = new Map<string, Tenant>();
  for (let k = 0; k < names.length;) {
    const first = at(k);
    const name = names[first], raw = validRaws[first];
    let n = 1;
    while (k + n < names.length && names[at(k + n)] === name) n++;
    let group: ParsedRaw[] | undefined;
    if (n > 1) {
      group = [];
      for (let j = 0; j < n; j++) group.push(parsedRaws[at(k + j)]);
    }
    k += n;
    const drop = dropped.get(name);
    const single = n === 1 && !drop ? parsedRaws[first] : undefined;
    let prefixes: readonly CompactPrefix[];
    if (single) prefixes = single.prefixes;
    else {
      const union = new Map<string, CompactPrefix>();
      for (const parsed of group ?? [parsedRaws[first]]) {
        for (const p of parsed.prefixes) if (!drop?.has(p.text)) union.set(p.text, p);
      }
      prefixes = [...union.values()].sort(comparePrefixes);
    }
    if (prefixes.length > policy.maxPrefixesPerTenant) {
      rejected.push({
        tenant: name,
        reason: `${prefixes.length} prefixes exceed tenants.policy.max_prefixes_per_tenant`,
        origin: raw.origin,
      });
      continue;
    }
    const rt = raw.rt, rd = raw.rd;
    const cached = single?.tenant;
    if (cached && cached.rt === rt && cached.rd === rd) {
      tenants.set(name, cached);
      continue;
    }
    const tenant: Tenant = {
      name,
      prefixes,
      ...(rt ? { rt } : {}),
      ...(rd ? { rd } : {}),
    };
    if (single) single.tenant = tenant;
    tenants.set(name, tenant);
  }
  return { tenants, rejected };
}
