/**
 * Fault injection (issue #9 item 3, host side): the OVN NB ovsdb-server is SIGKILLed and stays
 * down for a while, then comes back on the same database, with a real agent process whose
 * tenants come from OVN and whose return path writes static routes into the same NB. Expected:
 * nothing is withdrawn from the kernel or FRR meanwhile, /readyz, logs and metrics report the
 * outage, a return-path change made during the outage is written after the reconnect, later NB
 * edits are followed again, and the operator's NB rows are untouched.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { ip, isRoot, withNetns } from "../support/netns.ts";
import { startFrr } from "../support/frr.ts";
import { type OvnDbInstance, startOvnDb } from "../support/ovn_nb.ts";
import { shortId, waitFor } from "../support/proc.ts";
import { recordReliability } from "../support/reliability.ts";
import {
  addOperatorFrr,
  addOperatorRoute,
  agentRoutes,
  assertOperatorFrr,
  assertOperatorRoute,
  expectedRoutes,
  frrTenantVrfs,
  metric,
  scrub,
  stateTables,
  waitLog,
  waitNotReady,
  waitOwnedNbRoutes,
  waitReady,
  withLabAgent,
} from "./_lab.ts";

const NS_KEY = "k8s.ovn.org/namespace";
const DOWN_S = 15;

async function addPort(nb: OvnDbInstance, name: string, address: string, tenant?: string) {
  const args = ["--may-exist", "ls-add", "sw0", "--", "lsp-add", "sw0", name, "--"];
  args.push("lsp-set-addresses", name, `0a:00:00:00:00:${address.split(".")[3]} ${address}`);
  if (tenant) {
    args.push("--", "set", "logical_switch_port", name, `external_ids:"${NS_KEY}"=${tenant}`);
  }
  await nb.nbctl(args);
}

/** Every NB row the agent does not own: ports, switches, routers, unowned static routes. */
async function operatorRows(nb: OvnDbInstance): Promise<string> {
  const parts: string[] = [];
  for (const table of ["Logical_Switch", "Logical_Switch_Port", "Logical_Router"]) {
    parts.push(
      await nb.nbctl(["--format=csv", "--no-headings", "--columns=_uuid,name", "find", table]),
    );
  }
  const routes = await nb.nbctl([
    "--format=csv",
    "--no-headings",
    "--data=bare",
    "--columns=_uuid,ip_prefix,nexthop,external_ids",
    "find",
    "Logical_Router_Static_Route",
  ]);
  parts.push(routes.split("\n").filter((l) => !l.includes("vpnv4-agent:owner")).sort().join("\n"));
  return parts.map((p) => p.split("\n").sort().join("\n")).join("\n--\n");
}

