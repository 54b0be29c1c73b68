/**
 * Bad input handed to a real agent process (real FRR, kernel netns, ovsdb-server), each case
 * recorded for the README reliability table: an invalid configuration, a corrupt state file,
 * invalid edits of the tenants file, and hostile OVN NB rows. After each: nothing the agent
 * must not touch was touched and what was good before is still applied.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { isRoot, withNetns } from "../support/netns.ts";
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
  atomicWrite,
  expectedRoutes,
  frrTenantVrfs,
  type Lab,
  makeLab,
  reap,
  scrub,
  startAgent,
  status,
  stopAgent,
  waitReady,
} from "../faults/_lab.ts";

const GOOD = "tenants:\n  - name: demo\n    prefixes: [10.244.0.0/24, fd00:10:244::/64]\n";

/** Runs `fn` with FRR (operator config added) and an operator route in a fresh netns. */
function withLab(
  fn: (ctx: { ns: string; frr: Awaited<ReturnType<typeof startFrr>> }) => Promise<void>,
) {
  return withNetns(async (ns) => {
    const frr = await startFrr({ name: `b${shortId(6)}`, netns: ns, bgpPort: 0 });
    try {
      await addOperatorFrr(frr);
      await addOperatorRoute(ns);
      await fn({ ns, frr });
    } finally {
      await frr.stop();
    }
  });
}

/** Runs the agent to its exit (it must refuse to start); returns exit code and log. */
async function runToExit(lab: Lab): Promise<{ code: number; stderr: string }> {
  const agent = startAgent(lab);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([
    agent.child.status.then((s) => s.code),
    new Promise<number>((r) => timer = setTimeout(() => r(-1), 60_000)),
  ]);
  clearTimeout(timer);
  await reap(agent);
  return { code, stderr: await agent.done };
}

const options = { ignore: !isRoot, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...options,
  name: "bad input: invalid configuration → exit 2 naming the field, nothing touched",
  fn: () =>
    withLab(async ({ ns, frr }) => {
      const lab = await makeLab({ frr, ns, tenants: GOOD });
      try {
        const text = await Deno.readTextFile(lab.config);
        await Deno.writeTextFile(lab.config, text.replace(/asn: 65000/, "asn: 4294967296"));
        const before = await frr.vtysh("show running-config");
        const r = await runToExit(lab);
        assertEquals(r.code, 2, r.stderr.slice(-2000));
        const line = r.stderr.split("\n").find((l) => l.includes("bgp.asn"));
        assert(line, r.stderr.slice(-2000));
        assertEquals(await frr.vtysh("show running-config"), before);
        assertEquals(await agentRoutes(ns), []);
        const stateExists = await Deno.stat(lab.state).then(() => true, () => false);
        assert(!stateExists, "a state file was written");
        const operator = await assertOperatorFrr(frr);
        await assertOperatorRoute(ns);
        await recordReliability({
          id: "bad-config",
          kind: "bad input",
          what: "configuration with bgp.asn: 4294967296 (out of range)",
          happened: `exit code 2 before touching anything; the error names the field: "${
            scrub(line.replace(/^.*?(bgp\.asn)/, "$1"), lab).slice(0, 160)
          }"`,
          lost: `nothing: FRR running-config byte for byte unchanged (${operator}), no kernel ` +
            "route added or removed (operator route intact), no state file written",
        });
      } finally {
        await Deno.remove(lab.dir, { recursive: true });
      }
    }),
});

Deno.test({
  ...options,
  name: "bad input: corrupt state file → exit 2 naming the position, file kept, nothing touched",
  fn: () =>
    withLab(async ({ ns, frr }) => {
      const lab = await makeLab({ frr, ns, tenants: GOOD });
      try {
        await Deno.mkdir(`${lab.dir}/state`);
        const corrupt = '{ "version": 1, "allocations": [ { "tenant": "demo", "vrf": "demo", ' +
          '"table": 2001, "allocated_at": "2026-01-01T00:00:00Z" }, { "tenant": ';
        await Deno.writeTextFile(lab.state, corrupt);
        const before = await frr.vtysh("show running-config");
        const r = await runToExit(lab);
        assertEquals(r.code, 2, r.stderr.slice(-2000));
        const line = r.stderr.split("\n").find((l) => /bad JSON at position/.test(l));
        assert(line, r.stderr.slice(-2000));
        assertEquals(await Deno.readTextFile(lab.state), corrupt, "state file was changed");
        assertEquals(await frr.vtysh("show running-config"), before);
        assertEquals(await agentRoutes(ns), []);
        const operator = await assertOperatorFrr(frr);
        await assertOperatorRoute(ns);
        await recordReliability({
          id: "bad-state-file",
          kind: "bad input",
          what: "state file cut off in the middle of an entry (truncated JSON)",
          happened: `exit code 2 before touching anything: "${
            scrub(line.replace(/^.*?(allocation state file)/, "$1"), lab).replace(/"/g, "'")
              .slice(0, 200)
          }"`,
          lost: "nothing: the state file left byte for byte as it was (for the operator to " +
            `repair), FRR running-config unchanged (${operator}), no kernel route touched`,
        });
      } finally {
        await Deno.remove(lab.dir, { recursive: true });
      }
    }),
});

