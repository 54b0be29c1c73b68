/**
 * Fault injection (issue #9 item 3, host side): the state file's filesystem is full (a tiny
 * tmpfs filled up) or read-only (remounted `ro`) exactly when the agent must persist a new
 * allocation. Expected: the old state file is kept byte for byte, nothing is applied with an
 * allocation that could not be persisted (a crash then could reshuffle tables), the error is in
 * /readyz, the logs and `vpnv4_allocation_errors_total`, and everything is applied once the
 * filesystem is writable again.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { isRoot, withNetns } from "../support/netns.ts";
import { run } from "../support/netns.ts";
import { startFrr } from "../support/frr.ts";
import { shortId, waitFor } from "../support/proc.ts";
import { recordReliability } from "../support/reliability.ts";
import {
  addOperatorFrr,
  addOperatorRoute,
  agentRoutes,
  assertOperatorFrr,
  assertOperatorRoute,
  atomicWrite,
  frrTenantVrfs,
  metric,
  scrub,
  stateTables,
  type Tenants,
  tenantsYaml,
  waitApplied,
  waitLog,
  waitNotReady,
  waitReady,
  withLabAgent,
} from "./_lab.ts";

/** Fills the filesystem of `dir` with a file until ENOSPC; returns the filler's path. */
async function fill(dir: string): Promise<string> {
  const path = `${dir}/filler`;
  const f = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(4096).fill(0x55);
  try {
    for (;;) await f.write(chunk);
  } catch (e) {
    if (!/No space left/i.test(String(e))) throw e;
  } finally {
    f.close();
  }
  return path;
}

/** Temp files the atomic writer might have left behind. */
async function leftovers(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".tmp")) out.push(e.name);
  return out;
}

Deno.test({
  name: "faults: state file filesystem full, then read-only → old state kept, reported, recovers",
  ignore: !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withNetns(async (ns) => {
      const frr = await startFrr({ name: `s${shortId(6)}`, netns: ns, bgpPort: 0 });
      const stateDir = await Deno.makeTempDir({ prefix: "vpnv4-statefs-" });
      let mounted = false;
      try {
        await run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", stateDir]);
        mounted = true;
        await addOperatorFrr(frr);
        await addOperatorRoute(ns);
        let tenants: Tenants = { demo: ["10.244.0.0/24", "fd00:10:244::/64"] };
        await withLabAgent(
          { frr, ns, tenants: tenantsYaml(tenants), stateDir },
          async (lab, agent) => {
            await waitReady(lab, agent);
            await waitApplied(lab, tenants, { why: "initial apply" });

            const phases: Array<{
              id: string;
              what: string;
              reason: RegExp;
              error: RegExp;
              inject: () => Promise<void>;
              repair: () => Promise<void>;
              add: Tenants;
            }> = [
              {
                id: "state-disk-full",
                what: "the state file's filesystem (a 64 KiB tmpfs) is full when a new tenant " +
                  "must be allocated; then space is freed",
                reason: /allocation failed: .*No space left on device/,
                error: /No space left on device/,
                inject: async () => {
                  await fill(stateDir);
                },
                repair: async () => {
                  await Deno.remove(`${stateDir}/filler`);
                },
                add: { "demo-full": ["10.245.0.0/24"] },
              },
              {
                id: "state-read-only",
                what: "the state file's filesystem is remounted read-only when a new tenant " +
                  "must be allocated; then remounted read-write",
                reason: /allocation failed: .*Read-only file system/,
                error: /Read-only file system/,
                inject: async () => {
                  await run(["mount", "-o", "remount,ro", stateDir]);
                },
                repair: async () => {
                  await run(["mount", "-o", "remount,rw", stateDir]);
                },
                add: { "demo-ro": ["10.246.0.0/24"] },
              },
            ];
            for (const phase of phases) {
              const before = await Deno.readFile(lab.state);
              const tablesBefore = await stateTables(lab);
              const routesBefore = await agentRoutes(ns);
              const errorsBefore = await metric(lab, "vpnv4_allocation_errors_total");
              const logsBefore = agent.log().length;
              await phase.inject();
              const next: Tenants = {
                ...tenants,
                demo: [...tenants.demo, `10.244.${Object.keys(tenants).length}.0/24`],
                ...phase.add,
              };
              await atomicWrite(lab.tenants, tenantsYaml(next));
              const reason = await waitNotReady(lab, agent, { pattern: phase.reason });
              await waitFor(
                async () => await metric(lab, "vpnv4_allocation_errors_total") > errorsBefore,
                { timeoutMs: 15_000, describe: () => "vpnv4_allocation_errors_total did not grow" },
              );
              const logged = await waitLog(
                { ...agent, log: () => agent.log().slice(logsBefore) },
                /allocation failed, nothing applied/,
              );
              assert(phase.error.test(logged.message), logged.message);
              // Old state kept byte for byte, no temp file left, nothing applied meanwhile.
              assertEquals(await Deno.readFile(lab.state), before, "state file changed");
              assertEquals(await leftovers(stateDir), []);
              await new Promise((r) => setTimeout(r, 1500)); // a few more failing rounds
              assertEquals(await Deno.readFile(lab.state), before, "state file changed");
              assertEquals(await agentRoutes(ns), routesBefore);
              assertEquals(await frrTenantVrfs(frr), Object.keys(tenants).sort());

              await phase.repair();
              tenants = next;
              const routes = await waitApplied(lab, tenants, { why: `${phase.id}: after repair` });
              await waitReady(lab, agent);
              const tables = await stateTables(lab);
              for (const [name, table] of tablesBefore) assertEquals(tables.get(name), table, name);
              assertEquals(await leftovers(stateDir), []);
              const operator = await assertOperatorFrr(frr);
              await assertOperatorRoute(ns);
              await recordReliability({
                id: phase.id,
                kind: "fault",
                what: phase.what,
                happened:
                  `/readyz 503 "${
                    scrub(reason, lab, { [stateDir]: "<state-dir>" })
                  }"; error logged ("allocation ` +
                  `failed, nothing applied"); vpnv4_allocation_errors_total rose; the state file ` +
                  "stayed byte for byte the old one (no temp file left) and nothing was applied " +
                  "with the unsaved allocation; retried every reconcile.max_backoff_s and applied " +
                  "everything once writable, /readyz 200",
                lost: `nothing: ${routes.length} kernel routes and the FRR VRF instances of ` +
                  `${Object.keys(tenants).length} tenants as desired, the ${tablesBefore.size} ` +
                  `earlier allocations kept their tables; ${operator} and an operator kernel ` +
                  "route intact",
              });
            }
          },
        );
      } finally {
        if (mounted) await run(["umount", "-l", stateDir], { allowFail: true });
        await Deno.remove(stateDir, { recursive: true }).catch(() => {});
        await frr.stop();
      }
    }),
});
