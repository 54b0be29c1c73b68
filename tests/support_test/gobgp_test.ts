import { assert, assertEquals } from "../support/assert.ts";
import { startGobgp } from "../support/gobgp.ts";
import { missing } from "./_skip.ts";

const skip = await missing("/usr/bin/gobgpd", "/usr/bin/gobgp");

Deno.test({
  name: "gobgp: starts without listening, holds an injected VPNv4 path, imports it into a VRF",
  ignore: !!skip,
  async fn() {
    await using bgp = await startGobgp({
      config: {
        global: { config: { as: 65001, "router-id": "192.0.2.2", port: -1 } },
        vrfs: [{
          config: {
            name: "demo",
            id: 1,
            rd: "65001:1",
            "import-rt-list": ["65000:1"],
            "export-rt-list": ["65000:1"],
          },
        }],
      },
    });
    assertEquals(await bgp.rib("vpnv4"), {});
    await bgp.cli([
      ...["global", "rib", "-a", "vpnv4", "add", "10.244.0.0/24", "label", "16"],
      ...["rd", "65000:1", "rt", "65000:1", "nexthop", "192.0.2.9"],
    ]);
    const rib = await bgp.rib("vpnv4");
    const [path] = rib["65000:1:10.244.0.0/24"];
    assertEquals(path.nlri.labels, [16]);
    assertEquals(path.nlri.rd, { type: 0, admin: 65000, assigned: 1 });
    const vrf = await bgp.rib("ipv4", "demo");
    assert("65000:1:10.244.0.0/24" in vrf, JSON.stringify(vrf));
    assertEquals(await bgp.neighbors(), []);
  },
});
