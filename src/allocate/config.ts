/**
 * What the allocator reads from the configuration: RD/RT administrators and the table range,
 * and the checks that make a configuration unusable for allocation.
 */
import type { Config, ConfigIssue } from "../config/mod.ts";
import { maxAssigned } from "./route_distinguisher.ts";

/** Route table ids the kernel reserves (unspec, default, main, local). */
export const RESERVED_TABLES: ReadonlySet<number> = new Set([0, 253, 254, 255]);

/** The allocator's view of the configuration. */
export interface AllocationSettings {
  /** RD administrator: `allocation.rd_base`, else `bgp.asn`. */
  readonly rdAdmin: number | string;
  /** RT administrator: `allocation.rt_base`, else the RD administrator. */
  readonly rtAdmin: number | string;
  readonly tableMin: number;
  readonly tableMax: number;
}

/** Resolves administrators and the table range from a validated configuration. */
export function allocationSettings(config: Config): AllocationSettings {
  const a = config.allocation;
  const rdAdmin = a.rd_base ?? config.bgp.asn;
  const rtAdmin = a.rt_base ?? rdAdmin;
  return { rdAdmin, rtAdmin, tableMin: a.table_range.min, tableMax: a.table_range.max };
}

/** Whether a table id may be given to a tenant under these settings. */
export function isUsableTable(table: number, settings: AllocationSettings): boolean {
  return Number.isInteger(table) && table >= settings.tableMin && table <= settings.tableMax &&
    !RESERVED_TABLES.has(table);
}

/** How many table ids the range offers (reserved ids excluded). */
export function usableTableCount(settings: AllocationSettings): number {
  let n = settings.tableMax - settings.tableMin + 1;
  for (const t of RESERVED_TABLES) if (t >= settings.tableMin && t <= settings.tableMax) n--;
  return n;
}

function describeAdmin(admin: number | string): string {
  if (typeof admin === "string") return `IPv4 administrator ${admin} (type 1)`;
  return admin <= 0xffff ? `2-byte ASN ${admin} (type 0)` : `4-byte ASN ${admin} (type 2)`;
}

/**
 * Problems that make the configuration unusable for allocation, each with its YAML path
 * (e.g. `allocation.table_range.max`), for the CLI to report as configuration errors (exit 2).
 * The assigned number of every RD/RT is the tenant's table id, so the table range must fit the
 * 16-bit assigned field of type 1 (IPv4) and type 2 (4-byte ASN) administrators.
 */
export function validateAllocationConfig(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const s = allocationSettings(config);
  const sources: [string, number | string, string][] = [
    [
      "RD",
      s.rdAdmin,
      config.allocation.rd_base !== undefined ? "allocation.rd_base" : "bgp.asn",
    ],
    [
      "RT",
      s.rtAdmin,
      config.allocation.rt_base !== undefined
        ? "allocation.rt_base"
        : config.allocation.rd_base !== undefined
        ? "allocation.rd_base"
        : "bgp.asn",
    ],
  ];
  const reported = new Set<string>();
  for (const [what, admin, from] of sources) {
    const max = maxAssigned(admin);
    if (s.tableMax > max && !reported.has(`${admin}`)) {
      reported.add(`${admin}`);
      issues.push({
        path: "allocation.table_range.max",
        message: `is ${s.tableMax}, but the ${what} administrator ${from} is a ${
          describeAdmin(admin)
        } whose assigned number is 16-bit; use a table_range.max of at most ${max} or a 2-byte ASN`,
      });
    }
  }
  if (usableTableCount(s) < 1) {
    issues.push({
      path: "allocation.table_range",
      message: "holds no usable table id (0 and 253-255 are reserved)",
    });
  }
  return issues;
}
