/**
 * Safe accessors for decoded OVSDB rows (values arrive as untyped datums; hostile rows may
 * hold anything) and the NB/SB tables and columns the expose mode reads.
 * @module
 */
import type { MonitorSpec, Row } from "../ovsdb/mod.ts";

/** Longest string taken from a row; longer values are treated as absent. */
export const MAX_TEXT = 4096;

/** The OVN Northbound tables and columns the expose mode monitors. */
export const NB_EXPOSE_SPEC: MonitorSpec = {
  Logical_Switch: ["name", "ports", "other_config", "external_ids"],
  Logical_Switch_Port: [
    "name",
    "type",
    "addresses",
    "dynamic_addresses",
    "options",
    "external_ids",
  ],
  Logical_Router_Port: ["name", "networks", "gateway_chassis", "options"],
  Gateway_Chassis: ["chassis_name", "priority"],
  NAT: ["type", "external_ip", "logical_port"],
};

/** The OVN Southbound tables and columns the expose mode monitors (binding_source sb). */
export const SB_EXPOSE_SPEC: MonitorSpec = {
  Chassis: ["name", "hostname"],
  Port_Binding: ["logical_port", "type", "chassis"],
};

/** A string column, or undefined when absent, not a string or too long. */
export function text(row: Row, column: string): string | undefined {
  const v = row[column];
  return typeof v === "string" && v.length <= MAX_TEXT ? v : undefined;
}

/** A number column, or undefined. */
export function num(row: Row, column: string): number | undefined {
  const v = row[column];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** A set column as strings (non-strings dropped). */
export function texts(row: Row, column: string): string[] {
  const v = row[column];
  if (typeof v === "string") return v.length <= MAX_TEXT ? [v] : [];
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is string => typeof x === "string" && x.length <= MAX_TEXT);
}

/** A map column as a string map (non-string keys/values dropped). */
export function strMap(row: Row, column: string): Map<string, string> {
  const v = row[column];
  const out = new Map<string, string>();
  if (!(v instanceof Map)) return out;
  for (const [k, x] of v) {
    if (typeof k === "string" && typeof x === "string" && x.length <= MAX_TEXT) out.set(k, x);
  }
  return out;
}

/** Short printable form of an untrusted name for messages. */
export function printable(name: unknown): string {
  const s = typeof name === "string" ? name : String(name);
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
