/**
 * The OVN Northbound tenant source (`tenants.sources: [{type: ovn, …}]`): monitors the
 * Logical_Switch_Port (and, in subnet mode, Logical_Switch) columns it needs and hands the
 * reconcile loop complete, debounced tenant views with a changed-tenants hint.
 *
 * By default the OVSDB cache keeps no rows (`row_cache: false`): the index keeps what each
 * port contributes (about 45 bytes) instead of the cache's copy of the row (about 220), and the
 * monitor is `monitor`, whose updates carry whole rows; a reconnect then re-reads the tables.
 * @module
 */
import type { OvnSourceConfig } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";
import {
  type CacheEventHandler,
  type MonitorSpec,
  OvsdbClient,
  type OvsdbClientOptions,
  type Row,
} from "../ovsdb/mod.ts";
import type { SourceConnection, SourceUpdate, TenantSet, TenantSource } from "../tenants/model.ts";
import { buildTenantSet, type PrefixPolicy } from "../tenants/policy.ts";
import { type IndexedRows, LS_COLUMNS, LSP_COLUMNS, TenantIndex } from "./tenant_index.ts";

const log = getLogger("ovn");

/** The OVN Northbound database name. */
export const NB_DATABASE = "OVN_Northbound";

/** The source configuration fields this module reads (a `type: ovn` entry). */
export type OvnSourceSettings =
  & Pick<
    OvnSourceConfig,
    "connection" | "tls" | "namespace_keys" | "prefix_mode" | "subnets" | "debounce_ms"
  >
  & Partial<Pick<OvnSourceConfig, "row_cache">>;

/** Options for {@link OvnTenantSource}. */
export interface OvnSourceOptions {
  /** Prefix policy; refused prefixes are dropped and logged with the row uuid. */
  policy?: PrefixPolicy;
  /** Overrides of the OVSDB client options (backoff, probes, monitor method…). */
  client?: Partial<Omit<OvsdbClientOptions, "remotes" | "database" | "tls">>;
}

/** The `external_ids` key the index reads besides the namespace keys. */
const NEUTRON_CIDRS = "neutron:cidrs";

/** Options for {@link ovnMonitorSpec}. */
export interface OvnMonitorOptions {
  /** Only these `external_ids` keys name the tenant (others are dropped when decoding). */
  namespaceKeys?: readonly string[];
  /** Let the OVSDB cache keep the rows (see `row_cache`); default false. */
  rowCache?: boolean;
}

/**
 * The monitor request of the source: only the tables and columns it reads and, given the
 * namespace keys, only the `external_ids` keys it reads (OpenStack ports carry a dozen).
 */
export function ovnMonitorSpec(
  prefixMode: "host" | "subnet",
  options: OvnMonitorOptions = {},
): MonitorSpec {
  const { namespaceKeys } = options;
  const keepRows = options.rowCache === true;
  const spec: MonitorSpec = {};
  // Switches first so ports find their subnets on the initial sync.
  if (prefixMode === "subnet") spec.Logical_Switch = { columns: [...LS_COLUMNS], keepRows };
  spec.Logical_Switch_Port = {
    columns: [...LSP_COLUMNS],
    // Most ports have one `addresses` entry: kept as the string (see TenantIndex.upsertPort).
    compactSets: ["addresses"],
    keepRows,
    ...(namespaceKeys ? { mapKeys: { external_ids: [...namespaceKeys, NEUTRON_CIDRS] } } : {}),
  };
  return spec;
}

/** The index's name for the rows of an NB table. */
const KINDS: Readonly<Record<string, IndexedRows>> = {
  Logical_Switch_Port: "ports",
  Logical_Switch: "switches",
};

/** The OVN NB tenant source. */
export class OvnTenantSource implements TenantSource {
  /** `ovn:` followed by the remotes. */
  readonly id: string;
  readonly #cfg: OvnSourceSettings;
  readonly #opts: OvnSourceOptions;
  readonly #index: TenantIndex;
  #client: OvsdbClient | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastFlush = 0;
  #onUpdate: ((u: SourceUpdate) => void) | undefined;
  #onError: ((e: Error) => void) | undefined;
  #onConnection: ((c: SourceConnection) => void) | undefined;
  #lost = false;
  #stopped = false;

