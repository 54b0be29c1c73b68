/**
 * Minimal TOML writer for fixture configs (GoBGP): nested tables, arrays of tables,
 * strings, numbers, booleans and arrays of those. Not a general-purpose serializer.
 * @module
 */

/** A TOML value this writer accepts. */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable | TomlTable[];
/** A TOML table. */
export interface TomlTable {
  [key: string]: TomlValue | undefined;
}

function isTable(v: unknown): v is TomlTable {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

function scalar(v: TomlValue, path: string): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`toml: ${path} is not a finite number`);
    return String(v);
  }
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map((x, i) => scalar(x, `${path}[${i}]`)).join(", ")}]`;
  throw new Error(`toml: ${path} is a table where a value was expected`);
}

/** Serializes `table` to TOML text. */
export function toToml(table: TomlTable, prefix: string[] = []): string {
  const lines: string[] = [];
  const nested: string[] = [];
  for (const [k, v] of Object.entries(table)) {
    if (v === undefined) continue;
    const path = [...prefix, key(k)];
    if (isTable(v)) {
      nested.push(`\n[${path.join(".")}]\n` + toToml(v, path));
    } else if (Array.isArray(v) && v.length > 0 && v.every(isTable)) {
      for (const t of v as TomlTable[]) nested.push(`\n[[${path.join(".")}]]\n` + toToml(t, path));
    } else {
      lines.push(`${key(k)} = ${scalar(v, path.join("."))}`);
    }
  }
  return lines.map((l) => l + "\n").join("") + nested.join("");
}
