/**
 * Fault injection (issue #9 item 3, host side): vtysh hanging, failing and answering garbage,
 * with a real agent process, real FRR and a real kernel netns. `frr.vtysh` points at a wrapper
 * that misbehaves while a flag file says so and otherwise execs the real vtysh with its
 * arguments. After each fault: /readyz, logs and /metrics reported it, the kernel plane went on,
 * and once vtysh works again the kernel and FRR are exactly right and the operator's FRR
 * configuration and routes are untouched.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { isRoot, withNetns } from "../support/netns.ts";
import { startFrr } from "../support/frr.ts";
import { shortId, waitFor } from "../support/proc.ts";
import { recordReliability } from "../support/reliability.ts";
import {
  addOperatorFrr,
  addOperatorRoute,
  assertOperatorFrr,
  assertOperatorRoute,
  atomicWrite,
  frrTenantVrfs,
  metric,
  scrub,
  type Tenants,
  tenantsYaml,
  waitApplied,
  waitLog,
  waitNotReady,
  waitReady,
  withLabAgent,
} from "./_lab.ts";

const TIMEOUT_MS = 1500;

/** The wrapper: `hang` (pid recorded, then sleeps), `fail` (exit 1), `garbage` (exit 0). */
function wrapperScript(dir: string): string {
  return `#!/bin/sh
mode=$(cat '${dir}/mode' 2>/dev/null)
case "$mode" in
  hang) echo $$ >> '${dir}/hung.pids'; exec sleep 600 ;;
  fail) echo "vtysh: failed to connect to any daemons (injected)" >&2; exit 1 ;;
  garbage) printf '\\001\\002 garbage \\377 {{{\\n%% not vtysh output\\n'; exit 0 ;;
esac
exec /usr/bin/vtysh "$@"
`;
}

/** Printable form of an observed text (the garbage mode puts control bytes into messages). */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, "?");
}

interface Phase {
  id: string;
  mode: "hang" | "fail" | "garbage";
  what: string;
  reason: RegExp;
  /** What the error log must say. */
  logged: RegExp;
  /** The tenant set written while vtysh misbehaves. */
  during: Tenants;
}

