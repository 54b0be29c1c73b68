/**
 * `run --upstream-config` behaviour: the agent started from a converted upstream INI drives a
 * real FRR (own pathspace, in a fresh netns) with the INI's ASN and router id, and leaves the
 * operator's frr.conf neighbors alone (upstream keeps them there). Real ovsdb-servers hold the
 * OVS, OVN SB and OVN NB schemas the INI points at.
 */
import { assert, assertStringIncludes } from "../support/assert.ts";
import { withNetns } from "../support/netns.ts";
import { startFrr } from "../support/frr.ts";
import { startOvnDb } from "../support/ovn_nb.ts";
import { waitFor } from "../support/proc.ts";
import { Agent } from "../../src/agent/agent.ts";
import { runConfigSource } from "../../src/cli/convert.ts";

const OPERATOR_FRR = [
  "router bgp 64999",
  " neighbor 192.0.2.254 remote-as 64999",
  " neighbor 192.0.2.254 description operator-tor",
  "exit",
  "",
].join("\n");

Deno.test({
  name: "run --upstream-config: converted INI drives FRR, operator neighbors stay",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withNetns(async (ns) => {
      const dir = await Deno.makeTempDir({ prefix: "vpnv4-upstream-run-" });
      await using frr = await startFrr({ netns: ns, config: OPERATOR_FRR, bgpPort: 0 });
      await using ovs = await startOvnDb({ schema: "/usr/share/openvswitch/vswitch.ovsschema" });
      await using sb = await startOvnDb({ schema: "sb" });
      await using nb = await startOvnDb({ schema: "nb" });
      await ovs.client([
        "transact",
        "{remote}",
        JSON.stringify([
          "Open_vSwitch",
          {
            op: "insert",
            table: "Open_vSwitch",
            row: { external_ids: ["map", [["system-id", "chassis-1"]]] },
          },
        ]),
      ]);
      const iniPath = `${dir}/bgp-agent.conf`;
      await Deno.writeTextFile(
        iniPath,
        [
          "[DEFAULT]",
          "driver = ovn_bgp_driver",
          "bgp_AS = 64999",
          "bgp_router_id = 192.0.2.10",
          "reconcile_interval = 30",
          `ovsdb_connection = ${ovs.unixRemote}`,
          "[ovn]",
          `ovn_sb_connection = ${sb.unixRemote}`,
          `ovn_nb_connection = ${nb.unixRemote}`,
          "",
        ].join("\n"),
      );
      const source = runConfigSource({ upstreamConfig: iniPath });
      // Test-only placement (FRR pathspace, state file, no MPLS check): everything else is
      // what the INI converted to.
      const agent = await Agent.start({
        configPath: source.configPath,
        loadConfig: async (path) => {
          const config = await source.loadConfig!(path);
          config.frr.pathspace = frr.name;
          config.allocation.state_file = `${dir}/state.json`;
          config.kernel.mpls = "off";
          return config;
        },
        netns: ns,
      });
      try {
        assert(agent.config.expose.enabled);
        await waitFor(async () => {
          const running = await frr.vtysh("show running-config");
          return running.includes("bgp router-id 192.0.2.10");
        }, {
          timeoutMs: 60000,
          describe: () => `FRR never got the router id:\n${JSON.stringify(agent.status())}`,
        });
        const running = await frr.vtysh("show running-config");
        assertStringIncludes(running, "router bgp 64999");
        assertStringIncludes(running, "neighbor 192.0.2.254 remote-as 64999");
        assertStringIncludes(running, "neighbor 192.0.2.254 description operator-tor");
        // SIGHUP path: the INI is converted again; a broken INI keeps the running config.
        await Deno.writeTextFile(iniPath, "[DEFAULT]\ndriver = ovn_evpn_driver\n");
        assert(!(await agent.reload()), "reload of an unconvertible INI must fail");
        assert(agent.config.expose.enabled);
      } finally {
        await agent.stop();
        await Deno.remove(dir, { recursive: true });
      }
      const after = await frr.vtysh("show running-config");
      assertStringIncludes(after, "neighbor 192.0.2.254 description operator-tor");
    }),
});
