import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { startFrr } from "../support/frr.ts";
import { startGobgp } from "../support/gobgp.ts";
import { waitFor } from "../support/proc.ts";
import { createTopology } from "../support/topology.ts";
import { missing } from "./_skip.ts";

const skip = await missing("/usr/lib/frr/bgpd", "/usr/bin/gobgpd");

Deno.test({
  name: "topology: two namespaces with addresses, removed on destroy",
  ignore: !!skip,
  async fn() {
    const topo = await createTopology({ subnet: "172.30.0.4/30" });
    assertEquals([topo.a.address, topo.b.address], ["172.30.0.5", "172.30.0.6"]);
    assertStringIncludes(
      await topo.exec("a", ["ip", "route", "get", topo.b.address]),
      `dev ${topo.a.ifname}`,
    );
    await topo.destroy();
    const list = new TextDecoder().decode(
      (await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output()).stdout,
    );
    assert(!list.includes(topo.a.netns) && !list.includes(topo.b.netns), list);
  },
});

Deno.test({
  name: "topology: FRR in a and GoBGP in b establish IPv4 unicast over the veth",
  ignore: !!skip,
  async fn() {
    await using topo = await createTopology();
    await using bgp = await startGobgp({
      netns: topo.b.netns,
      config: {
        global: { config: { as: 65001, "router-id": topo.b.address, port: 179 } },
        neighbors: [{
          config: { "neighbor-address": topo.a.address, "peer-as": 65000 },
          "afi-safis": [{ config: { "afi-safi-name": "ipv4-unicast" } }],
        }],
      },
    });
    await using _frr = await startFrr({
      netns: topo.a.netns,
      config: [
        "ip route 10.9.0.0/24 blackhole",
        "router bgp 65000",
        ` bgp router-id ${topo.a.address}`,
        " no bgp ebgp-requires-policy",
        ` neighbor ${topo.b.address} remote-as 65001`,
        " address-family ipv4 unicast",
        "  redistribute static",
        " exit-address-family",
        "",
      ].join("\n"),
    });
    await waitFor(async () => "10.9.0.0/24" in await bgp.rib("ipv4"), {
      timeoutMs: 60_000,
      describe: () => "GoBGP never received 10.9.0.0/24 from FRR",
    });
  },
});