Deno.test({
  name: "faults: ovsdb-server killed for 15 s and restarted → nothing withdrawn, reported, resumed",
  ignore: !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withNetns(async (ns) => {
      const frr = await startFrr({ name: `o${shortId(6)}`, netns: ns, bgpPort: 0 });
      const nb = await startOvnDb();
      let monitor: Deno.ChildProcess | undefined;
      try {
        await addPort(nb, "p-demo", "10.244.0.5", "demo");
        await addPort(nb, "p-demo-b", "10.245.0.7", "demo-b");
        // Operator rows: a port without a tenant, a router with its own static route.
        await addPort(nb, "p-infra", "10.250.0.1");
        await nb.nbctl(["lr-add", "lr0"]);
        await nb.nbctl(["lr-route-add", "lr0", "192.0.2.0/24", "10.0.0.254"]);
        await addOperatorFrr(frr);
        await addOperatorRoute(ns);
        await withLabAgent(
          { frr, ns, ovn: nb.unixRemote, importNb: nb.unixRemote },
          async (lab, agent) => {
            let tenants: Record<string, string[]> = {
              demo: ["10.244.0.5/32"],
              "demo-b": ["10.245.0.7/32"],
            };
            await waitReady(lab, agent);
            let want: string[] = [];
            let seenRoutes: string[] = [];
            let seenVrfs: string[] = [];
            await waitFor(async () => {
              want = await expectedRoutes(lab, tenants).catch(() => []);
              seenRoutes = await agentRoutes(ns);
              seenVrfs = await frrTenantVrfs(frr);
              return want.length > 0 && JSON.stringify(seenRoutes) === JSON.stringify(want) &&
                JSON.stringify(seenVrfs) === '["demo","demo-b"]';
            }, {
              timeoutMs: 30_000,
              describe: () =>
                `initial apply: want ${JSON.stringify(want)}, have ${JSON.stringify(seenRoutes)} ` +
                `${JSON.stringify(seenVrfs)}\n${agent.log().slice(-4000)}`,
            });
            const demoTable = (await stateTables(lab)).get("demo")!;
            // An "imported" route (what FRR puts into the VRF table) → an owned NB static route.
            await ip(
              ns,
              "route",
              "add",
              "blackhole",
              "198.51.100.0/24",
              "table",
              `${demoTable}`,
              "proto",
              "bgp",
            );
            await waitOwnedNbRoutes(nb, agent, {
              want: ["198.51.100.0/24 100.64.0.1 demo"],
              tenant: true,
              why: "import not written",
            });
            const operatorBefore = await operatorRows(nb);
            const routesBefore = await agentRoutes(ns);
            const importErrorsBefore = await metric(lab, "vpnv4_reconcile_runs_total", {
              plane: "import",
              result: "error",
            });
            const logsBefore = agent.log().length;

            // Watch the netns for any route deletion during the outage.
            monitor = new Deno.Command("ip", {
              args: ["-n", ns, "monitor", "route"],
              stdout: "piped",
              stderr: "null",
            }).spawn();
            const pid = Number((await Deno.readTextFile(`${nb.dir}/ovsdb-server.pid`)).trim());
            Deno.kill(pid, "SIGKILL");
            const downAt = Date.now();
            const reason = await waitNotReady(lab, agent, { pattern: /ovn|OVN NB/ });
            // The tenant source itself reports the lost connection (not only the return path).
            const sourceReason = await waitNotReady(lab, agent, {
              pattern: /source ovn:.*disconnected/,
            });
            assertEquals(await metric(lab, "vpnv4_ready"), 0);
            // A return-path change while NB is down: the import plane fails and retries.
            await ip(
              ns,
              "route",
              "add",
              "blackhole",
              "203.0.113.0/24",
              "table",
              `${demoTable}`,
              "proto",
              "bgp",
            );
            await waitFor(
              async () =>
                await metric(lab, "vpnv4_reconcile_runs_total", {
                  plane: "import",
                  result: "error",
                }) > importErrorsBefore,
              { timeoutMs: 15_000, describe: () => "import errors did not grow during the outage" },
            );
            const logged = await waitLog(
              { ...agent, log: () => agent.log().slice(logsBefore) },
              /connection lost|import"? plane failed|OVN NB/i,
            );
            // Stay down DOWN_S seconds; nothing may be withdrawn meanwhile.
            while (Date.now() - downAt < DOWN_S * 1000) {
              assertEquals(await agentRoutes(ns), routesBefore);
              assertEquals(await frrTenantVrfs(frr), ["demo", "demo-b"]);
              await new Promise((r) => setTimeout(r, 1000));
            }
            await nb.restart();
            await waitReady(lab, agent);
            assert(
              await metric(lab, "vpnv4_ovsdb_reconnects_total") >= 1,
              "vpnv4_ovsdb_reconnects_total did not count the reconnection",
            );
            await waitOwnedNbRoutes(nb, agent, {
              want: ["198.51.100.0/24 100.64.0.1 demo", "203.0.113.0/24 100.64.0.1 demo"],
              tenant: true,
              why: "import after reconnect missing",
            });
            monitor.kill("SIGTERM");
            const seen = new TextDecoder().decode((await monitor.output()).stdout);
            monitor = undefined;
            const deleted = seen.split("\n").filter((l) => l.startsWith("Deleted"));
            assertEquals(deleted, [], "routes were deleted during the outage");

            // NB edits are followed again after the reconnect.
            await addPort(nb, "p-demo-c", "10.246.0.9", "demo-c");
            tenants = { ...tenants, "demo-c": ["10.246.0.9/32"] };
            await waitFor(async () => {
              want = await expectedRoutes(lab, tenants).catch(() => []);
              return want.length > 0 &&
                JSON.stringify(await agentRoutes(ns)) === JSON.stringify(want) &&
                JSON.stringify(await frrTenantVrfs(frr)) === '["demo","demo-b","demo-c"]';
            }, {
              timeoutMs: 30_000,
              describe: () => `edit after reconnect: ${agent.log().slice(-2000)}`,
            });
            const operatorAfter = await operatorRows(nb);
            assertEquals(
              operatorAfter.replace(/.*p-demo-c.*\n?/g, ""),
              operatorBefore,
              "operator NB rows changed",
            );
            const operator = await assertOperatorFrr(frr);
            await assertOperatorRoute(ns);
            assert(logged.message.length > 0);
            await recordReliability({
              id: "ovsdb-killed-host",
              kind: "fault",
              what: `OVN NB ovsdb-server SIGKILLed and kept down ${DOWN_S} s (tenants from OVN, ` +
                "return path into the same NB); a VPN route is imported meanwhile; then restarted " +
                "on the same database",
              happened:
                `/readyz 503 "${scrub(reason, lab)}" and "${
                  scrub(sourceReason, lab, { [nb.dir]: "<nb>" })
                }"; logged ` +
                `("${scrub(logged.message.replace(/"/g, ""), lab, { [nb.dir]: "<nb>" })}"); ` +
                'vpnv4_ready 0 and vpnv4_reconcile_runs_total{plane="import",result="error"} ' +
                "rose; no route deleted and FRR unchanged during the outage; after the restart " +
                "the client reconnected (vpnv4_ovsdb_reconnects_total counted it), the route imported meanwhile was written to NB, a new " +
                "port was followed and /readyz returned 200",
              lost: `nothing: ${(await agentRoutes(ns)).length} kernel routes, FRR VRF instances ` +
                `of 3 tenants and 2 owned NB static routes as desired; operator NB rows, ${operator} ` +
                "and an operator kernel route intact",
            });
          },
        );
      } finally {
        try {
          monitor?.kill("SIGKILL");
          await monitor?.status;
        } catch { /* gone */ }
        await nb.stop();
        await frr.stop();
      }
    }),
});
