import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import {
  AgentMetrics,
  rejectionClass,
  UNSUPPORTED_DEFAULT_METRICS,
} from "../../src/metrics/mod.ts";
import { fixtureStatus } from "../status/fixtures.ts";

/** The value of one series line `name{labels} value`, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("AgentMetrics: recorded counters and histograms appear with their values", async () => {
  const m = new AgentMetrics({ processMetrics: false, version: "9.9.9" });
  m.recordReconcile("kernel", { ok: true, durationMs: 12 });
  m.recordReconcile("kernel", { ok: false, durationMs: 2000 });
  m.recordReconcile("frr", { ok: true, durationMs: 450 });
  m.recordApplyError("frr");
  m.recordApplyError("frr", 2);
  m.recordOvsdbReconnect();
  m.recordNetlinkOp("route_add", "ok");
  m.recordNetlinkOp("route_add", "ok");
  m.recordNetlinkOp("link_add", "error");
  m.recordKernelCounts({ routes_added: 5, routes_kept: 9, route_failures: 2, vrfs_deleted: 0 });
  m.recordSourceUpdate("file:/etc/vpnv4-agent/tenants.yaml");
  m.recordRejected({ tenant: "t", prefix: "0.0.0.0/0", reason: "default route" });
  m.recordRejected("conflict", 3);
  m.setImportRoutes(7);
  const text = await m.metrics();
  const expect: [string, number][] = [
    ['vpnv4_reconcile_runs_total{plane="kernel",result="ok"}', 1],
    ['vpnv4_reconcile_runs_total{plane="kernel",result="error"}', 1],
    ['vpnv4_reconcile_runs_total{plane="frr",result="ok"}', 1],
    ['vpnv4_reconcile_duration_seconds_bucket{le="0.01",plane="kernel"}', 0],
    ['vpnv4_reconcile_duration_seconds_bucket{le="0.025",plane="kernel"}', 1],
    ['vpnv4_reconcile_duration_seconds_bucket{le="2.5",plane="kernel"}', 2],
    ['vpnv4_reconcile_duration_seconds_bucket{le="+Inf",plane="kernel"}', 2],
    ['vpnv4_reconcile_duration_seconds_sum{plane="kernel"}', 2.012],
    ['vpnv4_reconcile_duration_seconds_count{plane="frr"}', 1],
    ['vpnv4_apply_errors_total{plane="frr"}', 3],
    ["vpnv4_ovsdb_reconnects_total", 1],
    ['vpnv4_netlink_operations_total{op="route_add",result="ok"}', 7],
    ['vpnv4_netlink_operations_total{op="route_change",result="error"}', 2],
    ['vpnv4_netlink_operations_total{op="link_add",result="error"}', 1],
    ['vpnv4_source_updates_total{source="file:/etc/vpnv4-agent/tenants.yaml"}', 1],
    ['vpnv4_rejected_source_entries_total{reason="prefix"}', 1],
    ['vpnv4_rejected_source_entries_total{reason="conflict"}', 3],
    ["vpnv4_import_routes", 7],
    ["vpnv4_tenants", 0],
    ['vpnv4_prefixes{family="ipv4"}', 0],
    ["vpnv4_ready", 0],
  ];
  for (const [series, value] of expect) assertEquals(sample(text, series), value, series);
  assertMatch(text, /^vpnv4_build_info\{version="9\.9\.9",deno="[^"]+"\} 1$/m);
  assertStringIncludes(text, "# TYPE vpnv4_reconcile_duration_seconds histogram");
  assertStringIncludes(text, 'le="0.001"');
  assertStringIncludes(text, 'le="30"');
  assertEquals(m.contentType, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("AgentMetrics.updateFromStatus: gauges from the status, only configured peers", async () => {
  const m = new AgentMetrics({
    processMetrics: false,
    configuredPeers: ["10.99.0.1", "127.0.0.9", "10.0.0.50"],
  });
  const status = await fixtureStatus();
  m.updateFromStatus({ ...status, ready: true });
  let text = await m.metrics();
  assertEquals(sample(text, "vpnv4_tenants"), 2);
  assertEquals(sample(text, 'vpnv4_prefixes{family="ipv4"}'), 5);
  assertEquals(sample(text, 'vpnv4_prefixes{family="ipv6"}'), 1);
  assertEquals(sample(text, "vpnv4_import_routes"), 2);
  assertEquals(sample(text, "vpnv4_ready"), 1);
  assertEquals(sample(text, 'vpnv4_bgp_peer_up{peer="10.99.0.1"}'), 1);
  assertEquals(sample(text, 'vpnv4_bgp_peer_up{peer="127.0.0.9"}'), 0);
  // Configured but not reported by FRR: down, no prefix series.
  assertEquals(sample(text, 'vpnv4_bgp_peer_up{peer="10.0.0.50"}'), 0);
  assert(!text.includes('peer="10.0.0.50",family'));
  // Reported by FRR but not configured: no series at all.
  assert(!text.includes("192.0.2.77"));
  assertEquals(sample(text, 'vpnv4_bgp_peer_prefixes_sent{peer="10.99.0.1",family="ipv4Vpn"}'), 3);
  assertEquals(sample(text, 'vpnv4_bgp_peer_prefixes_sent{peer="10.99.0.1",family="ipv6Vpn"}'), 1);
  assertEquals(
    sample(text, 'vpnv4_bgp_peer_prefixes_received{peer="10.99.0.1",family="ipv4Vpn"}'),
    1,
  );

  // The peer goes down and loses its ipv6Vpn family; a peer is removed from the config.
  status.peers[0] = { ...status.peers[0], state: "Idle", families: { ipv4Vpn: { sent: 0 } } };
  m.setConfiguredPeers(["10.99.0.1"]);
  m.updateFromStatus(status);
  text = await m.metrics();
  assertEquals(sample(text, 'vpnv4_bgp_peer_up{peer="10.99.0.1"}'), 0);
  assertEquals(sample(text, 'vpnv4_bgp_peer_prefixes_sent{peer="10.99.0.1",family="ipv4Vpn"}'), 0);
  assert(!text.includes('family="ipv6Vpn"'));
  assert(!text.includes("127.0.0.9"));
  assert(!text.includes("10.0.0.50"));
  assertEquals(sample(text, "vpnv4_ready"), 0);
});

Deno.test("AgentMetrics: own registry, several instances coexist", async () => {
  const a = new AgentMetrics({ processMetrics: false });
  const b = new AgentMetrics({ processMetrics: false });
  a.recordOvsdbReconnect();
  assertEquals(sample(await a.metrics(), "vpnv4_ovsdb_reconnects_total"), 1);
  assertEquals(sample(await b.metrics(), "vpnv4_ovsdb_reconnects_total"), 0);
});

Deno.test("AgentMetrics: process metrics work under Deno, broken ones are left out", async () => {
  const m = new AgentMetrics();
  const text = await m.metrics();
  const rss = sample(text, "process_resident_memory_bytes");
  assert(rss !== undefined && rss > 0, `process_resident_memory_bytes = ${rss}`);
  assert((sample(text, "process_cpu_seconds_total") ?? -1) >= 0);
  assert((sample(text, "process_open_fds") ?? 0) > 0);
  assert((sample(text, "nodejs_heap_size_used_bytes") ?? 0) > 0);
  for (const name of UNSUPPORTED_DEFAULT_METRICS) {
    assert(!text.includes(`# TYPE ${name} `), `${name} should not be exported`);
  }
  assert(!/ (NaN|Nan)$/m.test(text), "a metric has a NaN value");
});

Deno.test("rejectionClass", () => {
  assertEquals(rejectionClass({ tenant: "a", reason: "row 1234: bad address" }), "ovn_row");
  assertEquals(
    rejectionClass({
      tenant: "a",
      prefix: "10.0.0.0/24",
      reason: "claimed by several tenants (a, b); exported by none",
    }),
    "conflict",
  );
  assertEquals(
    rejectionClass({
      tenant: "a",
      reason: "20001 prefixes exceed tenants.policy.max_prefixes_per_tenant",
    }),
    "limit",
  );
  assertEquals(rejectionClass({ tenant: "a", prefix: "x", reason: "not a prefix" }), "prefix");
  assertEquals(rejectionClass({ tenant: "A B", reason: "bad name" }), "name");
  assertEquals(rejectionClass({ tenant: "a", reason: "" }), "other");
});
