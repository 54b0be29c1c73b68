/**
 * Typed in-memory table cache built from the server's schema, fed by monitor updates
 * (`update`, `update2`, `update3` notations), with add/update/delete handlers.
 * @module
 */
import {
  applyDatumDiff,
  type ColumnSchema,
  type DatabaseSchema,
  type Datum,
  datumEqual,
  decodeDatum,
  defaultDatum,
  OvsdbSchemaError,
} from "./schema.ts";

/** A cached row: `_uuid` plus the monitored columns, decoded. Rows are never mutated. */
export interface Row {
  readonly _uuid: string;
  readonly [column: string]: Datum;
}

/** Handlers called as the cache changes. `table` is the table name. */
export interface CacheEventHandler {
  onAdd?(table: string, row: Row): void;
  onUpdate?(table: string, oldRow: Row, newRow: Row): void;
  onDelete?(table: string, row: Row): void;
  /** Called once after each applied batch (one notification or one resync). */
  onBatch?(): void;
}

/** Which columns of which tables are monitored; `undefined` means all columns. */
export type MonitorSpec = Record<string, string[] | undefined>;

/** The rows of one table. */
export class TableCache<R extends Row = Row> {
  /** Table name. */
  readonly name: string;
  /** Monitored columns (without `_uuid`). */
  readonly columns: readonly string[];
  readonly #rows = new Map<string, R>();

  constructor(name: string, columns: readonly string[]) {
    this.name = name;
    this.columns = columns;
  }

  /** Number of rows. */
  get size(): number {
    return this.#rows.size;
  }

  /** The row with this uuid. */
  get(uuid: string): R | undefined {
    return this.#rows.get(uuid);
  }

  /** All rows. */
  rows(): IterableIterator<R> {
    return this.#rows.values();
  }

  /** @internal */
  _map(): Map<string, R> {
    return this.#rows;
  }
}

interface TableState {
  cache: TableCache;
  cols: [string, ColumnSchema][];
  colMap: Map<string, ColumnSchema>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The cache of one database. Apply the monitor's initial contents with
 * {@link DatabaseCache.replaceAll} (which emits only the real differences against the
 * current contents, so a resync after reconnecting is silent when nothing changed) and
 * notifications with {@link DatabaseCache.applyUpdates}.
 */
export class DatabaseCache {
  #schema: DatabaseSchema;
  readonly #spec: MonitorSpec;
  #tables = new Map<string, TableState>();
  readonly #handlers = new Set<CacheEventHandler>();

  /** Builds an empty cache; unknown tables throw, unknown columns are dropped. */
  constructor(schema: DatabaseSchema, spec: MonitorSpec) {
    this.#schema = schema;
    this.#spec = spec;
    this.#tables = this.#build(schema);
  }

  #build(schema: DatabaseSchema): Map<string, TableState> {
    const out = new Map<string, TableState>();
    for (const [name, wanted] of Object.entries(this.#spec)) {
      const ts = schema.tables.get(name);
      if (!ts) throw new OvsdbSchemaError(`table ${name} is not in schema ${schema.name}`);
      const names = (wanted ?? [...ts.columns.keys()]).filter((c) =>
        c !== "_uuid" && c !== "_version" && ts.columns.has(c)
      );
      const cols = names.map((c) => [c, ts.columns.get(c)!] as [string, ColumnSchema]);
      const old = this.#tables?.get(name);
      const cache = old?.cache ?? new TableCache(name, names);
      out.set(name, { cache, cols, colMap: new Map(cols) });
    }
    return out;
  }

  /** The schema the cache decodes with. */
  get schema(): DatabaseSchema {
    return this.#schema;
  }

  /** Switches to a new schema (after reconnecting to an upgraded server). */
  setSchema(schema: DatabaseSchema): void {
    this.#schema = schema;
    this.#tables = this.#build(schema);
  }

  /** The monitor request columns per table. */
  monitoredColumns(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, t] of this.#tables) out[name] = t.cols.map(([c]) => c);
    return out;
  }

  /** The cache of one table; throws for a table that is not monitored. */
  table<R extends Row = Row>(name: string): TableCache<R> {
    const t = this.#tables.get(name);
    if (!t) throw new Error(`table ${name} is not monitored`);
    return t.cache as unknown as TableCache<R>;
  }

  /** Registers a handler; returns a function that removes it. */
  addEventHandler(handler: CacheEventHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  #fullRow(t: TableState, uuid: string, wire: unknown): Row {
    if (!isObject(wire)) throw new OvsdbSchemaError(`${t.cache.name} row ${uuid}: not an object`);
    const row: Record<string, Datum> = { _uuid: uuid };
    for (const [c, col] of t.cols) {
      const v = wire[c];
      row[c] = v === undefined ? defaultDatum(col) : decodeDatum(col, v);
    }
    return row as Row;
  }

