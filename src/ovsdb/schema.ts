/**
 * OVSDB schema (RFC 7047 §3.2) and the decoding of wire datums into plain values.
 * @module
 */

/** Atomic types of OVSDB. */
export type AtomicType = "integer" | "real" | "boolean" | "string" | "uuid";

/** A decoded atom: uuids are decoded to their string form. */
export type Atom = string | number | boolean;

/** A decoded datum: a scalar, a set (array) or a map. */
export type Datum = Atom | Atom[] | Map<Atom, Atom> | undefined;

/** Base type of a column key or value. */
export interface BaseType {
  type: AtomicType;
  enum?: unknown;
  refTable?: string;
  refType?: "strong" | "weak";
  minInteger?: number;
  maxInteger?: number;
  minLength?: number;
  maxLength?: number;
}

/** Normalised column type. */
export interface ColumnType {
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number | "unlimited";
}

/** How a column's datum is represented once decoded. */
export type ColumnKind = "scalar" | "optional" | "set" | "map";

/** A column of a table schema. */
export interface ColumnSchema {
  type: ColumnType;
  kind: ColumnKind;
  ephemeral?: boolean;
  mutable?: boolean;
}

/** A table of a database schema. */
export interface TableSchema {
  name: string;
  columns: Map<string, ColumnSchema>;
  isRoot?: boolean;
  maxRows?: number;
  indexes?: string[][];
}

/** A database schema as returned by `get_schema`. */
export interface DatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: Map<string, TableSchema>;
  /** The JSON the server sent. */
  raw: unknown;
}

/** Thrown for a schema or datum that does not follow RFC 7047. */
export class OvsdbSchemaError extends Error {
  override name = "OvsdbSchemaError";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseBaseType(v: unknown, where: string): BaseType {
  if (typeof v === "string") return { type: v as AtomicType };
  if (isObject(v) && typeof v.type === "string") return v as unknown as BaseType;
  throw new OvsdbSchemaError(`${where}: invalid base type ${JSON.stringify(v)}`);
}

function parseColumnType(v: unknown, where: string): ColumnType {
  if (typeof v === "string") return { key: { type: v as AtomicType }, min: 1, max: 1 };
  if (!isObject(v)) throw new OvsdbSchemaError(`${where}: invalid column type`);
  const key = parseBaseType(v.key, `${where}.key`);
  const value = v.value === undefined ? undefined : parseBaseType(v.value, `${where}.value`);
  const min = v.min === undefined ? 1 : Number(v.min);
  const max = v.max === undefined ? 1 : v.max === "unlimited" ? "unlimited" : Number(v.max);
  return { key, value, min, max };
}

function kindOf(t: ColumnType): ColumnKind {
  if (t.value) return "map";
  if (t.min === 1 && t.max === 1) return "scalar";
  if (t.min === 0 && t.max === 1) return "optional";
  return "set";
}

/** Parses the JSON of a `get_schema` answer. */
export function parseSchema(raw: unknown): DatabaseSchema {
  if (!isObject(raw) || typeof raw.name !== "string" || !isObject(raw.tables)) {
    throw new OvsdbSchemaError("schema: expected an object with name and tables");
  }
  const tables = new Map<string, TableSchema>();
  for (const [tname, t] of Object.entries(raw.tables)) {
    if (!isObject(t) || !isObject(t.columns)) {
      throw new OvsdbSchemaError(`schema table ${tname}: missing columns`);
    }
    const columns = new Map<string, ColumnSchema>();
    for (const [cname, c] of Object.entries(t.columns)) {
      if (!isObject(c)) throw new OvsdbSchemaError(`schema ${tname}.${cname}: not an object`);
      const type = parseColumnType(c.type, `schema ${tname}.${cname}`);
      columns.set(cname, {
        type,
        kind: kindOf(type),
        ephemeral: c.ephemeral === true,
        mutable: c.mutable !== false,
      });
    }
    const uuidType: ColumnType = { key: { type: "uuid" }, min: 1, max: 1 };
    columns.set("_uuid", { type: uuidType, kind: "scalar" });
    columns.set("_version", { type: uuidType, kind: "scalar" });
    tables.set(tname, {
      name: tname,
      columns,
      isRoot: t.isRoot === true,
      maxRows: typeof t.maxRows === "number" ? t.maxRows : undefined,
      indexes: Array.isArray(t.indexes) ? t.indexes as string[][] : undefined,
    });
  }
  return {
    name: raw.name,
    version: typeof raw.version === "string" ? raw.version : "",
    cksum: typeof raw.cksum === "string" ? raw.cksum : undefined,
    tables,
    raw,
  };
}

/** Decodes one wire atom (`["uuid", "…"]` becomes the uuid string). */
export function decodeAtom(v: unknown): Atom {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v) && v.length === 2 && (v[0] === "uuid" || v[0] === "named-uuid")) {
    return String(v[1]);
  }
  throw new OvsdbSchemaError(`invalid atom ${JSON.stringify(v)?.slice(0, 80)}`);
}

