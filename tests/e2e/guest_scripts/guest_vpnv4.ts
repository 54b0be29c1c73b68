/**
 * Guest side of tests/e2e/guest_vpnv4_test.ts (needs a kernel with VRF; run it in the QEMU
 * guest): node FRR in namespace a exports a blackhole route of VRF `demo` (table 10) as
 * VPNv4 to GoBGP ("FortiGate") in namespace b, which imports it into its VRF by RT.
 * Prints one `VPNV4_RESULT {json}` line with GoBGP's VPNv4 and VRF RIBs and FRR's view.
 * @module
 */
import { startFrr } from "../../support/frr.ts";
import { startGobgp } from "../../support/gobgp.ts";
import { waitFor } from "../../support/proc.ts";
import { createTopology } from "../../support/topology.ts";

const PREFIX = "10.244.0.0/24";
const RD = "65000:1";
const RT = "65000:1";

await using topo = await createTopology();
for (
  const cmd of [
    ["ip", "link", "add", "demo", "type", "vrf", "table", "10"],
    ["ip", "link", "set", "demo", "up"],
    ["ip", "route", "add", "blackhole", PREFIX, "table", "10"],
  ]
) await topo.exec("a", cmd);

await using fortigate = await startGobgp({
  netns: topo.b.netns,
  config: {
    global: { config: { as: 65001, "router-id": topo.b.address, port: 179 } },
    neighbors: [{
      config: { "neighbor-address": topo.a.address, "peer-as": 65000 },
      "afi-safis": [{ config: { "afi-safi-name": "l3vpn-ipv4-unicast" } }],
    }],
    vrfs: [{
      config: {
        name: "demo",
        id: 1,
        rd: "65001:1",
        "import-rt-list": [RT],
        "export-rt-list": [RT],
      },
    }],
  },
});

await using node = await startFrr({
  netns: topo.a.netns,
  config: [
    `router bgp 65000`,
    ` bgp router-id ${topo.a.address}`,
    ` no bgp ebgp-requires-policy`,
    ` neighbor ${topo.b.address} remote-as 65001`,
    ` address-family ipv4 vpn`,
    `  neighbor ${topo.b.address} activate`,
    ` exit-address-family`,
    `exit`,
    `!`,
    `router bgp 65000 vrf demo`,
    ` bgp router-id ${topo.a.address}`,
    ` address-family ipv4 unicast`,
    `  redistribute kernel`,
    `  rd vpn export ${RD}`,
    `  rt vpn both ${RT}`,
    `  label vpn export auto`,
    `  export vpn`,
    `  import vpn`,
    ` exit-address-family`,
    `exit`,
    ``,
  ].join("\n"),
});

const key = `${RD}:${PREFIX}`;
await waitFor(async () => key in await fortigate.rib("vpnv4"), {
  timeoutMs: 120_000,
  intervalMs: 500,
  describe: () => `GoBGP never received ${key}`,
});
const result = {
  vpnv4: await fortigate.rib("vpnv4"),
  vrf: await fortigate.rib("ipv4", "demo"),
  frr: await node.vtyshJson("show bgp ipv4 vpn json"),
};
console.log(`VPNV4_RESULT ${JSON.stringify(result)}`);
