/**
 * OVSDB JSON-RPC target: a real unix socket; the client ({@link JsonRpcConnection}) has five
 * requests outstanding (ids 1-5, as in the capture) while the "server" side writes the fuzzed
 * byte stream in input-derived chunks and then closes. Expected: the connection closes with a
 * protocol error caused by a FramingError. Invariants: every request settles with its result,
 * an OvsdbRpcError or a ConnectionClosedError; the connection closes after EOF; notifications
 * reach the handler with a string method and array params; everything the client writes back
 * (echo replies, error answers) is well-formed JSON-RPC; nothing rejects unhandled.
 * @module
 */
import {
  ConnectionClosedError,
  FramingError,
  JsonFramer,
  JsonRpcConnection,
  OvsdbRpcError,
} from "../../../src/ovsdb/mod.ts";
import { hashBytes, Rng } from "../prng.ts";
import { type FuzzTarget, invariant } from "../harness.ts";
import { utf8 } from "./corpus.ts";
import { concat } from "../mutate.ts";
import { ovsdbFramingTarget } from "./ovsdb_framing.ts";
import { ovsdbMessages } from "./ovsdb_corpus.ts";

let dir: string | undefined;
let listener: Deno.UnixListener | undefined;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return concat(...parts);
    parts.push(buf.slice(0, n));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The JSON-RPC target. */
export const ovsdbRpcTarget: FuzzTarget = {
  name: "ovsdb-rpc",
  description: "JSON-RPC over a real socket: responses, notifications, echo, wrong types, bad ids",
  async corpus() {
    const m = (await ovsdbMessages()).map((x) => x.bytes);
    const stream = concat(...m);
    return [
      stream,
      concat(m[m.length - 1], stream),
      utf8(
        '{"id":1,"result":null,"error":{"error":"x"}}{"id":2,"result":[],"error":"e"}' +
          '{"id":"3","result":1}{"id":3.5}{"id":null,"method":7,"params":{}}' +
          '{"id":null,"method":"update2","params":"x"}{"method":"echo","id":[1]}' +
          '{"method":"nope","params":[],"id":9}[1,2]{"id":99,"result":1,"error":null}',
      ),
    ];
  },
  mutate: ovsdbFramingTarget.mutate,
  maxInputBytes: 160 * 1024,
  slowMs: 3000,
  async setup() {
    dir = await Deno.makeTempDir({ prefix: "vpnv4-fuzz-rpc-" });
    listener = Deno.listen({ transport: "unix", path: `${dir}/rpc.sock` });
  },
  async teardown() {
    listener?.close();
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  },
  async run(input) {
    const client = await Deno.connect({ transport: "unix", path: `${dir}/rpc.sock` });
    const server = await listener!.accept();
    const notifications: [unknown, unknown][] = [];
    const rpc = new JsonRpcConnection(client, {
      probeIntervalMs: 0,
      maxMessageBytes: 64 * 1024,
      label: "fuzz",
      onNotification: (method, params) => notifications.push([method, params]),
    });
    const written = readAll(server);
    const pending = [
      rpc.request("list_dbs", []),
      rpc.request("get_schema", ["OVN_Northbound"]),
      rpc.request("monitor_cond", ["OVN_Northbound", ["fuzz"], {}]),
      rpc.request("echo", ["ping"]),
      rpc.request("transact", ["OVN_Northbound", { op: "bogus" }]),
    ];
    // Handlers attached now: a rejection while the stream is still being written is handled.
    const allSettled = Promise.allSettled(pending);
    try {
      const rng = new Rng(hashBytes(input));
      for (let off = 0; off < input.length;) {
        const step = rng.range(1, rng.chance(0.3) ? 5 : 8192);
        // The client may close first (protocol error): stop writing then.
        if (rpc.isClosed) break;
        await server.write(input.subarray(off, off + step)).catch(() => {});
        off += step;
      }
      await server.closeWrite().catch(() => {});
      const reason = await withTimeout(rpc.closed, 5000, "connection still open after EOF");
      const settled = await withTimeout(allSettled, 5000, "requests unsettled");
      for (const s of settled) {
        if (s.status === "rejected") {
          invariant(
            s.reason instanceof OvsdbRpcError || s.reason instanceof ConnectionClosedError,
            `request rejected with ${(s.reason as Error)?.name}: ${(s.reason as Error)?.message}`,
          );
        }
      }
      for (const [method, params] of notifications) {
        invariant(typeof method === "string" && Array.isArray(params), "bad notification shape");
      }
      const out = await withTimeout(written, 5000, "client socket not closed");
      const framer = new JsonFramer();
      for (const msg of framer.push(out)) {
        invariant(
          isObject(msg) && "id" in msg,
          `client wrote ${JSON.stringify(msg)?.slice(0, 80)}`,
        );
        const request = typeof msg.method === "string" && Array.isArray(msg.params);
        const response = "result" in msg && "error" in msg;
        invariant(request || response, `client wrote ${JSON.stringify(msg).slice(0, 80)}`);
      }
      invariant(framer.bufferedBytes === 0, "client wrote a truncated message");
      if (reason && reason.message !== "connection closed by peer") throw reason;
    } finally {
      rpc.close();
      try {
        server.close();
      } catch {
        // already closed
      }
    }
  },
  expected(error) {
    return error instanceof Error && error.message.startsWith("protocol error from fuzz:") &&
      error.cause instanceof FramingError;
  },
};
