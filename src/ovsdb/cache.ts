/**
 * Typed in-memory table cache built from the server's schema, fed by monitor updates
 * (`update`, `update2`, `update3` notations), with add/update/delete handlers.
 * @module
 */
import {
  applyDatumDiff,
  type Atom,
  type ColumnSchema,
  type DatabaseSchema,
  type Datum,
  datumEqual,
  decodeDatum,
  type DecodeOptions,
  defaultDatum,
  OvsdbSchemaError,
} from "./schema.ts";
import { eager, members } from "./lazy_json.ts";

/**
 * A cached row: `_uuid` plus the monitored columns, decoded. Rows are never mutated, nor are
 * their datums: rows may share equal map datums (see {@link DatabaseCache}).
 */
export interface Row {
  readonly _uuid: string;
  readonly [column: string]: Datum;
}

/** Handlers called as the cache changes. `table` is the table name. */
export interface CacheEventHandler {
  onAdd?(table: string, row: Row): void;
  onUpdate?(table: string, oldRow: Row, newRow: Row): void;
  onDelete?(table: string, row: Row): void;
  /**
   * A row of a table monitored with `keepRows: false`, as it now is (`undefined`: deleted).
   * Such tables have no add/update/delete events: the cache does not know the previous row.
   */
  onRow?(table: string, uuid: string, row: Row | undefined): void;
  /**
   * Brackets the rows of a fresh snapshot of a `keepRows: false` table (initial sync and every
   * resync): rows the handler knows of that did not come between `begin` and `end` are gone.
   */
  onSnapshot?(table: string, phase: "begin" | "end"): void;
  /** Called once after each applied batch (one notification or one resync). */
  onBatch?(): void;
}

/** What is monitored of one table, when more than a list of columns is needed. */
export interface TableMonitorSpec {
  /** Monitored columns; `undefined` means all. */
  columns?: readonly string[];
  /**
   * Map columns of which only these keys are kept (e.g. the two `external_ids` keys a consumer
   * reads out of a dozen): the others are dropped when rows and diffs are decoded.
   */
  mapKeys?: Readonly<Record<string, readonly string[]>>;
  /**
   * Set columns in which a set of one atom is kept as the atom (see `DecodeOptions.compactSets`):
   * rows then hold an atom, or an array for zero or several atoms.
   */
  compactSets?: readonly string[];
  /**
   * Keep the rows of this table (default true). With `false` the cache holds nothing for it and
   * hands each row on as it comes ({@link CacheEventHandler.onRow}), for consumers that keep
   * only what they derive from the rows; the monitor must then be `monitor` (notation 1, whose
   * modify updates carry the whole new row), so no `monitor_cond_since` resume.
   */
  keepRows?: boolean;
}

/**
 * Which columns of which tables are monitored: a list of columns, a {@link TableMonitorSpec},
 * or `undefined` for all columns.
 */
export type MonitorSpec = Record<string, readonly string[] | TableMonitorSpec | undefined>;

/** Distinct map keys shared between rows per table; more are kept as they come. */
const MAX_INTERNED_KEYS = 4096;
/** Map datums looked up before {@link MapInterner} decides whether sharing pays. */
const INTERN_TRIAL = 16384;
/** Smallest table size at which {@link MapInterner.sweep} looks at the rows. */
const MIN_SWEEP = 1024;

/** FNV-1a over a map's keys and values (with their types), as a small integer. */
function mapHash(m: Map<Atom, Atom>): number {
  let h = 0x811c9dc5;
  const mix = (a: Atom) => {
    const s = typeof a === "string" ? a : `\u0000${typeof a}${String(a)}`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
  };
  for (const [k, v] of m) {
    mix(k);
    mix(v);
  }
  return h & 0x3fffffff;
}

function sameMap(a: Map<Atom, Atom>, b: Map<Atom, Atom>): boolean {
  if (a.size !== b.size) return false;
  const ia = a.entries(), ib = b.entries();
  for (let x = ia.next(), y = ib.next(); !x.done; x = ia.next(), y = ib.next()) {
    if (x.value[0] !== y.value![0] || x.value[1] !== y.value![1]) return false;
  }
  return true;
}

/**
 * Shares equal map datums (same pairs in the same order) between the rows of one column: the
 * `external_ids` of the pods of a namespace are usually identical, and a Map costs about 200
 * bytes. The table holds the Maps strongly; {@link DatabaseCache} sweeps it against the rows
 * after a batch once it has doubled, so Maps no row uses any more do not pile up (no weak
 * references: their targets live until the current job ends, unbounded in a long synchronous
 * loop). When fewer than a quarter of the first {@link INTERN_TRIAL} datums were repeats (ids
 * unique per row), sharing stops for good.
 */