Deno.test({
  ...options,
  name: "bad input: invalid tenants file edits → last good set kept, error reported, recovered",
  fn: () =>
    withLab(async ({ ns, frr }) => {
      const lab = await makeLab({ frr, ns, tenants: GOOD });
      const agent = startAgent(lab);
      try {
        const tenants = { demo: ["10.244.0.0/24", "fd00:10:244::/64"] };
        await waitReady(lab, agent);
        let want: string[] = [];
        await waitFor(async () => {
          want = await expectedRoutes(lab, tenants).catch(() => []);
          return want.length > 0 &&
            JSON.stringify(await agentRoutes(ns)) === JSON.stringify(want) &&
            JSON.stringify(await frrTenantVrfs(frr)) === '["demo"]';
        }, { timeoutMs: 30_000, describe: () => `initial apply: ${agent.log().slice(-2000)}` });
        const edits: Array<[string, string]> = [
          ["YAML syntax error", "tenants:\n  - name: demo\n    prefixes: [10.244.0.0/24\n"],
          ["unknown field", "tenants:\n  - name: demo\n    prefix: [10.244.0.0/24]\n"],
          ["invalid tenant name", 'tenants:\n  - name: "demo; rm -rf /"\n    prefixes: []\n'],
          ["not a list", "tenants: demo\n"],
        ];
        const good = want.length;
        const errors: string[] = [];
        for (const [what, text] of edits) {
          await atomicWrite(lab.tenants, text);
          let error = "";
          await waitFor(async () => {
            const st = await status(lab);
            const src = (st.sources as Array<{ error?: string }>)[0];
            error = src.error ?? "";
            return error !== "" && !errors.includes(error);
          }, {
            timeoutMs: 15_000,
            describe: () =>
              `${what}: no source error in /status; log:\n${agent.log().slice(-2000)}`,
          });
          errors.push(error);
          assertStringIncludes(error, "tenants.yaml");
          assertEquals(await agentRoutes(ns), want, `${what}: routes changed`);
          assertEquals(await frrTenantVrfs(frr), ["demo"], `${what}: FRR changed`);
        }
        await new Promise((r) => setTimeout(r, 1000));
        assertEquals(await agentRoutes(ns), want);
        // A valid edit is taken again.
        await atomicWrite(lab.tenants, GOOD + "  - name: demo-b\n    prefixes: [10.245.0.0/24]\n");
        const next = { ...tenants, "demo-b": ["10.245.0.0/24"] };
        await waitFor(async () => {
          want = await expectedRoutes(lab, next).catch(() => []);
          return want.length > 0 &&
            JSON.stringify(await agentRoutes(ns)) === JSON.stringify(want) &&
            JSON.stringify(await frrTenantVrfs(frr)) === '["demo","demo-b"]';
        }, { timeoutMs: 30_000, describe: () => `valid edit not applied` });
        const operator = await assertOperatorFrr(frr);
        await assertOperatorRoute(ns);
        await recordReliability({
          id: "bad-tenants-file",
          kind: "bad input",
          what: `tenants file edited into ${edits.length} invalid forms in turn (${
            edits.map(([w]) => w).join(", ")
          })`,
          happened: "each edit refused, the last good tenant set kept applied, the error shown " +
            `in /status (e.g. "${scrub(errors[0], lab).replace(/"/g, "'").slice(0, 160)}"); ` +
            "the next valid edit was applied",
          lost: `nothing: the ${good} routes of the good set stayed installed and ` +
            `its FRR VRF instance stayed throughout; ${operator} and an operator kernel route ` +
            "intact",
        });
        const stopped = await stopAgent(agent);
        assertEquals(stopped.code, 0);
      } finally {
        await reap(agent);
        await Deno.remove(lab.dir, { recursive: true });
      }
    }),
});

