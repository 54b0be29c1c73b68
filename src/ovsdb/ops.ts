/**
 * Typed builders of `transact` operations (RFC 7047 §5.2), kept apart from sending.
 * Values are encoded to the wire notation here; nothing in this file does I/O.
 * @module
 */

/** A uuid reference to an existing row. */
export interface UuidRef {
  readonly uuid: string;
}

/** A reference to a row inserted earlier in the same transaction. */
export interface NamedUuidRef {
  readonly namedUuid: string;
}

/** Values accepted by the encoders. Arrays are sets, `Map`s are maps. */
export type Value =
  | string
  | number
  | boolean
  | UuidRef
  | NamedUuidRef
  | Value[]
  | Map<string | number | boolean | UuidRef | NamedUuidRef, Value>;

/** Builds a uuid reference. */
export function uuid(value: string): UuidRef {
  return { uuid: value };
}

/** Builds a named-uuid reference (see {@link insert}'s `uuidName`). */
export function namedUuid(name: string): NamedUuidRef {
  return { namedUuid: name };
}

/** Encodes a JS value into OVSDB wire notation. */
export function encodeValue(v: Value): unknown {
  if (Array.isArray(v)) return ["set", v.map(encodeValue)];
  if (v instanceof Map) {
    return ["map", [...v].map(([k, x]) => [encodeValue(k as Value), encodeValue(x)])];
  }
  if (typeof v === "object") {
    if ("uuid" in v) return ["uuid", v.uuid];
    return ["named-uuid", v.namedUuid];
  }
  return v;
}

/** Encodes a row object (column → value). */
export function encodeRow(row: Record<string, Value | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (v !== undefined) out[k] = encodeValue(v);
  return out;
}

/** Comparison functions of conditions. */
export type ConditionFunction = "==" | "!=" | "<" | "<=" | ">" | ">=" | "includes" | "excludes";

/** A condition `[column, function, value]`. */
export type Condition = [string, ConditionFunction, Value];

/** Mutators of `mutate`. */
export type Mutator = "+=" | "-=" | "*=" | "/=" | "%=" | "insert" | "delete";

/** A mutation `[column, mutator, value]`. */
export type Mutation = [string, Mutator, Value];

/** One encoded transact operation. */
export type Operation = Record<string, unknown> & { op: string };

function encodeWhere(where: Condition[]): unknown[] {
  return where.map(([c, f, v]) => [c, f, encodeValue(v)]);
}

/** Builds a condition. */
export function cond(column: string, fn: ConditionFunction, value: Value): Condition {
  return [column, fn, value];
}

/** `insert`; `uuidName` lets later operations refer to the row via {@link namedUuid}. */
export function insert(
  table: string,
  row: Record<string, Value | undefined>,
  options: { uuidName?: string; uuid?: string } = {},
): Operation {
  const op: Operation = { op: "insert", table, row: encodeRow(row) };
  if (options.uuidName) op["uuid-name"] = options.uuidName;
  if (options.uuid) op.uuid = options.uuid;
  return op;
}

/** `select` of the rows matching `where` (all columns unless `columns`). */
export function select(
  table: string,
  where: Condition[],
  options: { columns?: string[] } = {},
): Operation {
  const op: Operation = { op: "select", table, where: encodeWhere(where) };
  if (options.columns) op.columns = options.columns;
  return op;
}

/** `update` of the rows matching `where`. */
export function update(
  table: string,
  where: Condition[],
  options: { row: Record<string, Value | undefined> },
): Operation {
  return { op: "update", table, where: encodeWhere(where), row: encodeRow(options.row) };
}

/** `mutate` of the rows matching `where`. */
export function mutate(
  table: string,
  where: Condition[],
  options: { mutations: Mutation[] },
): Operation {
  return {
    op: "mutate",
    table,
    where: encodeWhere(where),
    mutations: options.mutations.map(([c, m, v]) => [c, m, encodeValue(v)]),
  };
}

/** `delete` of the rows matching `where`. */
export function del(table: string, where: Condition[]): Operation {
  return { op: "delete", table, where: encodeWhere(where) };
}

/** `wait` until the selected columns of the matching rows equal (or differ from) `rows`. */
export function wait(
  table: string,
  where: Condition[],
  options: {
    columns: string[];
    rows: Record<string, Value | undefined>[];
    until?: "==" | "!=";
    timeoutMs?: number;
  },
): Operation {
  const op: Operation = {
    op: "wait",
    table,
    where: encodeWhere(where),
    columns: options.columns,
    until: options.until ?? "==",
    rows: options.rows.map(encodeRow),
  };
  if (options.timeoutMs !== undefined) op.timeout = options.timeoutMs;
  return op;
}

/** `commit` (durable when `durable` is true). */
export function commit(durable: boolean): Operation {
  return { op: "commit", durable };
}

/** `abort`. */
export function abort(): Operation {
  return { op: "abort" };
}

/** `comment` recorded in the database log. */
export function comment(text: string): Operation {
  return { op: "comment", comment: text };
}

/** `assert` that this client holds `lock`. */
export function assertLock(lock: string): Operation {
  return { op: "assert", lock };
}

/** The result of one operation, as returned by the server. */
export interface OperationResult {
  uuid?: ["uuid", string];
  rows?: Record<string, unknown>[];
  count?: number;
  error?: string;
  details?: string;
}