  constructor(config: OvnSourceSettings, options: OvnSourceOptions = {}) {
    this.#cfg = config;
    this.#opts = options;
    this.id = `ovn:${config.connection}`;
    this.#index = new TenantIndex({
      namespaceKeys: config.namespace_keys,
      prefixMode: config.prefix_mode,
      subnets: config.subnets,
      policy: options.policy,
      origin: this.id,
    });
  }

  /** Rows skipped so far (hostile addresses, names, refused prefixes). */
  rejections(): ReturnType<TenantIndex["rejections"]> {
    return this.#index.rejections();
  }

  /** The OVSDB client (after start), e.g. for status. */
  get client(): OvsdbClient | undefined {
    return this.#client;
  }

  /** Connects, takes the initial snapshot, delivers it, then follows changes. */
  async start(handlers: {
    onUpdate: (update: SourceUpdate) => void;
    onError?: (error: Error) => void;
    onConnection?: (state: SourceConnection) => void;
  }): Promise<void> {
    if (this.#client) throw new Error(`${this.id}: already started`);
    this.#onUpdate = handlers.onUpdate;
    this.#onError = handlers.onError;
    this.#onConnection = handlers.onConnection;
    const client = new OvsdbClient({
      remotes: this.#cfg.connection,
      database: NB_DATABASE,
      tls: this.#cfg.tls,
      ...this.#opts.client,
    });
    this.#client = client;
    client.onStateChange((s) => {
      if (this.#stopped) return;
      if (s.state === "disconnected" && !this.#lost) {
        this.#lost = true;
        const reason = s.reason ?? "closed";
        this.#onError?.(new Error(`${this.id}: connection lost: ${reason}`));
        this.#onConnection?.({ connected: false, reason });
      } else if (s.state === "connected" && this.#lost) {
        this.#lost = false;
        this.#onConnection?.({ connected: true });
      }
    });
    try {
      await client.connect();
      let initial = true;
      const handler: CacheEventHandler = {
        // With row_cache: the cache's events.
        onAdd: (t, r) => this.#row(t, r._uuid, r),
        onUpdate: (t, _, r) => this.#row(t, r._uuid, r),
        onDelete: (t, r) => this.#row(t, r._uuid, undefined),
        // Without: rows as they come, and snapshots.
        onRow: (t, uuid, r) => this.#row(t, uuid, r),
        onSnapshot: (t, phase) => {
          const kind = KINDS[t];
          if (!kind) return;
          if (phase === "begin") this.#index.beginSnapshot(kind);
          else this.#index.endSnapshot(kind);
        },
        onBatch: () => {
          if (!initial) this.#schedule();
        },
      };
      const spec = ovnMonitorSpec(this.#cfg.prefix_mode, {
        namespaceKeys: this.#cfg.namespace_keys,
        rowCache: this.#cfg.row_cache,
      });
      await client.monitor(spec, { handler });
      initial = false;
      this.#flush(true);
    } catch (e) {
      await client.close();
      this.#client = undefined;
      throw new Error(`${this.id}: initial sync failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** A row as it now is (`undefined`: deleted). */
  #row(table: string, uuid: string, row: Row | undefined): void {
    try {
      if (table === "Logical_Switch_Port") {
        if (row) this.#index.upsertPort(row);
        else this.#index.deletePort(uuid);
      } else if (table === "Logical_Switch") {
        if (row) this.#index.upsertSwitch(row);
        else this.#index.deleteSwitch(uuid);
      }
    } catch (e) {
      log.error("ovn: {table} row {uuid} skipped: {error}", {
        table,
        uuid,
        error: (e as Error).message,
      });
    }
  }

  /** Leading-edge throttle: an isolated change goes out at once, a burst every debounce_ms. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const wait = Math.max(0, this.#lastFlush + this.#cfg.debounce_ms - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush(false);
    }, wait);
  }

  #flush(initial: boolean): void {
    this.#lastFlush = Date.now();
    const changed = this.#index.takeChanged();
    if (!initial && changed.size === 0) return;
    try {
      this.#onUpdate?.({ tenants: this.#index.tenants(), changed });
    } catch (e) {
      log.error("ovn: update handler failed: {error}", { error: (e as Error).message });
    }
  }

  /** Stops following changes and closes the connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#client?.close();
  }
}

/** Options for {@link snapshotOvnTenants}. */
export interface SnapshotOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Overrides of the OVSDB client options. */
  client?: OvnSourceOptions["client"];
}

/**
 * Connects once, takes one snapshot and returns the validated tenant set (the dry run of
 * `vpnv4-agent render`). Rows skipped by the source are included in `rejected`.
 */
export async function snapshotOvnTenants(
  config: OvnSourceSettings,
  policy: PrefixPolicy,
  options: SnapshotOptions = {},
): Promise<TenantSet> {
  const source = new OvnTenantSource(config, {
    policy,
    client: { reconnect: false, ...options.client },
  });
  let first: SourceUpdate | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${source.id}: no snapshot within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([source.start({ onUpdate: (u) => (first ??= u) }), timeout]);
  } finally {
    clearTimeout(timer);
    await source.stop();
  }
  const set = buildTenantSet(first?.tenants ?? [], policy);
  return { tenants: set.tenants, rejected: [...source.rejections(), ...set.rejected] };
}
