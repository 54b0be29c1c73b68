/** PEER_SUMMARY_COMMANDS against a real FRR (Debian frr): skipped without FRR or root. */
import { assert, assertEquals } from "../support/assert.ts";
import { startFrr } from "../support/frr.ts";
import { parsePeerSummaries, PEER_SUMMARY_COMMANDS } from "../../src/status/peers.ts";

const haveFrr = (() => {
  try {
    return Deno.statSync("/usr/lib/frr/bgpd").isFile && Deno.uid() === 0;
  } catch {
    return false;
  }
})();

const PASSWORD = "Pw-in-frr-DO-NOT-LEAK";

Deno.test({
  name: "PEER_SUMMARY_COMMANDS: real FRR reports configured peers, no password",
  ignore: !haveFrr,
  async fn() {
    // Peers on loopback addresses nobody listens on: they stay Active/Connect.
    const config = [
      "router bgp 65000",
      " bgp router-id 10.0.0.1",
      " neighbor 127.0.0.2 remote-as 65001",
      " neighbor 127.0.0.2 description fortigate-a",
      ` neighbor 127.0.0.2 password ${PASSWORD}`,
      " neighbor ::1 remote-as 65002",
      " address-family ipv4 unicast",
      "  no neighbor 127.0.0.2 activate",
      " exit-address-family",
      " address-family ipv4 vpn",
      "  neighbor 127.0.0.2 activate",
      " exit-address-family",
      " address-family ipv6 vpn",
      "  neighbor 127.0.0.2 activate",
      "  neighbor ::1 activate",
      " exit-address-family",
      "exit",
      "",
    ].join("\n");
    await using frr = await startFrr({ config, bgpPort: 0, daemons: ["bgpd"] });
    const peers = [];
    for (const cmd of PEER_SUMMARY_COMMANDS) {
      const text = await frr.vtysh(cmd);
      assert(!text.includes(PASSWORD), "FRR summary JSON contains the password");
      peers.push(...parsePeerSummaries(JSON.parse(text)));
    }
    assertEquals(peers.map((p) => [p.address, p.remoteAsn]), [["127.0.0.2", 65001], [
      "::1",
      65002,
    ]]);
    const [v4, v6] = peers;
    assertEquals(v4.description, "fortigate-a");
    assertEquals(Object.keys(v4.families).sort(), ["ipv4Vpn", "ipv6Vpn"]);
    assertEquals(v4.families.ipv4Vpn, { sent: 0, received: 0 });
    assert(Object.keys(v6.families).includes("ipv6Vpn"));
    for (const p of peers) {
      assert(p.state !== "unknown" && p.state !== "Established", p.state);
      assertEquals(p.uptimeSeconds, undefined);
    }
  },
});
