/**
 * JSON-RPC 1.0 over one stream, as OVSDB uses it: requests with ids, notifications,
 * answering the server's `echo`, and inactivity probes that detect a dead peer.
 * @module
 */
import { getLogger } from "../log/mod.ts";
import { FramingError, JsonFramer } from "./framing.ts";
import { eager, LazyJson } from "./lazy_json.ts";

const log = getLogger("ovsdb");
const encoder = new TextEncoder();

/** An error object returned by the server for a request. */
export class OvsdbRpcError extends Error {
  override name = "OvsdbRpcError";
  /** The method that failed. */
  readonly method: string;
  /** The `error` member of the response. */
  readonly error: unknown;
  constructor(method: string, error: unknown) {
    const detail = typeof error === "string" ? error : JSON.stringify(error)?.slice(0, 300);
    super(`${method}: server error ${detail}`);
    this.method = method;
    this.error = error;
  }
}

/** Thrown to pending requests when the connection goes away. */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
}

/** Options for {@link JsonRpcConnection}. */
export interface JsonRpcOptions {
  /** Largest accepted message (bytes). */
  maxMessageBytes?: number;
  /**
   * Send an echo after this much silence; drop the peer after twice that (twelve times while
   * a request of ours is outstanding). 0 disables. Default 5000.
   */
  probeIntervalMs?: number;
  /** Called for each notification (`id: null`), in stream order. */
  onNotification?: (method: string, params: unknown[]) => void;
  /**
   * Messages of at least this many bytes are parsed member by member: the results of
   * requests made with `lazy: true`, and notification params (when `lazyNotifications`), may
   * then contain {@link LazyJson} values. Everything else is handed over parsed. Default: never.
   */
  lazyFromBytes?: number;
  /** Hand large notification params over as {@link LazyJson} (see `lazyFromBytes`). */
  lazyNotifications?: boolean;
  /** Label for logs. */
  label?: string;
}

interface Pending {
  method: string;
  lazy: boolean;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * One JSON-RPC session over a connected stream. The read loop starts at construction;
 * `closed` resolves (with the reason, if any) when the stream ends.
 */
export class JsonRpcConnection {
  readonly #conn: Deno.Conn;
  readonly #framer: JsonFramer;
  readonly #pending = new Map<number, Pending>();
  readonly #onNotification: (method: string, params: unknown[]) => void;
  readonly #label: string;
  readonly #lazyNotifications: boolean;
  #nextId = 1;
  #writeChain: Promise<void> = Promise.resolve();
  #closedReason: Error | undefined;
  #isClosed = false;
  #lastRx = Date.now();
  #probeOutstanding = false;
  #probeTimer: ReturnType<typeof setInterval> | undefined;
  #resolveClosed!: (reason: Error | undefined) => void;
  /** Resolves when the connection is closed; the value is the error that closed it. */
  readonly closed: Promise<Error | undefined>;

