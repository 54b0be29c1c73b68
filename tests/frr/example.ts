/**
 * The example desired state (deploy/examples) shared by the FRR tests.
 * @module
 */
import { type Config, configSchema } from "../../src/config/mod.ts";
import { parseWithSchema } from "../../src/config/mod.ts";
import { parsePrefix } from "../../src/net/mod.ts";
import type { FrrInput, FrrTenantInput } from "../../src/frr/mod.ts";

const ROOT = new URL("../../", import.meta.url);

/** Loads deploy/examples/vpnv4-agent.yaml (without touching the file system beyond it). */
export function exampleConfig(): Config {
  const path = new URL("deploy/examples/vpnv4-agent.yaml", ROOT);
  return parseWithSchema(Deno.readTextFileSync(path), configSchema, { file: path.pathname });
}

/** A tenant with allocation `table`, RD/RT `65000:table`. */
export function tenant(
  name: string,
  table: number,
  prefixes: string[],
  vrf = name,
): FrrTenantInput {
  return {
    tenant: { name, prefixes: prefixes.map((p) => parsePrefix(p)) },
    allocation: { tenant: name, vrf, table, rd: `65000:${table}`, rt: `65000:${table}` },
  };
}

/** The example: demo (10.244.0.0/24, fd00:10:244::/64) and demo-b (10.245.0.0/24). */
export function exampleInput(): FrrInput {
  return {
    config: exampleConfig(),
    tenants: [
      tenant("demo", 1001, ["10.244.0.0/24", "fd00:10:244::/64"]),
      tenant("demo-b", 1002, ["10.245.0.0/24"]),
    ],
  };
}
