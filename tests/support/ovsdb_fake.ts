/**
 * A scriptable fake OVSDB server on a unix socket for robustness tests: the test reads the
 * client's requests and writes whatever bytes it wants back (malformed, truncated,
 * oversized, split or interleaved JSON).
 * @module
 */
import { JsonFramer } from "../../src/ovsdb/framing.ts";

const encoder = new TextEncoder();

/** One accepted client connection. */
export class FakeConn {
  readonly #conn: Deno.Conn;
  readonly #framer = new JsonFramer();
  readonly #inbox: Record<string, unknown>[] = [];
  #waiting: ((m: Record<string, unknown> | undefined) => void) | undefined;
  #eof = false;
  /** Bytes written to the client so far. */
  bytesSent = 0;
  /** Resolves when the client side has closed (EOF or error on read). */
  readonly closed: Promise<void>;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.closed = this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        for (const m of this.#framer.push(buf.subarray(0, n))) {
          const msg = m as Record<string, unknown>;
          if (this.#waiting) {
            const w = this.#waiting;
            this.#waiting = undefined;
            w(msg);
          } else this.#inbox.push(msg);
        }
      }
    } catch {
      // client reset the connection
    }
    this.#eof = true;
    this.#waiting?.(undefined);
  }

  /** The next message from the client (undefined once it has closed). */
  recv(): Promise<Record<string, unknown> | undefined> {
    const m = this.#inbox.shift();
    if (m) return Promise.resolve(m);
    if (this.#eof) return Promise.resolve(undefined);
    return new Promise((r) => (this.#waiting = r));
  }

  /** Receives the next request and checks its method. */
  async expect(method: string): Promise<Record<string, unknown>> {
    const m = await this.recv();
    if (!m || m.method !== method) {
      throw new Error(`fake server: expected ${method}, got ${JSON.stringify(m)?.slice(0, 200)}`);
    }
    return m;
  }

  /** Writes raw bytes or text; returns false once the client has gone. */
  async sendRaw(data: string | Uint8Array): Promise<boolean> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    try {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
      this.bytesSent += bytes.length;
      return true;
    } catch {
      return false;
    }
  }

  /** Writes a JSON value. */
  send(value: unknown): Promise<boolean> {
    return this.sendRaw(JSON.stringify(value));
  }

  /** Writes text in chunks of `size` bytes, one write each. */
  async sendChunked(text: string, size: number): Promise<boolean> {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length; off += size) {
      if (!await this.sendRaw(bytes.subarray(off, off + size))) return false;
    }
    return true;
  }

  /** Answers `list_dbs` and `get_schema` like a real server with a tiny schema. */
  async handshake(database = "OVN_Northbound"): Promise<void> {
    const l = await this.expect("list_dbs");
    await this.send({ id: l.id, result: [database], error: null });
    const g = await this.expect("get_schema");
    await this.send({ id: g.id, result: tinySchema(database), error: null });
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** A minimal schema with one table `T` (`name` string, `tags` map). */
export function tinySchema(database: string): unknown {
  return {
    name: database,
    version: "1.0.0",
    tables: {
      T: {
        columns: {
          name: { type: "string" },
          tags: { type: { key: "string", value: "string", min: 0, max: "unlimited" } },
        },
      },
    },
  };
}

/** A fake OVSDB server listening on a unix socket in a temporary directory. */
export class FakeOvsdbServer {
  readonly #listener: Deno.UnixListener;
  readonly dir: string;
  readonly #conns: FakeConn[] = [];

  private constructor(listener: Deno.UnixListener, dir: string) {
    this.#listener = listener;
    this.dir = dir;
  }

  /** `unix:` remote of the fake. */
  get remote(): string {
    return `unix:${this.dir}/fake.sock`;
  }

  /** Starts listening. */
  static async start(): Promise<FakeOvsdbServer> {
    const dir = await Deno.makeTempDir({ prefix: "vpnv4-fake-ovsdb-" });
    const listener = Deno.listen({ transport: "unix", path: `${dir}/fake.sock` });
    return new FakeOvsdbServer(listener, dir);
  }

  /** Waits for the next client connection. */
  async accept(): Promise<FakeConn> {
    const c = new FakeConn(await this.#listener.accept());
    this.#conns.push(c);
    return c;
  }

  /** Closes the listener and every connection, and removes the directory. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) c.close();
    await Promise.all(this.#conns.map((c) => c.closed));
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