Deno.test({
  name: "faults: vtysh hangs, fails, answers garbage → reported, kernel goes on, FRR recovers",
  ignore: !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withNetns(async (ns) => {
      const frr = await startFrr({ name: `v${shortId(6)}`, netns: ns, bgpPort: 0 });
      const wrapDir = await Deno.makeTempDir({ prefix: "vpnv4-vtysh-wrap-" });
      try {
        await Deno.writeTextFile(`${wrapDir}/vtysh`, wrapperScript(wrapDir), { mode: 0o755 });
        await addOperatorFrr(frr);
        await addOperatorRoute(ns);
        let tenants: Tenants = {
          demo: ["10.244.0.0/24", "fd00:10:244::/64"],
          "demo-b": ["10.245.0.0/24"],
        };
        await withLabAgent({
          frr,
          ns,
          tenants: tenantsYaml(tenants),
          frrSection: { vtysh: `${wrapDir}/vtysh`, timeout_ms: TIMEOUT_MS },
        }, async (lab, agent) => {
          await waitReady(lab, agent);
          await waitApplied(lab, tenants, { why: "initial apply", frr: false });
          await waitApplied(lab, tenants, { why: "initial apply", kernel: false });

          const phases: Phase[] = [
            {
              id: "vtysh-hang",
              mode: "hang",
              what: `vtysh hangs on every call (frr.timeout_ms ${TIMEOUT_MS}); meanwhile a ` +
                "tenant is added and another gains a prefix; then vtysh works again",
              reason: new RegExp(`did not finish within ${TIMEOUT_MS} ms and was killed`),
              logged: /did not finish within/,
              during: {
                ...tenants,
                demo: [...tenants.demo, "10.244.1.0/24"],
                "demo-c": [
                  "10.246.0.0/24",
                ],
              },
            },
            {
              id: "vtysh-fail",
              mode: "fail",
              what: "vtysh exits 1 with an error on every call; meanwhile a tenant is removed; " +
                "then vtysh works again",
              reason: /exit(ed)? 1\b.*failed to connect to any daemons \(injected\)/,
              logged: /\(injected\)/,
              during: {
                demo: ["10.244.0.0/24", "10.244.1.0/24", "fd00:10:244::/64"],
                "demo-c": [
                  "10.246.0.0/24",
                ],
              },
            },
            {
              id: "vtysh-garbage",
              mode: "garbage",
              what: "vtysh exits 0 but prints garbage instead of FRR's output; meanwhile a " +
                "tenant is added; then vtysh works again",
              reason: /^(frr plane unusable|FRR unreachable): /,
              logged: /garbage/,
              during: {
                demo: ["10.244.0.0/24", "10.244.1.0/24", "fd00:10:244::/64"],
                "demo-c": ["10.246.0.0/24"],
                "demo-d": ["10.247.0.0/24"],
              },
            },
          ];
          for (const phase of phases) {
            const errorsBefore = await metric(lab, "vpnv4_apply_errors_total", { plane: "frr" });
            const runsBefore = await metric(lab, "vpnv4_reconcile_runs_total", {
              plane: "frr",
              result: "error",
            });
            const logsBefore = agent.log().length;
            await Deno.writeTextFile(`${wrapDir}/mode`, phase.mode);
            const reason = await waitNotReady(lab, agent, { pattern: phase.reason });
            await waitFor(
              async () =>
                await metric(lab, "vpnv4_apply_errors_total", { plane: "frr" }) > errorsBefore,
              { timeoutMs: 15_000, describe: () => "apply_errors_total{plane=frr} did not grow" },
            );
            const runsDuring = await metric(lab, "vpnv4_reconcile_runs_total", {
              plane: "frr",
              result: "error",
            });
            assert(runsDuring > runsBefore, "reconcile_runs_total{frr,error} did not grow");
            const logged = await waitLog(
              { ...agent, log: () => agent.log().slice(logsBefore) },
              /"?frr"? plane failed/,
            );
            assert(phase.logged.test(logged.message), JSON.stringify(logged));

            // The kernel plane is not blocked by a broken FRR: the edit reaches the kernel.
            await atomicWrite(lab.tenants, tenantsYaml(phase.during));
            const routesDuring = await waitApplied(lab, phase.during, {
              why: `${phase.id}: kernel`,
              frr: false,
            });
            // …and FRR did not get it (vtysh is broken): still the previous VRF set.
            assertEquals(await frrTenantVrfs(frr), Object.keys(tenants).sort());

            // vtysh works again: FRR catches up, readiness comes back.
            await Deno.remove(`${wrapDir}/mode`);
            await waitApplied(lab, phase.during, { why: `${phase.id}: recovery`, kernel: false });
            await waitReady(lab, agent);
            tenants = phase.during;
            const routes = await waitApplied(lab, tenants, {
              why: `${phase.id}: after recovery`,
              frr: false,
            });
            assertEquals(routes, routesDuring);
            const operator = await assertOperatorFrr(frr);
            await assertOperatorRoute(ns);
            if (phase.mode === "hang") {
              // Every hung vtysh was killed by the agent's deadline.
              const pids = (await Deno.readTextFile(`${wrapDir}/hung.pids`)).trim().split("\n");
              assert(pids.length > 0);
              // (the last one may still be within its deadline when vtysh was repaired)
              let alive: string[] = [];
              await waitFor(async () => {
                alive = [];
                for (const pid of pids) {
                  if (await Deno.stat(`/proc/${pid}`).then(() => true, () => false)) {
                    alive.push(pid);
                  }
                }
                return alive.length === 0;
              }, {
                timeoutMs: TIMEOUT_MS * 4,
                describe: () => `hung vtysh still running: ${alive.join(" ")}`,
              });
            }
            await recordReliability({
              id: phase.id,
              kind: "fault",
              what: phase.what,
              happened:
                `/readyz 503 "${
                  printable(scrub(reason, lab, { [wrapDir]: "<wrapper>" }))
                }"; error logged ` +
                `("frr plane failed", retried with backoff); vpnv4_apply_errors_total{plane="frr"} ` +
                `and vpnv4_reconcile_runs_total{plane="frr",result="error"} rose; the kernel ` +
                `plane applied the edit meanwhile` +
                (phase.mode === "hang" ? "; every hung vtysh was killed" : "") +
                "; FRR caught up and /readyz returned 200 once vtysh worked",
              lost: `nothing: ${routes.length} kernel routes and the FRR VRF instances of ` +
                `${Object.keys(tenants).length} tenants exactly as desired; ${operator} and an ` +
                "operator kernel route intact",
            });
          }
        });
      } finally {
        await Deno.remove(wrapDir, { recursive: true }).catch(() => {});
        await frr.stop();
      }
    }),
});
