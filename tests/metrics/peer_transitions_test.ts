/** `vpnv4_bgp_peer_transitions_total`: zero series per configured peer, counts, bounded labels. */
import { assert, assertEquals } from "../support/assert.ts";
import { AgentMetrics } from "../../src/metrics/mod.ts";
import { fixtureStatus } from "../status/fixtures.ts";

const NAME = "vpnv4_bgp_peer_transitions_total";

/** The value of `NAME{peer,to}`, or undefined when the series is absent. */
function transitions(text: string, peer: string, to: string): number | undefined {
  const series = `${NAME}{peer="${peer}",to="${to}"}`;
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("AgentMetrics.recordPeerTransition: per configured peer and direction", async () => {
  const m = new AgentMetrics({ processMetrics: false, configuredPeers: ["10.99.0.1"] });
  let text = await m.metrics();
  assert(text.includes(`# TYPE ${NAME} counter`), text);
  // Series exist at 0 from the start (rate() works from the first transition).
  assertEquals(transitions(text, "10.99.0.1", "up"), 0);
  assertEquals(transitions(text, "10.99.0.1", "down"), 0);

  m.recordPeerTransition("10.99.0.1", "up");
  m.recordPeerTransition("10.99.0.1", "down");
  m.recordPeerTransition("10.99.0.1", "up");
  // Not configured: never a series (bounded cardinality).
  m.recordPeerTransition("192.0.2.77", "up");
  // Status refreshes rebuild the peer gauges but must not reset the counter.
  m.updateFromStatus(await fixtureStatus());
  text = await m.metrics();
  assertEquals(transitions(text, "10.99.0.1", "up"), 2);
  assertEquals(transitions(text, "10.99.0.1", "down"), 1);
  assert(!text.includes("192.0.2.77"), text);

  // A peer added to the configuration starts at 0; a removed one loses its series.
  m.setConfiguredPeers(["2001:db8::1"]);
  text = await m.metrics();
  assertEquals(transitions(text, "2001:db8::1", "up"), 0);
  assertEquals(transitions(text, "2001:db8::1", "down"), 0);
  assertEquals(transitions(text, "10.99.0.1", "up"), undefined);
  assertEquals(transitions(text, "10.99.0.1", "down"), undefined);
});
