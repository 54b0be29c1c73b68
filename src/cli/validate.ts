/** `vpnv4-agent validate`: checks config and tenants, prints what would be allocated. */
import { formatPrefix } from "../net/mod.ts";
import { dryRun, type DryRunFlags } from "./dry_run.ts";

/** Returns a table (or JSON) of the allocations the config and tenants would get. */
export async function validateCommand(flags: DryRunFlags & { json?: boolean }): Promise<string> {
  const { config, tenants, allocations } = await dryRun(flags);
  const rows = [...tenants.tenants.values()].map((t) => {
    const a = allocations.get(t.name)!;
    return {
      tenant: t.name,
      vrf: a.vrf,
      table: a.table,
      rd: a.rd,
      rt: a.rt,
      prefixes: t.prefixes.map(formatPrefix),
    };
  });
  if (flags.json) {
    return JSON.stringify(
      { ok: true, asn: config.bgp.asn, tenants: rows, rejected: tenants.rejected },
      null,
      2,
    );
  }
  const header = ["TENANT", "VRF", "TABLE", "RD", "RT", "PREFIXES"];
  const cells = rows.map((
    r,
  ) => [r.tenant, r.vrf, String(r.table), r.rd, r.rt, r.prefixes.join(" ")]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((v, i) => i === c.length - 1 ? v : v.padEnd(widths[i])).join("  ");
  const out = [
    `config ok: ${flags.config} (AS ${config.bgp.asn}, ${config.bgp.peers.length} peer(s))`,
    `${rows.length} tenant(s), ${tenants.rejected.length} rejected entr${
      tenants.rejected.length === 1 ? "y" : "ies"
    }`,
    "",
    line(header),
    ...cells.map(line),
  ];
  for (const r of tenants.rejected) {
    out.push(`rejected: ${r.tenant}${r.prefix ? ` ${r.prefix}` : ""}: ${r.reason}`);
  }
  return out.join("\n");
}
