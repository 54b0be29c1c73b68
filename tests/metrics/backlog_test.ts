/** The reconcile backlog gauges read the reconciler at every scrape. */
import { assertStringIncludes } from "../support/assert.ts";
import { AgentMetrics } from "../../src/metrics/mod.ts";

Deno.test("metrics: reconcile backlog gauges follow the observed backlog", async () => {
  const metrics = new AgentMetrics({ processMetrics: false });
  assertStringIncludes(await metrics.metrics(), "vpnv4_reconcile_pending_tenants 0\n");
  let pending = 7;
  metrics.observeReconcileBacklog(() => ({
    pendingTenants: pending,
    oldestPendingMs: 1500,
    pendingRound: true,
    running: true,
  }));
  let text = await metrics.metrics();
  assertStringIncludes(text, "vpnv4_reconcile_pending_tenants 7\n");
  assertStringIncludes(text, "vpnv4_reconcile_oldest_pending_seconds 1.5\n");
  assertStringIncludes(text, "vpnv4_reconcile_round_running 1\n");
  pending = 0;
  text = await metrics.metrics();
  assertStringIncludes(text, "vpnv4_reconcile_pending_tenants 0\n");
});
