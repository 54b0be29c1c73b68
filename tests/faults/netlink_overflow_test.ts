/**
 * Fault injection (issue #9 item 3, host side): the agent's netlink route monitor overflows
 * (ENOBUFS). A flood of route changes in the managed netns — noise in a table the agent does
 * not use, with two "imported" VPN routes (proto bgp, what FRR writes) in a tenant's table in
 * the middle of it — fills the monitor socket's receive buffer, so the kernel drops events.
 * Expected: the agent notices the overrun, resyncs the return path from a fresh dump (the
 * periodic full resync is an hour away here), and the NB static routes are exactly the imported
 * routes; the overrun shows in logs, /status and `vpnv4_netlink_monitor_overflows_total`.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { ip, isRoot, run, withNetns } from "../support/netns.ts";
import { startFrr } from "../support/frr.ts";
import { startOvnDb } from "../support/ovn_nb.ts";
import { shortId, waitFor } from "../support/proc.ts";
import { recordReliability } from "../support/reliability.ts";
import { MONITOR_RCVBUF_ENV } from "../../src/kernel/plane.ts";
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
  status,
  waitLog,
  waitOwnedNbRoutes,
  waitReady,
  withLabAgent,
} from "./_lab.ts";

/** Route changes in the flood (adds, then deletes, of NOISE/2 routes). */
const NOISE = 200_000;
const NOISE_TABLE = 3100;

Deno.test({
  name: "faults: route monitor overflow (ENOBUFS) during a route flood → return path resynced",
  ignore: !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withNetns(async (ns) => {
      const frr = await startFrr({ name: `n${shortId(6)}`, netns: ns, bgpPort: 0 });
      const nb = await startOvnDb();
      try {
        await nb.nbctl(["lr-add", "lr0"]);
        await nb.nbctl(["lr-route-add", "lr0", "192.0.2.0/24", "10.0.0.254"]);
        const operatorRoute = await nb.nbctl(["lr-route-list", "lr0"]);
        await addOperatorFrr(frr);
        await addOperatorRoute(ns);
        const tenants = { demo: ["10.244.0.0/24", "fd00:10:244::/64"] };
        await withLabAgent({
          frr,
          ns,
          tenants: "tenants:\n  - name: demo\n    prefixes: [10.244.0.0/24, fd00:10:244::/64]\n",
          importNb: nb.unixRemote,
          // 16 KiB (the kernel doubles it) instead of 8 MiB, which a flood here never fills.
          env: { [MONITOR_RCVBUF_ENV]: "16384" },
        }, async (lab, agent) => {
          await waitReady(lab, agent);
          const table = (await stateTables(lab)).get("demo")!;
          const overflowsBefore = await metric(lab, "vpnv4_netlink_monitor_overflows_total");
          assertEquals(overflowsBefore, 0);

          // The flood: NOISE/2 adds, the two imported routes, NOISE/2 deletes, in one batch.
          const lines: string[] = [];
          const half = NOISE / 2;
          const noise = (i: number) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
          for (let i = 0; i < half; i++) {
            lines.push(`route add blackhole ${noise(i)} table ${NOISE_TABLE}`);
          }
          lines.push(`route add blackhole 198.51.100.0/24 table ${table} proto bgp`);
          lines.push(`route add blackhole 203.0.113.0/24 table ${table} proto bgp`);
          for (let i = 0; i < half; i++) {
            lines.push(`route del blackhole ${noise(i)} table ${NOISE_TABLE}`);
          }
          const batch = `${lab.dir}/flood.batch`;
          await Deno.writeTextFile(batch, lines.join("\n") + "\n");
          await run(["ip", "-n", ns, "-batch", batch]);

          await waitFor(
            async () => await metric(lab, "vpnv4_netlink_monitor_overflows_total") > 0,
            {
              timeoutMs: 30_000,
              describe: () => `no overflow seen after ${NOISE} route changes`,
            },
          );
          const overflows = await metric(lab, "vpnv4_netlink_monitor_overflows_total");
          const warned = await waitLog(agent, /route monitor lost events/);
          await waitOwnedNbRoutes(nb, agent, {
            want: ["198.51.100.0/24 100.64.0.1", "203.0.113.0/24 100.64.0.1"],
            why: "return path not resynced",
          });
          await waitFor(
            () => agent.log().includes("return path resynced after lost route monitor events"),
            { timeoutMs: 15_000, describe: () => "no resync logged" },
          );
          const st = await status(lab);
          const importPlane = (st.planes as Array<{ name: string; warnings: string[] }>)
            .find((p) => p.name === "import")!;
          const warning = importPlane.warnings.find((w) => w.startsWith("route monitor lost"));
          assert(warning, JSON.stringify(importPlane));
          await waitReady(lab, agent);

          // Kernel: the agent's routes exactly as desired, the flood's noise all gone again.
          const routes = await agentRoutes(ns);
          assertEquals(routes, await expectedRoutes(lab, tenants));
          assertEquals(await ip(ns, "route", "show", "table", `${NOISE_TABLE}`), "");
          assertEquals(await frrTenantVrfs(frr), ["demo"]);
          assertEquals(
            await nb.nbctl(["lr-route-list", "lr0"]).then((t) =>
              t.split("\n").filter((l) => l.includes("10.0.0.254")).join()
            ),
            operatorRoute.split("\n").filter((l) => l.includes("10.0.0.254")).join(),
          );
          const operator = await assertOperatorFrr(frr);
          await assertOperatorRoute(ns);
          await recordReliability({
            id: "netlink-monitor-enobufs",
            kind: "fault",
            what: `${NOISE} route changes flooded into the managed netns in one batch, with ` +
              "two imported VPN routes (proto bgp) in a tenant table in the middle; the route " +
              "monitor's receive buffer (shrunk to 16 KiB by VPNV4_NETLINK_MONITOR_RCVBUF) overruns " +
              "(ENOBUFS) and events are dropped",
            happened: `logged ("${scrub(warned.message, lab)}"); ` +
              "vpnv4_netlink_monitor_overflows_total rose; /status import plane warning " +
              `"${
                scrub(
                  warning.replace(/last at \S+;/, "last at <time>;").replace(
                    /\d+ time\(s\)/,
                    "N time(s)",
                  ),
                  lab,
                )
              }"; the return path was re-read from a fresh dump ` +
              "(periodic resync an hour away) and both imported routes reached NB; /readyz 200",
            lost: `nothing: both imported routes written as owned NB static routes, ` +
              `${routes.length} kernel routes and the FRR VRF instance of 1 tenant as desired; ` +
              `operator NB static route, ${operator} and an operator kernel route intact`,
          });
          assert(overflows > 0);
        });
      } finally {
        await nb.stop();
        await frr.stop();
      }
    }),
});
