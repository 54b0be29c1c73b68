/**
 * `main.ts run` under exactly the product permission flags (never --allow-all): inside a fresh
 * netns (`kernel.vrf_mode: table`, this kernel has no VRF), against real FRR running in that netns
 * and a real ovsdb-server holding the OVN NB schema. Any permission the shipped binary lacks
 * (a file outside the granted folders, /proc through Deno, a second executable, an env var)
 * makes the agent fail here.
 *
 * The flags are productPermissionFlags() with each folder root moved to a temp dir (config,
 * state, runtime, the OVSDB socket folder); vtysh stays /usr/bin/vtysh. The environment is the
 * product environment (TMPDIR in the runtime folder) and nothing else but PATH.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { isRoot, withNetns } from "../support/netns.ts";
import { startFrr } from "../support/frr.ts";
import { startOvnDb } from "../support/ovn_nb.ts";
import { shortId, waitFor } from "../support/proc.ts";
import {
  agentConfigText,
  agentRouteLines,
  httpGet,
  reap,
  status as fetchStatus,
  stopAgent,
  waitReady,
} from "../support/agent_proc.ts";
import {
  layoutFlags,
  makeLayout,
  PERMISSION_DENIED,
  removeLayout,
  spawnShippedAgent,
  writeConfigFile,
} from "./_agent.ts";

const NS_KEY = "k8s.ovn.org/namespace";

Deno.test({
  name: "ship: `run` under exactly the product flags against real FRR and OVSDB, then SIGTERM",
  ignore: !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withNetns(async (ns) => {
      const frr = await startFrr({ name: `p${shortId(6)}`, netns: ns, bgpPort: 0 });
      const nb = await startOvnDb();
      const layout = await makeLayout("vpnv4-runperm-");
      try {
        await nb.nbctl([
          "ls-add",
          "sw0",
          "--",
          "lsp-add",
          "sw0",
          "pod1",
          "--",
          "lsp-set-addresses",
          "pod1",
          "0a:00:00:00:00:01 10.244.7.5",
          "--",
          "set",
          "logical_switch_port",
          "pod1",
          `external_ids:"${NS_KEY}"=ovn-demo`,
        ]);
        await writeConfigFile(
          layout.tenants,
          "tenants:\n  - name: file-demo\n    prefixes: [10.245.0.0/24, fd00:10:245::/64]\n",
        );
        await writeConfigFile(
          layout.config,
          agentConfigText({
            pathspace: frr.name,
            sources: [
              {
                type: "ovn",
                connection: `unix:${nb.socketPath}`,
                prefix_mode: "host",
                debounce_ms: 50,
              },
              { type: "file", path: layout.tenants },
            ],
            stateFile: layout.stateFile,
            listen: "127.0.0.1:9183",
            sections: { kernel: { mpls: "auto" } },
          }),
        );
        const flags = layoutFlags(layout, { ovsdbSocketDirs: [nb.dir] });
        assert(!flags.includes("--allow-all") && !flags.includes("-A"));
        const http = { url: "http://127.0.0.1:9183", netns: ns };
        const agent = spawnShippedAgent(["run", "--config", layout.config], {
          netns: ns,
          flags,
          runtimeDir: layout.runtimeDir,
        });
        try {
          const tail = () => agent.log().slice(-3000);
          await waitReady(http, agent);
          await waitFor(async () => {
            const routes = await agentRouteLines(ns);
            return routes.some((r) => r.includes("10.244.7.5 ")) &&
              routes.some((r) => r.includes("10.245.0.0/24")) &&
              routes.some((r) => r.includes("fd00:10:245::/64"));
          }, {
            timeoutMs: 30_000,
            describe: () => `routes missing; agent output:\n${tail()}`,
          });
          // The state file was written inside the granted state folder, 0600.
          const state = JSON.parse(await Deno.readTextFile(layout.stateFile));
          const vrfs: Record<string, string> = Object.fromEntries(
            state.allocations.map((a: { tenant: string; vrf: string }) => [a.tenant, a.vrf]),
          );
          assertEquals(Object.keys(vrfs).sort(), ["file-demo", "ovn-demo"]);
          assertEquals((await Deno.stat(layout.stateFile)).mode! & 0o777, 0o600);

          let running = "";
          await waitFor(async () => {
            running = await frr.vtysh("show running-config");
            return running.includes(`router bgp 65000 vrf ${vrfs["ovn-demo"]}\n`) &&
              running.includes(`router bgp 65000 vrf ${vrfs["file-demo"]}\n`);
          }, { timeoutMs: 30_000, describe: () => `FRR blocks missing:\n${running}\n${tail()}` });
          assertStringIncludes(running, "neighbor 192.0.2.254 remote-as 65001");
          // Pods are selected by the kernel table; FRR holds the shared export policy.
          assertStringIncludes(running, "redistribute kernel route-map VPNV4-EXPORT-V4");
          assertStringIncludes(running, "ip prefix-list VPNV4-EXPORT-V4 seq 5 deny 0.0.0.0/0");

          // MPLS was checked through FFI: this kernel has none, and the reason says so (under
          // Deno's own file API the reason would be a permission error instead).
          const status = await fetchStatus(http);
          assertEquals(status.ready, true);
          const warnings = JSON.stringify(status);
          assertMatch(warnings, /mpls does not exist|platform_labels is/);
          const metrics = await httpGet(http, "/metrics");
          assertEquals(metrics.status, 200);
          assertStringIncludes(metrics.body, "vpnv4_");

          // The `status` command under the same flags.
          const cli = spawnShippedAgent(["status", "--url", http.url], {
            netns: ns,
            flags,
            runtimeDir: layout.runtimeDir,
          });
          assertEquals(await cli.finished, 0, cli.log());
          assertStringIncludes(cli.log(), "ovn-demo");

          // A change in OVN reaches the kernel (the OVSDB monitor works under the flags).
          await nb.nbctl([
            "lsp-add",
            "sw0",
            "pod2",
            "--",
            "lsp-set-addresses",
            "pod2",
            "0a:00:00:00:00:02 10.244.7.6",
            "--",
            "set",
            "logical_switch_port",
            "pod2",
            `external_ids:"${NS_KEY}"=ovn-demo`,
          ]);
          await waitFor(
            async () => (await agentRouteLines(ns)).some((r) => r.includes("10.244.7.6 ")),
            {
              timeoutMs: 30_000,
              describe: () => `OVN change not applied; agent output:\n${tail()}`,
            },
          );

          const stopped = await stopAgent(agent);
          const output = stopped.stderr;
          assertEquals(stopped.code, 0, output.slice(-3000));
          assertStringIncludes(output, "leaving routes in place");
          assert(!PERMISSION_DENIED.test(output), `a permission was refused:\n${output}`);
          // Nothing was left in the runtime folder (vtysh batches are removed).
          assertEquals([...Deno.readDirSync(layout.runtimeDir)].map((e) => e.name), []);
        } finally {
          await reap(agent);
        }
      } finally {
        await removeLayout(layout);
        await nb.stop();
        await frr.stop();
      }
    }),
});
