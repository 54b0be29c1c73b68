/**
 * OVSDB client (RFC 7047): connection over a list of remotes with leader preference,
 * RPC methods, a managed monitor feeding a {@link DatabaseCache}, and reconnection with
 * exponential backoff that resumes from the last transaction id when it can.
 * @module
 */
import { getLogger } from "../log/mod.ts";
import { type CacheEventHandler, DatabaseCache, type MonitorSpec } from "./cache.ts";
import { cond, type Operation, type OperationResult, select } from "./ops.ts";
import { ConnectionClosedError, JsonRpcConnection, OvsdbRpcError } from "./rpc.ts";
import { type DatabaseSchema, parseSchema } from "./schema.ts";
import { dial, parseRemotes, type Remote, type TlsFiles } from "./transport.ts";
import { eager, LazyJson } from "./lazy_json.ts";

const log = getLogger("ovsdb");

/** All-zero transaction id: "no history" for `monitor_cond_since`. */
export const ZERO_TXN_ID = "00000000-0000-0000-0000-000000000000";

/** Exponential backoff settings. */
export interface BackoffOptions {
  /** First delay (default 100 ms). */
  initialMs?: number;
  /** Largest delay (default 8000 ms). */
  maxMs?: number;
  /** Fraction of the delay that is randomised, 0..1 (default 0.5). */
  jitter?: number;
}

/** Options for {@link OvsdbClient}. */
export interface OvsdbClientOptions {
  /** Remotes: `unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`, comma-separated or an array. */
  remotes: string | string[];
  /** Database name, e.g. `OVN_Northbound`. */
  database: string;
  /** Key, certificate and CA files for `ssl:` remotes. */
  tls?: TlsFiles;
  /** For clustered databases, prefer the leader (default true). */
  leaderOnly?: boolean;
  /** Reconnect after losing the connection (default true). */
  reconnect?: boolean;
  /** Backoff between reconnection rounds. */
  backoff?: BackoffOptions;
  /** Inactivity probe interval in ms (default 5000; 0 disables). */
  probeIntervalMs?: number;
  /** Size cap of one message (default 256 MiB). */
  maxMessageBytes?: number;
  /** Force a monitor method (tests and old servers); default tries the newest first. */
  monitorMethod?: MonitorMethod;
  /**
   * Monitor replies and update notifications of at least this many bytes are parsed row by
   * row as the cache takes them, not at once (default 1 MiB): a 100,000-row reply parsed whole
   * costs about 80 MB of heap at its peak.
   */
  largeMessageBytes?: number;
}

/** Default of {@link OvsdbClientOptions.largeMessageBytes}. */
export const DEFAULT_LARGE_MESSAGE_BYTES = 1024 * 1024;

/** The monitor methods, newest first. */
export type MonitorMethod = "monitor_cond_since" | "monitor_cond" | "monitor";

/** Connection state reported to {@link OvsdbClient.onStateChange} listeners. */
export type ClientState =
  | { state: "connected"; remote: string }
  | { state: "synced"; remote: string; method: MonitorMethod; resumed: boolean }
  | { state: "disconnected"; reason?: string };

/** Thrown by {@link OvsdbClient.connect} when no remote could be used. */
export class OvsdbConnectError extends Error {
  override name = "OvsdbConnectError";
}

/** Computes the delay of reconnection attempt `attempt` (0-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 8000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 - jitter * Math.random()));
}

const MONITOR_ID = "vpnv4";
const SERVER_MONITOR_ID = "vpnv4-server";

/**
 * An OVSDB client for one database.
 *
 * ```ts
 * const client = new OvsdbClient({ remotes: "unix:/run/ovn/ovnnb_db.sock", database: "OVN_Northbound" });
 * await client.connect();
 * const cache = await client.monitor({ Logical_Switch_Port: ["name", "addresses"] });
 * ```
 */
export class OvsdbClient {
  readonly #opts: OvsdbClientOptions;
  readonly #remotes: Remote[];
  #rpc: JsonRpcConnection | undefined;
  #remoteIndex = 0;
  #schema: DatabaseSchema | undefined;
  #cache: DatabaseCache | undefined;
  #monitorMethod: MonitorMethod | undefined;
  #monitorReady = false;
  #queued: [string, unknown[]][] = [];
  #lastTxnId: string = ZERO_TXN_ID;
  #closed = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #listeners = new Set<(s: ClientState) => void>();

  constructor(options: OvsdbClientOptions) {
    this.#opts = options;
    this.#remotes = parseRemotes(options.remotes);
  }

  /** The remote currently connected, if any. */
  get remote(): string | undefined {
    return this.#rpc && !this.#rpc.isClosed ? this.#remotes[this.#remoteIndex].text : undefined;
  }

