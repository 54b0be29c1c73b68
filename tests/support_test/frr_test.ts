import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { startFrr, validateFrrConfig } from "../support/frr.ts";
import { createTopology } from "../support/topology.ts";
import { missing } from "./_skip.ts";

const skip = await missing("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "/usr/bin/vtysh");

async function gone(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return false;
  } catch {
    return true;
  }
}

Deno.test({
  name: "frr: starts in a netns, answers vtysh, restarts with a new config, cleans up",
  ignore: !!skip,
  async fn() {
    await using topo = await createTopology();
    const frr = await startFrr({
      netns: topo.a.netns,
      config: "ip route 10.9.0.0/24 blackhole\n!\nrouter bgp 65000\n bgp router-id 172.30.0.1\n",
    });
    try {
      assertMatch(await frr.vtysh("show version"), /FRRouting/);
      assertStringIncludes(await frr.vtysh("show running-config"), "router bgp 65000");
      const routes = await frr.vtyshJson<Record<string, unknown[]>>("show ip route static json");
      assert("10.9.0.0/24" in routes, JSON.stringify(routes));
      // The static route reached the namespace's kernel table.
      assertStringIncludes(
        await topo.exec("a", ["ip", "route", "show", "10.9.0.0/24"]),
        "blackhole",
      );
      await frr.restart({ config: "router bgp 65001\n" });
      assertStringIncludes(await frr.vtysh("show running-config"), "router bgp 65001");
      await frr.vtysh(["configure terminal", "router bgp 65001", "bgp router-id 9.9.9.9"]);
      assertStringIncludes(await frr.vtysh("show running-config"), "bgp router-id 9.9.9.9");
    } finally {
      await frr.stop();
    }
    assert(await gone(frr.configDir));
    assert(await gone(frr.runDir));
  },
});

Deno.test({
  name: "frr: vtysh errors carry the output",
  ignore: !!skip,
  async fn() {
    await using topo = await createTopology();
    await using frr = await startFrr({ netns: topo.a.netns, daemons: ["zebra"] });
    let message = "";
    await frr.vtysh("show no-such-thing").catch((e: Error) => message = e.message);
    assertMatch(message, /exited \d+/);
  },
});

Deno.test({
  name: "frr: validateFrrConfig reports vtysh --dryrun results",
  ignore: !!skip,
  async fn() {
    const good = await validateFrrConfig("router bgp 65000\n neighbor 192.0.2.1 remote-as 65001\n");
    assertEquals(good, { ok: true, code: 0, errors: [] });
    const bad = await validateFrrConfig("router bgp 65000\n bogus words\n");
    assertEquals(bad.ok, false);
    assertEquals(bad.code, 2);
    assertEquals(bad.errors.length, 1);
    assertMatch(bad.errors[0], /^line 2: % Unknown command/);
    const incomplete = await validateFrrConfig("router bgp 65000\n neighbor 192.0.2.1 remote-as\n");
    assertEquals(incomplete.code, 4);
  },
});
