/**
 * The example desired state (deploy/examples) shared by the FRR tests, and the configuration
 * earlier versions (per-VRF prefix-lists) wrote for a desired state.
 * @module
 */
import { type Config, configSchema } from "../../src/config/mod.ts";
import { parseWithSchema } from "../../src/config/mod.ts";
import { formatPrefix, parsePrefix } from "../../src/net/mod.ts";
import {
  blocksText,
  type ConfigBlock,
  exportPolicyName,
  type FrrInput,
  type FrrTenantInput,
  legacyObjectName,
  renderFrrConfig,
} from "../../src/frr/mod.ts";

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

/**
 * The configuration versions before the shared export policy rendered for `input` (as in
 * their golden example.conf): per VRF and family a prefix-list `VPNV4-<vrf>-V4/6` with one
 * `seq 10, 20, …` entry per tenant prefix (none for a family without prefixes), a route-map of
 * the same name, and the VRF instance redistributing kernel routes through it; the global
 * instance as today. For migration tests.
 */
export function legacyFrrConfig(input: FrrInput): string {
  const rendered = renderFrrConfig(input);
  const lists: ConfigBlock[] = [];
  const maps: ConfigBlock[] = [];
  const byVrf = new Map(input.tenants.map((t) => [t.allocation.vrf, t.tenant]));
  for (const family of [4, 6] as const) {
    for (const t of rendered.tenants) {
      const name = legacyObjectName(t.vrf, family);
      const prefixes = byVrf.get(t.vrf)!.prefixes.filter((p) => p.family === family);
      for (const [i, p] of prefixes.entries()) {
        const header = `${family === 4 ? "ip" : "ipv6"} prefix-list ${name} seq ${
          (i + 1) * 10
        } permit ${formatPrefix(p)}`;
        lists.push({ header, lines: [], sections: [] });
      }
    }
  }
  for (const t of rendered.tenants) {
    for (const family of [4, 6] as const) {
      const name = legacyObjectName(t.vrf, family);
      maps.push({
        header: `route-map ${name} permit 10`,
        lines: [`match ${family === 4 ? "ip" : "ipv6"} address prefix-list ${name}`],
        sections: [],
        end: "exit",
      });
    }
  }
  const instances = rendered.tenants.flatMap((t) => t.blocks).map((b) => {
    const vrf = b.header.split(" ")[4];
    return {
      ...b,
      sections: b.sections.map((s) => ({
        header: s.header,
        lines: s.lines.map((l) => {
          for (const f of [4, 6] as const) {
            if (l === `redistribute kernel route-map ${exportPolicyName(f)}`) {
              return `redistribute kernel route-map ${legacyObjectName(vrf, f)}`;
            }
          }
          return l;
        }),
      })),
    };
  });
  return blocksText([...lists, ...maps, rendered.global.block, ...instances]);
}

/**
 * The removals of {@link legacyFrrConfig} of {@link exampleInput} (tenants demo and demo-b;
 * demo-b has no IPv6 prefix), as the diff emits them at the end of a migration batch.
 */
export const EXAMPLE_LEGACY_REMOVALS: readonly string[] = Object.freeze([
  "no route-map VPNV4-demo-V4",
  "no route-map VPNV4-demo-V6",
  "no route-map VPNV4-demo-b-V4",
  "no route-map VPNV4-demo-b-V6",
  "no ip prefix-list VPNV4-demo-V4",
  "no ip prefix-list VPNV4-demo-b-V4",
  "no ipv6 prefix-list VPNV4-demo-V6",
]);

/** The batch that changes VRF `vrf`'s RD and RT (both families), as the diff emits it. */
export function rdRtChangeLines(vrf: string, options: { rd: string; rt: string }): string[] {
  const af = (v: number) => [
    ` address-family ipv${v} unicast`,
    `  rd vpn export ${options.rd}`,
    `  rt vpn both ${options.rt}`,
    " exit-address-family",
  ];
  return [`router bgp 65000 vrf ${vrf}`, ...af(4), ...af(6), "exit"];
}
