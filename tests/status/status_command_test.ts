import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../support/assert.ts";
import {
  AgentUnreachableError,
  endpointUrl,
  formatDuration,
  renderStatus,
  statusCommand,
} from "../../src/cli/status.ts";
import { healthCommand } from "../../src/cli/health.ts";
import { ExitCode, isInputError } from "../../src/cli/exit.ts";
import { createApp, serveHttp } from "../../src/http/mod.ts";
import { AgentMetrics } from "../../src/metrics/mod.ts";
import type { AgentStatus } from "../../src/status/model.ts";
import { fixtureStatus } from "./fixtures.ts";

const NOW = new Date("2026-11-23T01:10:00.000Z");

/** A port on 127.0.0.1 that was free a moment ago and has nothing listening now. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

async function withAgent(
  status: AgentStatus,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const app = createApp({
    status: () => status,
    metrics: new AgentMetrics({ processMetrics: false }),
  });
  const server = await serveHttp(app, { listen: "127.0.0.1:0", signal: controller.signal });
  try {
    await fn(server.url);
  } finally {
    controller.abort();
    await server.finished;
  }
}

Deno.test("renderStatus: tables of tenants, peers, planes, sources and not-ready reasons", async () => {
  const text = renderStatus(await fixtureStatus(), { now: NOW });
  const lines = text.split("\n");
  assertEquals(lines[0], "vpnv4-agent 0.1.0, started 2026-11-23T01:00:00.000Z (10m00s up)");
  assertEquals(lines.slice(1, 4), [
    "ready: NO",
    "  - source ovn:unix:/run/ovn/ovnnb_db.sock not synced",
    "  - FRR not reachable: vtysh exited 1",
  ]);
  const section = (title: string) => {
    const start = lines.findIndex((l) => l.startsWith(title));
    assert(start >= 0, `no section ${title}`);
    const end = lines.indexOf("", start);
    return lines.slice(start + 1, end < 0 ? undefined : end);
  };
  const tenants = section("Tenants (2)");
  assertMatch(tenants[0], /^NAME +VRF +TABLE +RD +RT +V4 +V6 +IMPORTED +LAST APPLY +ERRORS$/);
  assertMatch(tenants[1], /^acme +vrf-acme +1000 +65000:1 +65000:1 +3 +1 +2 +1m00s ago +-$/);
  assertMatch(
    tenants[2],
    /^globex +vrf-globex +1001 +65000:2 +65000:2 +2 +0 +0 +never +frr: vtysh exited 1$/,
  );
  // Columns line up: every row starts its VRF column at the same offset.
  assertEquals(new Set(tenants.map((l) => l.indexOf(l.split(/ +/)[1]))).size, 1);

  const peers = section("Peers (3)");
  assertMatch(peers[0], /^ADDRESS +AS +STATE +UP +SENT\/RECEIVED +DESCRIPTION$/);
  assertMatch(
    peers[1],
    /^10\.99\.0\.1 +65001 +Established +1h02m +vpnv4 3\/1, vpnv6 1\/0 +fortigate-a$/,
  );
  assertMatch(peers[2], /^127\.0\.0\.9 +65009 +Active +- +vpnv4 0\/0 +dead-pe$/);
  assertMatch(peers[3], /^192\.0\.2\.77 +64999 +Idle +- +- +-$/);

  const planes = section("Planes (3)");
  assertMatch(planes[1], /^kernel +ok +5s ago +12 ms +MPLS not available: control plane only$/);
  assertMatch(planes[2], /^frr +error +4s ago +450 ms +vtysh exited 1$/);
  assertMatch(planes[3], /^import +unusable +- +- +-$/);

  const sources = section("Sources (2)");
  assertMatch(sources[1], /^file:\/etc\/vpnv4-agent\/tenants\.yaml +yes +30s ago +-$/);
  assertMatch(sources[2], /^ovn:unix:\/run\/ovn\/ovnnb_db\.sock +no +- +connect ENOENT$/);

  assertStringIncludes(
    text,
    "Rejected source entries (1, newest first)\n  evil 0.0.0.0/0: default route",
  );
});

Deno.test("renderStatus: ready, empty and partial documents do not throw", () => {
  const text = renderStatus({ ready: true } as unknown as AgentStatus, { now: NOW });
  assertStringIncludes(text, "ready: yes");
  assertStringIncludes(text, "Tenants (0)");
  assertStringIncludes(text, "Peers (0)");
});

Deno.test("formatDuration / endpointUrl", () => {
  assertEquals(
    [0, 59, 60, 3599, 3600, 86399, 86400 * 3 + 7200].map(formatDuration),
    ["0s", "59s", "1m00s", "59m59s", "1h00m", "23h59m", "3d02h"],
  );
  assertEquals(endpointUrl("http://127.0.0.1:9183", "/status"), "http://127.0.0.1:9183/status");
  assertEquals(endpointUrl("http://[::1]:9183/", "/healthz"), "http://[::1]:9183/healthz");
  assertEquals(endpointUrl("http://h:1/x/status", "/status"), "http://h:1/x/status");
});

Deno.test("statusCommand: table and --json from a real serveHttp", async () => {
  const status = await fixtureStatus();
  await withAgent(status, async (url) => {
    const table = await statusCommand({ url });
    assertStringIncludes(table, "ready: NO");
    assertMatch(table, /^acme +vrf-acme +1000 /m);
    assertMatch(table, /^10\.99\.0\.1 +65001 +Established /m);
    const json = await statusCommand({ url: `${url}/status`, json: true });
    assertEquals(JSON.parse(json), status);
  });
});

Deno.test("statusCommand: closed port → one-line error, exit code 1", async () => {
  const url = `http://127.0.0.1:${closedPort()}`;
  const error = await assertRejects(() => statusCommand({ url }), AgentUnreachableError);
  assertEquals(
    error.message,
    `cannot reach the agent at ${url}/status: connection refused` +
      " (is it running, and is http.listen this address?)",
  );
  assert(!error.message.includes("\n"));
  assertEquals(error.cause, undefined);
  assertEquals(isInputError(error) ? ExitCode.usage : ExitCode.runtime, ExitCode.runtime);
});

Deno.test("statusCommand: a non-status answer is an error", async () => {
  const controller = new AbortController();
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      signal: controller.signal,
      onListen: () => {},
    },
    (req) =>
      new URL(req.url).pathname === "/status"
        ? new Response("<html>", { status: 200 })
        : new Response("no", { status: 404 }),
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    await assertRejects(
      () => statusCommand({ url: base }),
      AgentUnreachableError,
      "did not answer JSON",
    );
    await assertRejects(
      () => statusCommand({ url: `${base}/other` }),
      AgentUnreachableError,
      "answered HTTP 404",
    );
    await assertRejects(() => statusCommand({ url: "ftp://x" }), AgentUnreachableError, "--url");
  } finally {
    controller.abort();
    await server.finished;
  }
});

Deno.test("healthCommand: 0 against a live agent, 1 against a closed port or a 503", async () => {
  const reports: string[] = [];
  const report = (line: string) => reports.push(line);
  await withAgent(await fixtureStatus(), async (url) => {
    assertEquals(await healthCommand({ url: `${url}/healthz`, report }), ExitCode.ok);
    assertEquals(await healthCommand({ url, report }), ExitCode.ok);
    // /readyz of a not-ready agent answers 503: unhealthy by that URL.
    assertEquals(await healthCommand({ url: `${url}/readyz`, report }), ExitCode.runtime);
  });
  assertEquals(reports.length, 1);
  assertMatch(reports[0], /^unhealthy: http:\/\/127\.0\.0\.1:\d+\/readyz answered HTTP 503$/);
  const port = closedPort();
  assertEquals(await healthCommand({ url: `http://127.0.0.1:${port}/healthz`, report }), 1);
  assertEquals(reports[1], `unhealthy: http://127.0.0.1:${port}/healthz: connection refused`);
  assertEquals(await healthCommand({ url: "not a url", report }), 1);
  assertStringIncludes(reports[2], "--url");
});
