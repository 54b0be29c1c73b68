/**
 * An independent model of the isolation rules (BigInt arithmetic, no code shared with
 * src/tenants beyond prefix parsing), used as the oracle of the properties.
 * @module
 */
import { formatPrefix, type IpPrefix, tryParsePrefix } from "../../src/net/mod.ts";
import type { RawTenant } from "../../src/tenants/mod.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function big(p: IpPrefix): bigint {
  let n = 0n;
  for (const b of p.bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** Whether `outer` contains `inner` (same family, shorter or equal, same leading bits). */
export function contains(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
  const bits = BigInt(outer.family === 4 ? 32 : 128);
  const shift = bits - BigInt(outer.length);
  return (big(outer) >> shift) === (big(inner) >> shift);
}

/** The model policy. */
export interface ModelPolicy {
  allowed: IpPrefix[];
  deny: IpPrefix[];
}

/** Whether a prefix may be exported under the policy. */
export function exportable(p: IpPrefix, policy: ModelPolicy): boolean {
  if (p.length === 0) return false;
  return policy.allowed.some((a) => contains(a, p)) && !policy.deny.some((d) => contains(d, p));
}

/** What each tenant must export: its valid, exportable prefixes that no other tenant claims. */
export function expectedExports(
  raws: readonly RawTenant[],
  policy: ModelPolicy,
): Map<string, string[]> {
  const claims = new Map<string, Set<string>>();
  const byTenant = new Map<string, Set<string>>();
  for (const r of raws) {
    if (!NAME.test(r.name)) continue;
    const set = byTenant.get(r.name) ?? new Set<string>();
    byTenant.set(r.name, set);
    for (const text of r.prefixes) {
      const p = tryParsePrefix(text, { allowBareAddress: true });
      if (!p || !exportable(p, policy)) continue;
      const key = formatPrefix(p);
      set.add(key);
      const c = claims.get(key) ?? new Set<string>();
      c.add(r.name);
      claims.set(key, c);
    }
  }
  const out = new Map<string, string[]>();
  for (const [name, set] of byTenant) {
    out.set(name, [...set].filter((k) => claims.get(k)!.size === 1).sort());
  }
  return out;
}