class MapInterner {
  #table: Map<number, Map<Atom, Atom>> | undefined = new Map();
  /** Table size that triggers the next sweep. */
  #sweepAt = MIN_SWEEP;
  #lookups = 0;
  #hits = 0;

  intern(m: Map<Atom, Atom>): Map<Atom, Atom> {
    const table = this.#table;
    if (!table) return m;
    if (++this.#lookups === INTERN_TRIAL && this.#hits * 4 < INTERN_TRIAL) {
      this.#table = undefined;
      return m;
    }
    const hash = mapHash(m);
    const shared = table.get(hash);
    if (shared) {
      if (!sameMap(shared, m)) return m;
      this.#hits++;
      return shared;
    }
    table.set(hash, m);
    return m;
  }

  /** Keeps only the Maps `column` of `rows` still uses, when the table has grown enough. */
  sweep(column: string, rows: Iterable<Row>): void {
    const table = this.#table;
    if (!table || table.size < this.#sweepAt) return;
    table.clear();
    for (const row of rows) {
      const m = row[column];
      if (m instanceof Map) {
        const hash = mapHash(m);
        if (!table.has(hash)) table.set(hash, m);
      }
    }
    this.#sweepAt = Math.max(MIN_SWEEP, 2 * table.size);
  }
}

/** One string per distinct map key of a table (the first {@link MAX_INTERNED_KEYS}). */
function keyInterner(): (key: Atom) => Atom {
  const keys = new Map<Atom, Atom>();
  return (k) => {
    const hit = keys.get(k);
    if (hit !== undefined) return hit;
    if (keys.size < MAX_INTERNED_KEYS) keys.set(k, k);
    return k;
  };
}

/**
 * Makes the rows of one table: objects of one shape with every column in-object (a
 * constructor of their own lets V8 size them for the columns, where an object literal grown
 * column by column spills them into a separate property array), still plain objects.
 */
function rowFactory(): (uuid: string) => Record<string, Datum> {
  const CachedRow = function (this: Record<string, Datum>, uuid: string) {
    this._uuid = uuid;
  } as unknown as new (uuid: string) => Record<string, Datum>;
  CachedRow.prototype = Object.prototype;
  return (uuid) => new CachedRow(uuid);
}

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
  /** Decode options of the map columns. */
  decode: Map<string, DecodeOptions>;
  /** Sharing of equal datums, per map column. */
  maps: Map<string, MapInterner>;
  internKey: (key: Atom) => Atom;
  newRow: (uuid: string) => Record<string, Datum>;
  /** False for a table monitored with `keepRows: false`. */
  keep: boolean;
}

