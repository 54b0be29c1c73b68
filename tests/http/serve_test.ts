import { assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { createApp, serveHttp } from "../../src/http/mod.ts";
import { AgentMetrics } from "../../src/metrics/mod.ts";
import { fixtureStatus } from "../status/fixtures.ts";

async function app() {
  const status = await fixtureStatus();
  return createApp({ status: () => status, metrics: new AgentMetrics({ processMetrics: false }) });
}

Deno.test("serveHttp: 127.0.0.1 port 0, real socket, stops on abort", async () => {
  const controller = new AbortController();
  const server = await serveHttp(await app(), {
    listen: "127.0.0.1:0",
    signal: controller.signal,
  });
  try {
    assertEquals(server.address.hostname, "127.0.0.1");
    assertEquals(server.url, `http://127.0.0.1:${server.address.port}`);
    const res = await fetch(`${server.url}/healthz`);
    assertEquals([res.status, await res.text()], [200, "ok\n"]);
    const ready = await fetch(`${server.url}/readyz`);
    assertEquals(ready.status, 503);
    assertStringIncludes(await ready.text(), "not synced");
  } finally {
    controller.abort();
    await server.finished;
  }
  await assertRejects(() => fetch(`${server.url}/healthz`));
  await server.shutdown(); // idempotent after the abort
});

Deno.test("serveHttp: [::1] port 0, shutdown()", async () => {
  let server;
  try {
    server = await serveHttp(await app(), { listen: "[::1]:0" });
  } catch (error) {
    // No IPv6 loopback on this machine: nothing to test.
    console.warn(`skipped: ${(error as Error).message}`);
    return;
  }
  assertEquals(server.url, `http://[::1]:${server.address.port}`);
  const res = await fetch(`${server.url}/status`);
  assertEquals(res.status, 200);
  assertEquals((await res.json()).version, "0.1.0");
  await server.shutdown();
  await server.finished;
});

Deno.test("serveHttp: a bad or busy address is an error naming http.listen", async () => {
  await assertRejects(
    () =>
      serveHttp(
        createApp({
          status: () => {
            throw new Error("unused");
          },
          metrics: new AgentMetrics({ processMetrics: false }),
        }),
        { listen: "nonsense" },
      ),
    Error,
    "http.listen nonsense",
  );
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assertRejects(
      async () => serveHttp(await app(), { listen: `127.0.0.1:${busy.addr.port}` }),
      Error,
      "cannot listen",
    );
  } finally {
    busy.close();
  }
});