const NS_KEY = "k8s.ovn.org/namespace";

async function port(nb: OvnDbInstance, name: string, addresses: string, tenant?: string) {
  const args = ["--may-exist", "ls-add", "sw0", "--", "lsp-add", "sw0", name];
  args.push("--", "lsp-set-addresses", name, addresses);
  if (tenant !== undefined) {
    args.push("--", "set", "logical_switch_port", name, `external_ids:"${NS_KEY}"=${tenant}`);
  }
  await nb.nbctl(args);
}

Deno.test({
  ...options,
  name: "bad input: hostile OVN NB rows → skipped and reported, good rows applied",
  fn: () =>
    withLab(async ({ ns, frr }) => {
      await using nb = await startOvnDb();
      await port(nb, "good", "0a:00:00:00:00:01 10.244.0.5", "demo");
      const hostile: Array<[string, string, string]> = [
        ["newline in the tenant name", "0a:00:00:00:00:02 10.244.0.6", '"demo\\nrouter bgp 1"'],
        ["FRR comment and command in the name", "0a:00:00:00:00:03 10.244.0.7", '"x ! exit"'],
        ["300-character tenant name", "0a:00:00:00:00:04 10.244.0.8", "a".repeat(300)],
        ["invalid address", "0a:00:00:00:00:05 10.244.0.999", "demo-x"],
        ["address outside the policy", "0a:00:00:00:00:06 8.8.8.8", "demo-y"],
        ["default route as an address", "0a:00:00:00:00:07 0.0.0.0", "demo-z"],
      ];
      let i = 0;
      for (const [, addresses, tenant] of hostile) await port(nb, `h${i++}`, addresses, tenant);
      const lab = await makeLab({ frr, ns, ovn: nb.unixRemote });
      const agent = startAgent(lab);
      try {
        await waitReady(lab, agent);
        let want: string[] = [];
        await waitFor(async () => {
          want = await expectedRoutes(lab, { demo: ["10.244.0.5/32"] }).catch(() => []);
          return want.length > 0 &&
            JSON.stringify(await agentRoutes(ns)) === JSON.stringify(want) &&
            JSON.stringify(await frrTenantVrfs(frr)) === '["demo"]';
        }, {
          timeoutMs: 30_000,
          describe: () => `good row not applied: ${agent.log().slice(-2000)}`,
        });
        await new Promise((r) => setTimeout(r, 1500));
        assertEquals(await agentRoutes(ns), want, "a hostile row reached the kernel");
        const running = await frr.vtysh("show running-config");
        assertEquals(await frrTenantVrfs(frr), ["demo"]);
        assert(!running.includes("router bgp 1\n"), running);
        assert(!/\bx ! exit|aaaaaaaaaa|demo-[xyz]/.test(running), running);
        const st = await status(lab);
        const rejected = st.rejected as Array<{ reason: string }>;
        assert(rejected.length >= hostile.length, JSON.stringify(rejected));
        const operator = await assertOperatorFrr(frr);
        await assertOperatorRoute(ns);
        const nbRows = await nb.nbctl(["--columns=name", "find", "Logical_Switch_Port"]);
        assertEquals(nbRows.match(/^name/gm)?.length, hostile.length + 1, "NB rows changed");
        assertMatch(JSON.stringify(rejected), /name|address|prefix|allowed/i);
        await recordReliability({
          id: "hostile-ovn-rows",
          kind: "bad input",
          what: `${hostile.length} hostile Logical_Switch_Port rows next to a good one (${
            hostile.map(([w]) => w).join(", ")
          })`,
          happened: `every hostile row skipped and listed in /status "rejected" ` +
            `(${rejected.length} entries); no injected text reached vtysh; the good port's ` +
            "tenant applied and /readyz 200",
          lost: `nothing: the good tenant's ${want.length} route and FRR VRF instance applied; ` +
            `NB rows not modified; ${operator} and an operator kernel route intact`,
        });
        const stopped = await stopAgent(agent);
        assertEquals(stopped.code, 0);
      } finally {
        await reap(agent);
        await Deno.remove(lab.dir, { recursive: true });
      }
    }),
});
