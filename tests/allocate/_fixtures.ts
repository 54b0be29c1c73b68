/**
 * Shared fixtures for the allocator tests: configurations, a deterministic PRNG, colliding
 * hashes and temp folders.
 */
import { type Config, configSchema } from "../../src/config/mod.ts";
import { type HashFunction, sha256 } from "../../src/allocate/mod.ts";
import { uniform as prng } from "../fuzz/prng.ts";

/** Options for {@link makeConfig}. */
export interface ConfigOverrides {
  asn?: number;
  rd_base?: number | string;
  rt_base?: number | string;
  min?: number;
  max?: number;
}

/** A validated configuration with the given allocation settings. */
export function makeConfig(o: ConfigOverrides = {}): Config {
  return configSchema.parse({
    bgp: { asn: o.asn ?? 65000, router_id: "192.0.2.1" },
    allocation: {
      ...(o.rd_base !== undefined ? { rd_base: o.rd_base } : {}),
      ...(o.rt_base !== undefined ? { rt_base: o.rt_base } : {}),
      table_range: { min: o.min ?? 1000, max: o.max ?? 1999 },
    },
    tenants: { sources: [{ type: "file", path: "tenants.yaml" }] },
  });
}

/** A seeded PRNG (floats in [0, 1)) so "random" tests are reproducible. */
export { prng };

/** Fisher-Yates shuffle with a seeded PRNG (returns a copy). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rnd = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * A hash under which every tenant name collides: it ignores the name and keeps only the probe
 * suffix (`#N`), so every tenant prefers the same table and the same hashed VRF names.
 */
export const collidingHash: HashFunction = (text) => sha256(text.replace(/^[^#]*/, "same"));

/** A fresh temp folder, removed by the returned disposer. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "vpnv4-allocate-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Tenant requests from names. */
export function tenants(...names: string[]): { name: string }[] {
  return names.map((name) => ({ name }));
}