  /** True while connected. */
  get connected(): boolean {
    return this.#rpc !== undefined && !this.#rpc.isClosed;
  }

  /** The schema of the database (after {@link connect}). */
  get schema(): DatabaseSchema | undefined {
    return this.#schema;
  }

  /** The monitor cache (after {@link monitor}). */
  get cache(): DatabaseCache | undefined {
    return this.#cache;
  }

  /** The monitor method the server accepted last. */
  get monitorMethod(): MonitorMethod | undefined {
    return this.#monitorMethod;
  }

  /** The last transaction id seen (update3 / monitor_cond_since). */
  get lastTxnId(): string {
    return this.#lastTxnId;
  }

  /** Subscribes to connection state changes; returns an unsubscribe function. */
  onStateChange(listener: (s: ClientState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(s: ClientState): void {
    for (const l of this.#listeners) {
      try {
        l(s);
      } catch (e) {
        log.error("state listener failed: {error}", { error: (e as Error).message });
      }
    }
  }

  /**
   * Connects to the first usable remote (trying each once, leader first for clustered
   * databases) and fetches the schema. Afterwards the client reconnects by itself.
   */
  async connect(): Promise<void> {
    if (this.#closed) throw new OvsdbConnectError("client is closed");
    await this.#connectRound();
    if (this.#opts.reconnect !== false && !this.#loop) this.#loop = this.#reconnectLoop();
  }

  async #connectRound(): Promise<void> {
    const errors: string[] = [];
    const leaderOnly = this.#opts.leaderOnly ?? true;
    const n = this.#remotes.length;
    // Pass 0 insists on the leader of a clustered database; pass 1 takes any member.
    for (let pass = 0; pass < (leaderOnly && n > 1 ? 2 : 1); pass++) {
      for (let k = 0; k < n; k++) {
        if (this.#closed) throw new OvsdbConnectError("client is closed");
        const idx = (this.#remoteIndex + k) % n;
        const remote = this.#remotes[idx];
        let rpc: JsonRpcConnection | undefined;
        try {
          const conn = await dial(remote, { tls: this.#opts.tls });
          rpc = new JsonRpcConnection(conn, {
            maxMessageBytes: this.#opts.maxMessageBytes,
            probeIntervalMs: this.#opts.probeIntervalMs,
            label: remote.text,
            onNotification: (m, p) => this.#onNotification(rpc!, m, p),
            lazyFromBytes: this.#opts.largeMessageBytes ?? DEFAULT_LARGE_MESSAGE_BYTES,
            lazyNotifications: true,
          });
          const verdict = await this.#checkServer(rpc, pass === 0 && leaderOnly && n > 1);
          if (verdict !== "ok" && verdict !== "ok-leader") {
            errors.push(`${remote.text}: ${verdict}`);
            rpc.close();
            continue;
          }
          const schema = parseSchema(await rpc.request("get_schema", [this.#opts.database]));
          if (verdict === "ok-leader" && leaderOnly && n > 1) await this.#watchLeader(rpc);
          this.#schema = schema;
          this.#rpc = rpc;
          this.#remoteIndex = idx;
          log.info("connected to {remote}", { remote: remote.text, database: schema.name });
          this.#emit({ state: "connected", remote: remote.text });
          return;
        } catch (e) {
          rpc?.close();
          errors.push((e as Error).message);
        }
      }
    }
    throw new OvsdbConnectError(`no usable OVSDB remote: ${errors.join("; ")}`);
  }

  /** Checks via `_Server` that the database is there and (if asked) that this is the leader. */
  async #checkServer(rpc: JsonRpcConnection, wantLeader: boolean): Promise<string> {
    const dbs = await rpc.request("list_dbs", []);
    if (!Array.isArray(dbs) || !dbs.includes(this.#opts.database)) {
      return `database ${this.#opts.database} not served`;
    }
    if (!dbs.includes("_Server")) return "ok";
    const res = await rpc.request("transact", [
      "_Server",
      select("Database", [cond("name", "==", this.#opts.database)], {
        columns: ["model", "connected", "leader"],
      }),
    ]) as OperationResult[];
    const row = res?.[0]?.rows?.[0];
    if (!row || row.model !== "clustered") return "ok";
    if (row.connected !== true) return "cluster member not connected to the cluster";
    if (wantLeader && row.leader !== true) return "not the cluster leader";
    return row.leader === true ? "ok-leader" : "ok";
  }

  /**
   * Watches this member's `_Server.Database` row: when it stops being the leader or loses the
   * cluster, the connection is dropped so the reconnect loop finds the new leader.
   */
  async #watchLeader(rpc: JsonRpcConnection): Promise<void> {
    await rpc.request("monitor_cond", ["_Server", SERVER_MONITOR_ID, {
      Database: [{
        columns: ["name", "connected", "leader"],
        where: [["name", "==", this.#opts.database]],
        select: { initial: false, insert: true, delete: true, modify: true },
      }],
    }]);
  }

  #onServerUpdate(rpc: JsonRpcConnection, updates: unknown): void {
    const rows = (updates as Record<string, Record<string, Record<string, unknown>>>)?.Database;
    if (!rows || typeof rows !== "object") return;
    for (const ru of Object.values(rows)) {
      const m = (ru?.modify ?? ru?.insert) as Record<string, unknown> | undefined;
      if ("delete" in (ru ?? {}) || m?.leader === false || m?.connected === false) {
        log.info("{remote} is no longer the cluster leader; reconnecting", {
          remote: this.#remotes[this.#remoteIndex].text,
        });
        rpc.close(new Error("cluster leadership changed"));
        return;
      }
    }
  }

  #requireRpc(): JsonRpcConnection {
    if (!this.#rpc || this.#rpc.isClosed) {
      throw new ConnectionClosedError("not connected to any OVSDB remote");
    }
    return this.#rpc;
  }

  /** `list_dbs`. */
  async listDbs(): Promise<string[]> {
    return await this.#requireRpc().request("list_dbs", []) as string[];
  }

  /** `get_schema` of `database` (default: the client's database). */
  async getSchema(database?: string): Promise<DatabaseSchema> {
    return parseSchema(
      await this.#requireRpc().request("get_schema", [database ?? this.#opts.database]),
    );
  }

  /** `echo`: round trip to the server. */
  async echo(payload: unknown[] = []): Promise<unknown[]> {
    return await this.#requireRpc().request("echo", payload) as unknown[];
  }

  /**
   * `transact`: runs the operations atomically. Throws if any operation failed, naming
   * its index, `error` and `details`; otherwise returns the results.
   */
  async transact(
    ops: Operation[],
    options: { database?: string } = {},
  ): Promise<OperationResult[]> {
    const method = "transact";
    const res = await this.#requireRpc().request(method, [
      options.database ?? this.#opts.database,
      ...ops,
    ]) as (OperationResult | null)[];
    if (!Array.isArray(res)) throw new OvsdbRpcError(method, "transact result is not an array");
    for (let i = 0; i < res.length; i++) {
      const r = res[i];
      if (r && r.error) {
        const what = i < ops.length ? `operation ${i} (${ops[i].op})` : "commit";
        throw new OvsdbRpcError(method, `${what}: ${r.error}${r.details ? `: ${r.details}` : ""}`);
      }
    }
    return res as OperationResult[];
  }

  /**
   * Starts the managed monitor and resolves with its cache once the initial contents
   * are in. The monitor is re-established after every reconnection. `handler` is registered
   * before the initial contents are applied, so it sees them as adds (or, for tables monitored
   * with `keepRows: false`, as one snapshot of rows).
   */
  async monitor(
    spec: MonitorSpec,
    options: { handler?: CacheEventHandler } = {},
  ): Promise<DatabaseCache> {
    if (!this.#schema) throw new Error("monitor: call connect() first");
    if (this.#cache) throw new Error("monitor: a monitor is already running");
    const cache = new DatabaseCache(this.#schema, spec);
    const forced = this.#opts.monitorMethod;
    if (cache.needsWholeRows && forced && forced !== "monitor") {
      throw new Error(`monitor: tables with keepRows: false need "monitor", not "${forced}"`);
    }
    this.#cache = cache;
    if (options.handler) this.#cache.addEventHandler(options.handler);
    await this.#startMonitor(this.#requireRpc());
    return this.#cache;
  }

  /** Cancels the managed monitor (`monitor_cancel`); the cache keeps its last contents. */
  async monitorCancel(): Promise<void> {
    const rpc = this.#requireRpc();
    if (!this.#cache) throw new Error("monitor_cancel: no monitor is running");
    this.#monitorReady = false;
    this.#cache = undefined;
    await rpc.request("monitor_cancel", [MONITOR_ID]);
  }

  async #startMonitor(rpc: JsonRpcConnection): Promise<void> {
    const cache = this.#cache!;
    const cols = cache.monitoredColumns();
    // Tables whose rows are not kept need whole rows in modify updates: `monitor` only.
    const order: MonitorMethod[] = this.#opts.monitorMethod
      ? [this.#opts.monitorMethod]
      : cache.needsWholeRows
      ? ["monitor"]
      : ["monitor_cond_since", "monitor_cond", "monitor"];
    const db = this.#opts.database;
    this.#monitorReady = false;
    this.#queued = [];
    for (const method of order) {
      let result: unknown;
      try {
        if (method === "monitor") {
          const req: Record<string, unknown> = {};
          for (const [t, c] of Object.entries(cols)) req[t] = { columns: c };
          result = await rpc.request(method, [db, MONITOR_ID, req], { lazy: true });
        } else {
          const req: Record<string, unknown> = {};
          for (const [t, c] of Object.entries(cols)) req[t] = [{ columns: c }];
          const params: unknown[] = [db, MONITOR_ID, req];
          if (method === "monitor_cond_since") params.push(this.#lastTxnId);
          result = await rpc.request(method, params, { lazy: true });
          if (result instanceof LazyJson && !result.isObject) result = result.items();
        }
      } catch (e) {
        if (e instanceof OvsdbRpcError && e.error === "unknown method") {
          log.debug("{method} not supported, falling back", { method });
          continue;
        }
        throw e;
      }
      let resumed = false;
      if (method === "monitor_cond_since") {
        if (!Array.isArray(result) || result.length !== 3) {
          throw new OvsdbRpcError(method, "reply is not [found, last-txn-id, updates]");
        }
        const [found, txn, updates] = result.map((v, i) => (i < 2 ? eager(v) : v));
        if (found === true && this.#lastTxnId !== ZERO_TXN_ID) {
          cache.applyUpdates(updates ?? {}, 2);
          resumed = true;
        } else {
          cache.replaceAll(updates, 2);
        }
        if (typeof txn === "string") this.#lastTxnId = txn;
      } else {
        cache.replaceAll(result, method === "monitor" ? 1 : 2);
      }
      this.#monitorMethod = method;
      this.#monitorReady = true;
      const queued = this.#queued;
      this.#queued = [];
      for (const [m, p] of queued) this.#applyNotification(m, p);
      this.#emit({
        state: "synced",
        remote: this.#remotes[this.#remoteIndex].text,
        method,
        resumed,
      });
      log.debug("monitor synced with {method}", { method, resumed });
      return;
    }
    throw new OvsdbRpcError("monitor", "server supports no monitor method");
  }

  #onNotification(rpc: JsonRpcConnection, method: string, params: unknown[]): void {
    if (rpc !== this.#rpc && this.#rpc !== undefined) return;
    if (method !== "update" && method !== "update2" && method !== "update3") {
      if (method !== "locked" && method !== "stolen") {
        log.debug("ignoring notification {method}", { method });
      }
      return;
    }
    if (params[0] === SERVER_MONITOR_ID && method === "update2") {
      this.#onServerUpdate(rpc, eager(params[1]));
      return;
    }
    if (params[0] !== MONITOR_ID || !this.#cache) return;
    if (!this.#monitorReady) {
      this.#queued.push([method, params]);
      return;
    }
    this.#applyNotification(method, params);
  }

  #applyNotification(method: string, params: unknown[]): void {
    const cache = this.#cache;
    if (!cache) return;
    try {
      if (method === "update3") {
        cache.applyUpdates(params[2], 2);
        if (typeof params[1] === "string") this.#lastTxnId = params[1];
      } else {
        cache.applyUpdates(params[1], method === "update2" ? 2 : 1);
      }
    } catch (e) {
      // A notification we cannot apply leaves the cache unknown: resync from scratch.
      log.error("cannot apply {method}: {error}; resynchronising", {
        method,
        error: (e as Error).message,
      });
      this.#lastTxnId = ZERO_TXN_ID;
      this.#rpc?.close(new Error(`bad ${method} notification`, { cause: e }));
    }
  }

  async #reconnectLoop(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      const rpc = this.#rpc;
      if (rpc && !rpc.isClosed) {
        const reason = await rpc.closed;
        if (this.#closed) break;
        log.warning("lost connection to {remote}: {reason}", {
          remote: this.#remotes[this.#remoteIndex].text,
          reason: reason?.message ?? "closed",
        });
        this.#emit({ state: "disconnected", reason: reason?.message });
        this.#monitorReady = false;
        // Start the next round at the next remote: the dead one is likely still dead.
        this.#remoteIndex = (this.#remoteIndex + 1) % this.#remotes.length;
        attempt = 0;
      }
      const delay = backoffDelay(attempt++, this.#opts.backoff);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      if (this.#closed) break;
      try {
        await this.#connectRound();
        const next = this.#requireRpc();
        if (this.#cache) {
          this.#cache.setSchema(this.#schema!);
          await this.#startMonitor(next);
        }
        attempt = 0;
      } catch (e) {
        log.warning("reconnect failed (attempt {attempt}): {error}", {
          attempt,
          error: (e as Error).message,
        });
        if (this.#rpc && !this.#rpc.isClosed) this.#rpc.close(e as Error);
      }
    }
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#rpc?.close();
    await this.#loop;
    this.#emit({ state: "disconnected", reason: "closed by client" });
  }
}
