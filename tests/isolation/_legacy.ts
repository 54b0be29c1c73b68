/**
 * Running configurations as earlier versions of the agent wrote them (before the shared export
 * policy): per-VRF prefix-lists `VPNV4-<vrf>-V4/V6` listing every tenant prefix, per-VRF
 * route-maps, and instances redistributing through them (the format of the golden file before
 * the change). Used to check the migration batch.
 * @module
 */
import { formatPrefix, type IpPrefix } from "../../src/net/mod.ts";

/** One tenant instance as an earlier version rendered it. */
export interface LegacyTenant {
  vrf: string;
  rd: string;
  rt: string;
  prefixes: readonly IpPrefix[];
}

/** The tenant part of an earlier version's configuration (prefix-lists, route-maps, instances). */
export function legacyConfigText(
  tenants: readonly LegacyTenant[],
  options: { asn: number; routerId: string },
): string {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    for (const t of tenants) {
      const own = t.prefixes.filter((p) => p.family === family);
      own.forEach((p, i) =>
        out.push(
          `${family === 4 ? "ip" : "ipv6"} prefix-list VPNV4-${t.vrf}-V${family} seq ${
            (i + 1) * 10
          } permit ${formatPrefix(p)}`,
        )
      );
      if (own.length > 0) out.push("!");
    }
  }
  for (const t of tenants) {
    for (const family of [4, 6] as const) {
      out.push(
        `route-map VPNV4-${t.vrf}-V${family} permit 10`,
        ` match ${family === 4 ? "ip" : "ipv6"} address prefix-list VPNV4-${t.vrf}-V${family}`,
        "exit",
        "!",
      );
    }
  }
  for (const t of tenants) {
    out.push(`router bgp ${options.asn} vrf ${t.vrf}`, ` bgp router-id ${options.routerId}`);
    for (const family of [4, 6] as const) {
      out.push(
        ` address-family ipv${family} unicast`,
        `  redistribute kernel route-map VPNV4-${t.vrf}-V${family}`,
        "  label vpn export auto",
        `  rd vpn export ${t.rd}`,
        `  rt vpn both ${t.rt}`,
        "  export vpn",
        "  import vpn",
        " exit-address-family",
      );
    }
    out.push("exit", "!");
  }
  return `${out.join("\n")}\n`;
}