function decodeSetElems(v: unknown): Atom[] {
  if (Array.isArray(v) && v[0] === "set") {
    if (!Array.isArray(v[1])) throw new OvsdbSchemaError("invalid set");
    const elems = v[1] as unknown[];
    const out = new Array<Atom>(elems.length);
    for (let i = 0; i < elems.length; i++) out[i] = decodeAtom(elems[i]);
    return out;
  }
  return [decodeAtom(v)];
}

function compactSet(elems: Atom[], options?: DecodeOptions): Datum {
  return options?.compactSets && elems.length === 1 ? elems[0] : elems;
}

/** Options of {@link decodeDatum} and {@link applyDatumDiff}. */
export interface DecodeOptions {
  /**
   * Sets: keep a set of exactly one atom as the atom itself, as the wire does (an array per
   * row costs about 56 bytes: 5.6 MB for the `addresses` of 100,000 ports). Readers of such a
   * column get an atom, or an array for zero or several atoms.
   */
  compactSets?: boolean;
  /** Keep only these keys of a map (the others are dropped, also from diffs). */
  mapKeys?: ReadonlySet<Atom>;
  /** Returns the string to keep for a map key (to share equal key strings between rows). */
  internKey?: (key: Atom) => Atom;
}

function decodeMapPairs(v: unknown, options?: DecodeOptions): Map<Atom, Atom> {
  if (!Array.isArray(v) || v[0] !== "map" || !Array.isArray(v[1])) {
    throw new OvsdbSchemaError(`invalid map ${JSON.stringify(v)?.slice(0, 80)}`);
  }
  const m = new Map<Atom, Atom>();
  const keys = options?.mapKeys;
  const intern = options?.internKey;
  for (const pair of v[1] as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new OvsdbSchemaError("invalid map pair");
    let k = decodeAtom(pair[0]);
    const value = decodeAtom(pair[1]);
    if (keys && !keys.has(k)) continue;
    if (intern) k = intern(k);
    m.set(k, value);
  }
  return m;
}

/** Decodes a wire datum according to the column's kind. */
export function decodeDatum(column: ColumnSchema, v: unknown, options?: DecodeOptions): Datum {
  switch (column.kind) {
    case "scalar":
      return decodeAtom(v);
    case "optional": {
      const s = decodeSetElems(v);
      return s.length === 0 ? undefined : s[0];
    }
    case "set":
      if (options?.compactSets && !(Array.isArray(v) && v[0] === "set")) return decodeAtom(v);
      return compactSet(decodeSetElems(v), options);
    case "map":
      return decodeMapPairs(v, options);
  }
}

/** The default (empty) value of a column, used for columns omitted in update2 rows. */
export function defaultDatum(column: ColumnSchema): Datum {
  switch (column.kind) {
    case "scalar":
      switch (column.type.key.type) {
        case "integer":
        case "real":
          return 0;
        case "boolean":
          return false;
        case "uuid":
          return "00000000-0000-0000-0000-000000000000";
      }
      return "";
    case "optional":
      return undefined;
    case "set":
      return [];
    case "map":
      return new Map();
  }
}

/**
 * Applies an update2 `modify` diff to a datum: sets take the symmetric difference,
 * maps add new keys, delete keys whose value matches and replace the others.
 */
export function applyDatumDiff(
  column: ColumnSchema,
  old: Datum,
  diff: unknown,
  options?: DecodeOptions,
): Datum {
  switch (column.kind) {
    case "scalar":
      return decodeAtom(diff);
    case "optional": {
      // As the reference IDL: with max 1 and a current value, the diff is the new value.
      const d = decodeSetElems(diff);
      return d.length === 0 ? undefined : d[0];
    }
    case "set": {
      const cur = new Set(Array.isArray(old) ? old : old === undefined ? [] : [old as Atom]);
      for (const a of decodeSetElems(diff)) {
        if (cur.has(a)) cur.delete(a);
        else cur.add(a);
      }
      return compactSet([...cur], options);
    }
    case "map": {
      const m = new Map(old as Map<Atom, Atom> ?? []);
      for (const [k, v] of decodeMapPairs(diff, options)) {
        if (m.has(k) && m.get(k) === v) m.delete(k);
        else m.set(k, v);
      }
      return m;
    }
  }
}

/** Structural equality of two decoded datums (sets compared as sets). */
export function datumEqual(a: Datum, b: Datum): boolean {
  if (a === b) return true;
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (b.get(k) !== v || !b.has(k)) return false;
    return true;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    if (a.every((x, i) => x === b[i])) return true;
    const s = new Set(a);
    return b.every((x) => s.has(x));
  }
  return false;
}