  constructor(conn: Deno.Conn, options: JsonRpcOptions = {}) {
    this.#conn = conn;
    this.#framer = new JsonFramer({
      maxMessageBytes: options.maxMessageBytes,
      lazyFromBytes: options.lazyFromBytes,
    });
    this.#lazyNotifications = options.lazyNotifications === true;
    this.#onNotification = options.onNotification ?? (() => {});
    this.#label = options.label ?? "ovsdb";
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    const probe = options.probeIntervalMs ?? 5000;
    if (probe > 0) {
      this.#probeTimer = setInterval(() => this.#probeTick(probe), Math.max(10, probe / 2));
    }
    this.#readLoop();
  }

  /** True once the stream has ended. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /**
   * Sends a request and resolves with its `result`; rejects with {@link OvsdbRpcError}. With
   * `lazy`, a large result may be or contain {@link LazyJson} values (see `lazyFromBytes`).
   */
  request(method: string, params: unknown[], options: { lazy?: boolean } = {}): Promise<unknown> {
    if (this.#isClosed) {
      return Promise.reject(
        new ConnectionClosedError(`${method}: connection ${this.#label} is closed`, {
          cause: this.#closedReason,
        }),
      );
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, lazy: options.lazy === true, resolve, reject });
      this.#send({ method, params, id });
    });
  }

  /** Sends a notification (no answer expected). */
  notify(method: string, params: unknown[]): void {
    if (!this.#isClosed) this.#send({ method, params, id: null });
  }

  /** Closes the stream; pending requests reject with {@link ConnectionClosedError}. */
  close(reason?: Error): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closedReason = reason;
    if (this.#probeTimer !== undefined) clearInterval(this.#probeTimer);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    const err = new ConnectionClosedError(
      `connection ${this.#label} closed${reason ? `: ${reason.message}` : ""}`,
      { cause: reason },
    );
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#resolveClosed(reason);
  }

  #send(msg: unknown): void {
    const bytes = encoder.encode(JSON.stringify(msg));
    this.#writeChain = this.#writeChain.then(async () => {
      if (this.#isClosed) return;
      try {
        let off = 0;
        while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
      } catch (cause) {
        this.close(new Error(`write failed: ${(cause as Error).message}`, { cause }));
      }
    });
  }

  #probeTick(interval: number): void {
    if (this.#isClosed) return;
    const idle = Date.now() - this.#lastRx;
    if (idle < interval) return;
    if (this.#probeOutstanding) {
      // While one of our own requests is outstanding the server may be busy composing a
      // large reply (a 100k-row monitor takes seconds and blocks its main loop): allow more.
      const busy = this.#pending.size > 1;
      if (idle >= (busy ? 12 : 2) * interval) {
        this.close(new Error(`inactivity probe: no answer from peer for ${idle} ms`));
      }
      return;
    }
    this.#probeOutstanding = true;
    this.request("echo", []).catch(() => {});
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    let reason: Error | undefined;
    try {
      while (!this.#isClosed) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          reason = new Error("connection closed by peer");
          break;
        }
        this.#received(buf.subarray(0, n));
      }
    } catch (cause) {
      if (!this.#isClosed) {
        reason = cause instanceof FramingError
          ? new Error(`protocol error from ${this.#label}: ${cause.message}`, { cause })
          : new Error(`read failed: ${(cause as Error).message}`, { cause });
      }
    }
    this.close(reason);
  }

  /**
   * Frames and dispatches one chunk. A function of its own so the parsed messages die with its
   * frame: kept in the read loop's, a 100k-row monitor reply stayed reachable until the next read.
   */
  #received(chunk: Uint8Array): void {
    this.#lastRx = Date.now();
    this.#probeOutstanding = false;
    const msgs = this.#framer.push(chunk);
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      msgs[i] = undefined;
      this.#dispatch(m);
    }
  }

  #dispatch(msg: unknown): void {
    if (msg instanceof LazyJson && msg.isObject) {
      // A large message: only `result` and `params` may stay lazy.
      msg = Object.fromEntries(
        [...msg.entries()].map(([k, v]) => [k, k === "result" || k === "params" ? v : eager(v)]),
      );
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg) || msg instanceof LazyJson) {
      log.warn("ignoring non-object JSON-RPC message from {peer}", { peer: this.#label });
      return;
    }
    const m = msg as Record<string, unknown>;
    if (typeof m.method === "string") {
      const notification = m.id === null || m.id === undefined;
      let p = m.params;
      if (p instanceof LazyJson) {
        p = notification && this.#lazyNotifications && !p.isObject ? p.items() : p.parse();
      }
      const params = Array.isArray(p) ? p : [];
      if (m.id === null || m.id === undefined) {
        try {
          this.#onNotification(m.method, params);
        } catch (e) {
          log.error("notification {method} handler failed: {error}", {
            method: m.method,
            error: (e as Error).message,
          });
        }
      } else if (m.method === "echo") {
        this.#send({ result: params, error: null, id: m.id });
      } else {
        this.#send({ result: null, error: "unknown method", id: m.id });
      }
      return;
    }
    if (!("id" in m) || typeof m.id !== "number") {
      log.warn("ignoring JSON-RPC response with unexpected id from {peer}", {
        peer: this.#label,
        id: JSON.stringify(m.id)?.slice(0, 40),
      });
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p) {
      log.warn("ignoring JSON-RPC response to unknown id {id} from {peer}", {
        id: m.id,
        peer: this.#label,
      });
      return;
    }
    this.#pending.delete(m.id);
    if (m.error !== null && m.error !== undefined) p.reject(new OvsdbRpcError(p.method, m.error));
    else p.resolve(p.lazy ? m.result : eager(m.result));
  }
}