  #mergeRow(t: TableState, old: Row, wire: unknown, diff: boolean): Row {
    if (!isObject(wire)) {
      throw new OvsdbSchemaError(`${t.cache.name} row ${old._uuid}: not an object`);
    }
    const row: Record<string, Datum> = { ...old };
    for (const [c, v] of Object.entries(wire)) {
      const col = t.colMap.get(c);
      if (!col) continue;
      row[c] = diff ? applyDatumDiff(col, old[c], v) : decodeDatum(col, v);
    }
    return row as Row;
  }

  /** True when both rows have equal monitored columns. */
  #rowEqual(t: TableState, a: Row, b: Row): boolean {
    for (const [c] of t.cols) if (!datumEqual(a[c], b[c])) return false;
    return true;
  }

  #emit(fn: (h: CacheEventHandler) => void): void {
    for (const h of this.#handlers) fn(h);
  }

  /**
   * Replaces the whole contents with a monitor's initial reply (`notation` 1 for
   * `monitor`, 2 for `monitor_cond`/`monitor_cond_since`), emitting only differences.
   */
  replaceAll(tableUpdates: unknown, notation: 1 | 2): void {
    if (!isObject(tableUpdates) && tableUpdates !== null) {
      throw new OvsdbSchemaError("monitor reply: table-updates is not an object");
    }
    const updates = (tableUpdates ?? {}) as Record<string, unknown>;
    for (const [name, t] of this.#tables) {
      const fresh = new Map<string, Row>();
      const tu = updates[name];
      if (isObject(tu)) {
        for (const uuid in tu) {
          const ru = tu[uuid];
          if (!isObject(ru)) continue;
          const wire = notation === 2 ? (ru.initial ?? ru.insert) : ru.new;
          if (wire === undefined) continue;
          fresh.set(uuid, this.#fullRow(t, uuid, wire));
        }
      }
      const map = t.cache._map();
      if (map.size === 0) {
        // First sync: everything is an add.
        for (const [uuid, row] of fresh) {
          map.set(uuid, row);
          for (const h of this.#handlers) h.onAdd?.(name, row);
        }
        continue;
      }
      const old = new Map(map);
      map.clear();
      for (const [uuid, row] of fresh) {
        const prev = old.get(uuid);
        if (prev && this.#rowEqual(t, prev, row)) {
          map.set(uuid, prev);
          old.delete(uuid);
          continue;
        }
        map.set(uuid, row);
        if (prev) {
          old.delete(uuid);
          this.#emit((h) => h.onUpdate?.(name, prev, row));
        } else {
          this.#emit((h) => h.onAdd?.(name, row));
        }
      }
      for (const row of old.values()) this.#emit((h) => h.onDelete?.(name, row));
    }
    this.#emit((h) => h.onBatch?.());
  }

  /** Applies one update notification (`notation` 1: `update`, 2: `update2`/`update3`). */
  applyUpdates(tableUpdates: unknown, notation: 1 | 2): void {
    if (!isObject(tableUpdates)) {
      throw new OvsdbSchemaError("update notification: table-updates is not an object");
    }
    for (const [name, tu] of Object.entries(tableUpdates)) {
      const t = this.#tables.get(name);
      if (!t || !isObject(tu)) continue;
      const map = t.cache._map();
      for (const [uuid, ru] of Object.entries(tu)) {
        if (!isObject(ru)) continue;
        const prev = map.get(uuid);
        let next: Row | undefined;
        let deleted = false;
        if (notation === 2) {
          if ("delete" in ru) deleted = true;
          else if (ru.modify !== undefined && prev) next = this.#mergeRow(t, prev, ru.modify, true);
          else if (ru.insert !== undefined) next = this.#fullRow(t, uuid, ru.insert);
          else if (ru.initial !== undefined) next = this.#fullRow(t, uuid, ru.initial);
        } else {
          if (ru.new === undefined || ru.new === null) deleted = true;
          else if (prev) next = this.#mergeRow(t, prev, ru.new, false);
          else next = this.#fullRow(t, uuid, ru.new);
        }
        if (deleted) {
          if (prev) {
            map.delete(uuid);
            this.#emit((h) => h.onDelete?.(name, prev));
          }
        } else if (next) {
          map.set(uuid, next);
          if (!prev) this.#emit((h) => h.onAdd?.(name, next));
          else if (!this.#rowEqual(t, prev, next)) {
            this.#emit((h) => h.onUpdate?.(name, prev, next));
          }
        }
      }
    }
    this.#emit((h) => h.onBatch?.());
  }
}
