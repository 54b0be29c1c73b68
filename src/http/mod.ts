/**
 * The agent's HTTP surface (hono): `/healthz`, `/readyz`, `/status`, `/metrics`, and the
 * `Deno.serve` listener for `http.listen`. Handlers only read the status document (which holds
 * no secrets) and the metrics registry.
 * @module
 */
import { Hono } from "hono";
import { getLogger } from "../log/mod.ts";
import type { AgentMetrics } from "../metrics/mod.ts";
import type { AgentStatus } from "../status/model.ts";

const log = getLogger("http");

/** What the HTTP handlers read. */
export interface HttpDeps {
  /** The current status document (called per request). */
  status: () => AgentStatus;
  /** The agent's metrics; `/metrics` refreshes its status gauges before serving. */
  metrics: AgentMetrics;
}

function wantsJson(accept: string | undefined): boolean {
  return (accept ?? "").split(",").some((part) =>
    part.trim().toLowerCase().startsWith("application/json")
  );
}

/** Builds the hono app: `/healthz`, `/readyz`, `/status`, `/metrics`. */
export function createApp(deps: HttpDeps): Hono {
  const app = new Hono();
  const noStore = { "cache-control": "no-store" };

  app.get("/healthz", (c) => c.text("ok\n", 200, noStore));

  app.get("/readyz", (c) => {
    const status = deps.status();
    const ready = status.ready === true;
    const reasons = ready ? [] : (status.notReady?.length ? status.notReady : ["not ready"]);
    const code = ready ? 200 : 503;
    if (wantsJson(c.req.header("accept"))) {
      return c.json({ ready, notReady: reasons }, code, noStore);
    }
    return c.text(ready ? "ready\n" : reasons.map((r) => `${r}\n`).join(""), code, noStore);
  });

  app.get("/status", (c) => c.json(deps.status(), 200, noStore));

  app.get("/metrics", async (c) => {
    try {
      deps.metrics.updateFromStatus(deps.status());
    } catch (error) {
      log.warning("metrics: status gauges not refreshed: {error}", { error: String(error) });
    }
    const body = await deps.metrics.metrics();
    return c.body(body, 200, { "content-type": deps.metrics.contentType, ...noStore });
  });

  app.notFound((c) => c.text("not found\n", 404));
  app.onError((error, c) => {
    log.error("{method} {path} failed: {error}", {
      method: c.req.method,
      path: c.req.path,
      error: String(error),
    });
    return c.text("internal error\n", 500);
  });
  return app;
}

/** A `HOST:PORT` listen address, split (IPv6 without brackets). */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * Parses `http.listen`: `127.0.0.1:9183`, `[::1]:9183`, `localhost:9183`. Port 0 means
 * "any free port". Throws naming the value when it is malformed.
 */
export function parseListen(listen: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):([0-9]{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(
      `http.listen: expected HOST:PORT (IPv6 in brackets, port 0-65535), got "${listen}"`,
    );
  }
  return { hostname: m[1] ?? m[2], port };
}

/** Formats an address as `HOST:PORT` (IPv6 in brackets). */
export function formatListen(address: ListenAddress): string {
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  /** `HOST:PORT` (`http.listen`). */
  listen: string;
  /** Aborting it shuts the server down (in-flight requests finish). */
  signal?: AbortSignal;
}

/** A running HTTP server. */
export interface HttpServer {
  /** The bound address (the real port when `listen` asked for port 0). */
  address: ListenAddress;
  /** `http://HOST:PORT` of the bound address. */
  url: string;
  /** Resolves when the server has shut down. */
  finished: Promise<void>;
  /** Shuts the server down now (same as aborting the signal). */
  shutdown(): Promise<void>;
}

/** Serves `app` on `options.listen` with `Deno.serve` until `options.signal` aborts. */
export function serveHttp(app: Hono, options: ServeOptions): Promise<HttpServer> {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    const { hostname, port } = parseListen(options.listen);
    server = Deno.serve({
      hostname,
      port,
      signal: options.signal,
      onListen: () => {},
      onError: (error) => {
        log.error("request failed: {error}", { error: String(error) });
        return new Response("internal error\n", { status: 500 });
      },
    }, app.fetch);
  } catch (cause) {
    return Promise.reject(new Error(`http.listen ${options.listen}: cannot listen`, { cause }));
  }
  const address = { hostname: server.addr.hostname, port: server.addr.port };
  const url = `http://${formatListen(address)}`;
  log.info("listening on {url}", { url });
  let closing: Promise<void> | undefined;
  return Promise.resolve({
    address,
    url,
    finished: server.finished,
    shutdown() {
      if (options.signal?.aborted) return server.finished;
      return closing ??= server.shutdown();
    },
  });
}
