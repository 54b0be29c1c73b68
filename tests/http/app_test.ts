import { assert, assertEquals, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { createApp, formatListen, parseListen } from "../../src/http/mod.ts";
import { AgentMetrics } from "../../src/metrics/mod.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { parsePeerSummaries } from "../../src/status/peers.ts";
import type { AgentStatus } from "../../src/status/model.ts";
import { fixturePath, fixtureStatus, readFixtureJson, readyStatus } from "../status/fixtures.ts";

function appFor(status: AgentStatus, metrics = new AgentMetrics({ processMetrics: false })) {
  return createApp({ status: () => status, metrics });
}

Deno.test("GET /healthz: 200 ok", async () => {
  const res = await appFor(await fixtureStatus()).request("/healthz");
  assertEquals(res.status, 200);
  assertEquals(await res.text(), "ok\n");
});

Deno.test("GET /readyz: 200 when ready", async () => {
  const app = appFor(await readyStatus());
  const res = await app.request("/readyz");
  assertEquals([res.status, await res.text()], [200, "ready\n"]);
  const json = await app.request("/readyz", { headers: { accept: "application/json" } });
  assertEquals(json.status, 200);
  assertEquals(await json.json(), { ready: true, notReady: [] });
});

Deno.test("GET /readyz: 503 with the reasons, as text and as JSON", async () => {
  const app = appFor(await fixtureStatus());
  const res = await app.request("/readyz");
  assertEquals(res.status, 503);
  assertEquals(
    await res.text(),
    "source ovn:unix:/run/ovn/ovnnb_db.sock not synced\nFRR not reachable: vtysh exited 1\n",
  );
  const json = await app.request("/readyz", {
    headers: { accept: "text/html, application/json;q=0.9" },
  });
  assertEquals(json.status, 503);
  assertStringIncludes(json.headers.get("content-type") ?? "", "application/json");
  assertEquals(await json.json(), {
    ready: false,
    notReady: [
      "source ovn:unix:/run/ovn/ovnnb_db.sock not synced",
      "FRR not reachable: vtysh exited 1",
    ],
  });
});

Deno.test("GET /readyz: not ready without reasons still says why", async () => {
  const res = await appFor({ ...await fixtureStatus(), notReady: [] }).request("/readyz");
  assertEquals([res.status, await res.text()], [503, "not ready\n"]);
});

Deno.test("GET /status: the status document as JSON", async () => {
  const status = await fixtureStatus();
  const res = await appFor(status).request("/status");
  assertEquals(res.status, 200);
  assertStringIncludes(res.headers.get("content-type") ?? "", "application/json");
  assertEquals(res.headers.get("cache-control"), "no-store");
  assertEquals(await res.json(), await fixtureStatus());
});

Deno.test("GET /metrics: Prometheus text with recorded and status-derived values", async () => {
  const metrics = new AgentMetrics({ processMetrics: false, configuredPeers: ["10.99.0.1"] });
  metrics.recordReconcile("frr", { ok: true, durationMs: 40 });
  const res = await appFor(await fixtureStatus(), metrics).request("/metrics");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  assertStringIncludes(text, '\nvpnv4_reconcile_runs_total{plane="frr",result="ok"} 1\n');
  assertStringIncludes(text, "\nvpnv4_tenants 2\n");
  assertStringIncludes(text, '\nvpnv4_bgp_peer_up{peer="10.99.0.1"} 1\n');
});

Deno.test("unknown path: 404; a failing status source: 500 without details", async () => {
  const status = () => {
    throw new Error("boom at /secret/place");
  };
  const app = createApp({ status, metrics: new AgentMetrics({ processMetrics: false }) });
  const missing = await app.request("/nope");
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
  const res = await app.request("/status");
  assertEquals(res.status, 500);
  const body = await res.text();
  assertEquals(body, "internal error\n");
  // /healthz does not depend on the status.
  assertEquals((await app.request("/healthz")).status, 200);
});

Deno.test("no secrets: config passwords never appear in /status, /readyz or /metrics", async () => {
  const config = await loadConfig(fixturePath("config_with_password.yaml"));
  const passwords = config.bgp.peers.map((p) => p.password).filter((p) => p !== undefined);
  assertEquals(passwords.length, 2);
  // Peers as the FRR plane would report them: real FRR JSON captured with the password set.
  const peers = parsePeerSummaries(await readFixtureJson("frr84_summary_established.json"));
  const status: AgentStatus = {
    ...await fixtureStatus(),
    peers: peers.map((p) => ({
      ...p,
      description: config.bgp.peers.find((c) => c.address === p.address)?.description,
    })),
  };
  const metrics = new AgentMetrics({
    processMetrics: false,
    configuredPeers: config.bgp.peers.map((p) => p.address),
  });
  const app = appFor(status, metrics);
  const bodies: string[] = [];
  for (const path of ["/status", "/readyz", "/metrics", "/healthz"]) {
    for (const accept of ["*/*", "application/json"]) {
      const res = await app.request(path, { headers: { accept } });
      bodies.push(await res.text(), JSON.stringify([...res.headers]));
    }
  }
  const all = bodies.join("\n");
  assertStringIncludes(all, "fortigate-a"); // the descriptions are there…
  assertStringIncludes(all, 'vpnv4_bgp_peer_up{peer="10.99.0.1"} 1');
  for (const password of passwords) assert(!all.includes(password!), "password leaked");
  assert(!/password/i.test(all), "the word password appears in a response");
});

Deno.test("parseListen / formatListen", () => {
  assertEquals(parseListen("127.0.0.1:9183"), { hostname: "127.0.0.1", port: 9183 });
  assertEquals(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  assertEquals(parseListen("[::]:9183"), { hostname: "::", port: 9183 });
  assertEquals(parseListen("localhost:80"), { hostname: "localhost", port: 80 });
  assertEquals(formatListen({ hostname: "::1", port: 9183 }), "[::1]:9183");
  assertEquals(formatListen({ hostname: "127.0.0.1", port: 1 }), "127.0.0.1:1");
  for (const bad of ["::1:9183", "127.0.0.1", "127.0.0.1:70000", "host:80", ":80", "[::1]"]) {
    assertThrows(() => parseListen(bad), Error, "http.listen");
  }
});