function isList(v: readonly string[] | TableMonitorSpec): v is readonly string[] {
  return Array.isArray(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The row of one `<row-update>` of a monitor's initial reply, in either notation. */
function initialRow(value: unknown, notation: 1 | 2): unknown {
  const ru = eager(value);
  if (!isObject(ru)) return undefined;
  return notation === 2 ? (ru.initial ?? ru.insert) : ru.new;
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
    for (const [name, entry] of Object.entries(this.#spec)) {
      const ts = schema.tables.get(name);
      if (!ts) throw new OvsdbSchemaError(`table ${name} is not in schema ${schema.name}`);
      const spec: TableMonitorSpec = entry === undefined || isList(entry)
        ? { columns: entry }
        : entry;
      const names = (spec.columns ?? [...ts.columns.keys()]).filter((c) =>
        c !== "_uuid" && c !== "_version" && ts.columns.has(c)
      );
      const cols = names.map((c) => [c, ts.columns.get(c)!] as [string, ColumnSchema]);
      const old = this.#tables?.get(name);
      const cache = old?.cache ?? new TableCache(name, names);
      const keep = spec.keepRows !== false;
      const decode = new Map<string, DecodeOptions>();
      const maps = new Map<string, MapInterner>();
      const internKey = old?.internKey ?? keyInterner();
      const compact = new Set(spec.compactSets ?? []);
      for (const [c, col] of cols) {
        if (col.kind === "set" && compact.has(c)) decode.set(c, { compactSets: true });
        if (col.kind !== "map") continue;
        const only = spec.mapKeys?.[c];
        decode.set(c, { internKey, ...(only ? { mapKeys: new Set<Atom>(only) } : {}) });
        // Rows not kept are not worth sharing Maps between.
        if (keep) maps.set(c, old?.maps.get(c) ?? new MapInterner());
      }
      const newRow = old?.newRow ?? rowFactory();
      out.set(name, { cache, cols, colMap: new Map(cols), decode, maps, internKey, newRow, keep });
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

  /**
   * True when some table is monitored with `keepRows: false`: only `monitor` (notation 1)
   * gives the whole rows that needs.
   */
  get needsWholeRows(): boolean {
    for (const t of this.#tables.values()) if (!t.keep) return true;
    return false;
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
    const row = t.newRow(uuid);
    for (const [c, col] of t.cols) {
      const v = wire[c];
      if (col.kind === "map") {
        const m = v === undefined ? defaultDatum(col) : decodeDatum(col, v, t.decode.get(c));
        const interner = t.maps.get(c);
        row[c] = interner ? interner.intern(m as Map<Atom, Atom>) : m;
      } else row[c] = v === undefined ? defaultDatum(col) : decodeDatum(col, v, t.decode.get(c));
    }
    return row as Row;
  }

  #mergeRow(t: TableState, old: Row, wire: unknown, diff: boolean): Row {
    if (!isObject(wire)) {
      throw new OvsdbSchemaError(`${t.cache.name} row ${old._uuid}: not an object`);
    }
    const row = t.newRow(old._uuid);
    for (const [c] of t.cols) row[c] = old[c];
    for (const [c, v] of Object.entries(wire)) {
      const col = t.colMap.get(c);
      if (!col) continue;
      const opts = t.decode.get(c);
      const d = diff ? applyDatumDiff(col, old[c], v, opts) : decodeDatum(col, v, opts);
      const interner = t.maps.get(c);
      row[c] = interner ? interner.intern(d as Map<Atom, Atom>) : d;
    }
    return row as Row;
  }

  /** True when both rows have equal monitored columns. */
  #rowEqual(t: TableState, a: Row, b: Row): boolean {
    for (const [c] of t.cols) if (!datumEqual(a[c], b[c])) return false;
    return true;
  }

  /** Lets the map interners drop the Maps no row uses any more (see MapInterner). */
  #sweep(): void {
    for (const t of this.#tables.values()) {
      for (const [c, interner] of t.maps) interner.sweep(c, t.cache.rows());
    }
  }

  #emit(fn: (h: CacheEventHandler) => void): void {
    for (const h of this.#handlers) fn(h);
  }

  /**
   * Replaces the whole contents with a monitor's initial reply (`notation` 1 for
   * `monitor`, 2 for `monitor_cond`/`monitor_cond_since`), emitting only differences.
   * `tableUpdates` may be (or hold) `LazyJson` values: rows are then parsed one by one.
   */
  replaceAll(tableUpdates: unknown, notation: 1 | 2): void {
    const tables = tableUpdates === null ? [] : members(tableUpdates);
    if (!tables) throw new OvsdbSchemaError("monitor reply: table-updates is not an object");
    const updates = new Map<string, unknown>(tables);
    for (const [name, t] of this.#tables) {
      const rows = members(updates.get(name));
      if (!t.keep) {
        this.#emit((h) => h.onSnapshot?.(name, "begin"));
        for (const [uuid, value] of rows ?? []) {
          const wire = initialRow(value, notation);
          if (wire === undefined) continue;
          const row = this.#fullRow(t, uuid, wire);
          this.#emit((h) => h.onRow?.(name, uuid, row));
        }
        this.#emit((h) => h.onSnapshot?.(name, "end"));
        continue;
      }
      const fresh = new Map<string, Row>();
      if (rows) {
        for (const [uuid, value] of rows) {
          const wire = initialRow(value, notation);
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
    this.#sweep();
    this.#emit((h) => h.onBatch?.());
  }

  /** Hands on the rows of a notification for a table whose rows are not kept. */
  #passRows(t: TableState, rows: Iterable<[string, unknown]>, notation: 1 | 2): void {
    const name = t.cache.name;
    if (notation !== 1) {
      throw new OvsdbSchemaError(`table ${name} keeps no rows: it needs the monitor notation 1`);
    }
    for (const [uuid, value] of rows) {
      const ru = eager(value);
      if (!isObject(ru)) continue;
      const row = ru.new === undefined || ru.new === null
        ? undefined
        : this.#fullRow(t, uuid, ru.new);
      this.#emit((h) => h.onRow?.(name, uuid, row));
    }
  }

  /**
   * Applies one update notification (`notation` 1: `update`, 2: `update2`/`update3`).
   * `tableUpdates` may be (or hold) `LazyJson` values: rows are then parsed one by one.
   */
  applyUpdates(tableUpdates: unknown, notation: 1 | 2): void {
    const tables = members(tableUpdates);
    if (!tables) {
      throw new OvsdbSchemaError("update notification: table-updates is not an object");
    }
    for (const [name, tu] of tables) {
      const t = this.#tables.get(name);
      const rows = t ? members(tu) : undefined;
      if (!t || !rows) continue;
      if (!t.keep) {
        this.#passRows(t, rows, notation);
        continue;
      }
      const map = t.cache._map();
      for (const [uuid, value] of rows) {
        const ru = eager(value);
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
    this.#sweep();
    this.#emit((h) => h.onBatch?.());
  }
}
