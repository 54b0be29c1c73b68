/**
 * FRR apply benchmark against a real FRR 8.4 (private pathspace, no BGP listener):
 *
 * 1. initial apply of N tenants (default 1,000): this agent (a full apply from an empty FRR)
 *    vs. `vtysh -f` of the same rendered file (`render` output) into a freshly restarted FRR.
 *    The agent's batch has the same lines except `exit` after route-maps, which in FRR 8.4
 *    commits the pending configuration each time (quadratic in the tenant count), and goes to
 *    bgpd alone (`vtysh -d bgpd`);
 * 2. one-tenant change with N tenants configured (one tenant added and one removed): this
 *    agent's apply as the reconcile loop runs it on a source change (FrrApplier from its cache,
 *    no running-config read) vs. `frr-reload.py --reload` of the complete new file (Debian
 *    package frr-pythontools), alternating, `--rounds` times each; medians;
 * 3. the same one-tenant change of the agent with `--small` tenants (default 100) configured,
 *    to show whether its cost grows with the number of unchanged tenants.
 *
 * After every frr-reload.py run the agent's diff against a fresh read must be empty (both
 * reached the same state), and so after every agent change. Before every timed run FRR is
 * let settle: `--settle-ms` (default 6000) and then one `show modules` to bgpd, which returns
 * once bgpd is idle. FRR 8.4 processes changed route-maps and prefix-lists 5 s after a
 * change (`bgp route-map delay-timer`), for every BGP instance: after the initial apply of
 * 1,000 tenants bgpd is blocked for tens of seconds, and a timed run falling into that
 * window would measure FRR's backlog, not the apply. Settling also keeps a VRF from being
 * removed right after it was added: FRR 8.4.4's bgpd was seen crashing (SIGSEGV in
 * vpn_leak_label_callback) when a VRF instance with `label vpn export auto` was removed
 * while its label request was still pending.
 *
 * Last line: `ratio_vs_frr_reload=X.XX` = frr-reload.py time / this agent's time for the
 * one-tenant change with N tenants.
 *
 * Run as root: `deno task bench:frr [--tenants N] [--small M] [--rounds R] [--skip-vtysh-f]`
 * (`--skip-vtysh-f` leaves out the `vtysh -f` baseline of step 1, which takes minutes).
 */
import { parseArgs } from "node:util";
import { configSchema, parseWithSchema } from "../src/config/mod.ts";
import { parsePrefix } from "../src/net/mod.ts";
import {
  applyFrrConfig,
  bgpdPid,
  blocksText,
  FrrApplier,
  type FrrInput,
  type FrrTenantInput,
  parseRunningConfig,
  renderFrrConfig,
  Vtysh,
} from "../src/frr/mod.ts";
import { type FrrInstance, startFrr } from "../tests/support/frr.ts";
import { run } from "../tests/support/proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tenants: { type: "string", default: "1000" },
    small: { type: "string", default: "100" },
    rounds: { type: "string", default: "5" },
    "settle-ms": { type: "string", default: "6000" },
    "skip-vtysh-f": { type: "boolean", default: false },
  },
});
const N = Number(values.tenants);
const SMALL = Number(values.small);
const ROUNDS = Math.max(1, Number(values.rounds));
const SETTLE_MS = Number(values["settle-ms"]);
const FRR_RELOAD = "/usr/lib/frr/frr-reload.py";

try {
  await Deno.stat(FRR_RELOAD);
} catch {
  console.error(`${FRR_RELOAD} not found: apt-get install frr-pythontools`);
  Deno.exit(2);
}

const config = parseWithSchema(
  `bgp:
  asn: 65000
  router_id: 192.0.2.1
  peers:
    - address: 192.0.2.254
      remote_asn: 65001
      description: fortigate-1
      ebgp_multihop: 2
      timers: { keepalive: 10, hold: 30 }
tenants:
  sources: [{ type: file, path: tenants.yaml }]
frr:
  timeout_ms: 600000
`,
  configSchema,
  { file: "bench.yaml" },
);

const tenantCache = new Map<number, FrrTenantInput>();

/** Tenant i: two IPv4 /24s and one IPv6 /64, RD/RT 65000:(10000+i). Same object per i. */
function tenantOf(i: number): FrrTenantInput {
  let t = tenantCache.get(i);
  if (t) return t;
  const name = `t${i}`;
  const a = i >> 8, b = i & 255;
  t = {
    tenant: {
      name,
      prefixes: [`10.${a}.${b}.0/24`, `10.${100 + a}.${b}.0/24`, `fd00:${i.toString(16)}::/64`]
        .map((p) => parsePrefix(p)),
    },
    allocation: {
      tenant: name,
      vrf: name,
      table: 10000 + i,
      rd: `65000:${10000 + i}`,
      rt: `65000:${10000 + i}`,
    },
  };
  tenantCache.set(i, t);
  return t;
}

function inputOf(pathspace: string, ids: number[]): FrrInput {
  return { config: { ...config, frr: { ...config.frr, pathspace } }, tenants: ids.map(tenantOf) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

const fmt = (ms: number) => ms.toFixed(1);
/** Waits `--settle-ms`, then until bgpd answers (it answers when idle). */
async function settle(frr: FrrInstance): Promise<void> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await bgpdPid(new Vtysh({ vtysh: "vtysh", pathspace: frr.name, timeout_ms: 600_000 }));
}

async function assertInSync(input: FrrInput, after: string): Promise<void> {
  const check = await applyFrrConfig(input, { dryRun: true });
  if (check.lines.length !== 0) {
    throw new Error(
      `after ${after} FRR still differs by ${check.lines.length} lines: ` +
        check.lines.slice(0, 10).join(" | "),
    );
  }
}

interface ChangeRun {
  agentMs: number[];
  parts: string[];
  lines: number;
}

/**
 * The one-tenant change as the agent runs it: with `n` tenants applied (and the cache filled),
 * add t{n} and remove t0; between rounds back to the base (untimed). `between` runs after each
 * agent change and its return to the base; a full resync to the base follows it.
 */
async function agentChange(
  frr: FrrInstance,
  n: number,
  rounds: number,
  between?: (changedInput: FrrInput) => Promise<void>,
): Promise<ChangeRun> {
  const baseIds = Array.from({ length: n }, (_, i) => i);
  const base = inputOf(frr.name, baseIds);
  const changed = inputOf(frr.name, [...baseIds.slice(1), n]);
  const applier = new FrrApplier();
  await applier.apply(base, { full: true });
  await applier.apply(base, { full: true }); // fills the cache (no global change any more)
  if (!applier.cached) throw new Error("the applier did not fill its cache");
  await settle(frr);
  const out: ChangeRun = { agentMs: [], parts: [], lines: 0 };
  for (let round = 0; round < rounds; round++) {
    // Exactly what the reconcile loop does on a source change: no pid check, no read.
    const [ms, r] = await timed(() => applier.apply(changed, { verify: false }));
    if (r.source !== "cache" || r.added.length !== 1 || r.removed.length !== 1) {
      throw new Error(`agent change: source ${r.source} added ${r.added} removed ${r.removed}`);
    }
    out.agentMs.push(ms);
    out.lines = r.linesSent;
    const tm = r.timings;
    out.parts.push(`render=${fmt(tm.render)}/diff=${fmt(tm.parseAndDiff)}/send=${fmt(tm.send)}`);
    await assertInSync(changed, "the agent's change");
    await settle(frr);
    await applier.apply(base, { verify: false }); // back to base (not timed)
    await settle(frr);
    if (between) {
      await between(changed);
      // Back to base with a full resync, which refills the cache from a fresh read (and
      // removes from zebra what frr-reload.py wrote there).
      await applier.apply(base, { full: true });
      await settle(frr);
    }
  }
  return out;
}

await using frr = await startFrr({ bgpPort: 0 });
const dir = await Deno.makeTempDir({ prefix: "vpnv4-bench-frr-" });
try {
  // 3. (first, on a fresh FRR) the agent's one-tenant change with SMALL tenants.
  const small = await agentChange(frr, SMALL, ROUNDS);
  await frr.restart({ config: "" });

  const baseIds = Array.from({ length: N }, (_, i) => i);
  const base = inputOf(frr.name, baseIds);
  const baseText = renderFrrConfig(base).text;
  const baseFile = `${dir}/base.conf`;
  await Deno.writeTextFile(baseFile, baseText);

  // 1. Initial apply: vtysh -f of the file into a fresh FRR, then the agent from empty.
  let vtyshMs = NaN;
  if (!values["skip-vtysh-f"]) {
    const [ms, vr] = await timed(() => run("vtysh", ["-N", frr.name, "-f", baseFile]));
    if (vr.code !== 0) throw new Error(`vtysh -f failed: ${vr.stderr.slice(0, 500)}`);
    vtyshMs = ms;
    await assertInSync(base, "vtysh -f");
    await frr.restart({ config: "" });
  }
  const [agentInitialMs, initial] = await timed(() => new FrrApplier().apply(base));
  const lines = baseText.split("\n").filter((l) => l && l !== "!").length;
  console.log(
    `initial_apply tenants=${N} lines=${lines} agent_ms=${fmt(agentInitialMs)} ` +
      `vtysh_f_ms=${fmt(vtyshMs)} agent_lines_sent=${initial.linesSent}`,
  );

  // 2. One-tenant change with N tenants: agent (from its cache) and frr-reload.py.
  const changed = inputOf(frr.name, [...baseIds.slice(1), N]);
  // frr-reload.py compares the whole configuration: give it FRR's own global lines
  // (frr version, hostname, forwarding, `bgp no-rib` of this test bgpd) plus the rendering.
  const preamble = parseRunningConfig(await frr.vtysh("show running-config"))
    .filter((b) => !/^(router bgp |ip prefix-list |ipv6 prefix-list |route-map )/.test(b.header));
  const changedFile = `${dir}/changed.conf`;
  await Deno.writeTextFile(changedFile, blocksText(preamble) + renderFrrConfig(changed).text);
  const reloadMs: number[] = [];
  const large = await agentChange(frr, N, ROUNDS, async (target) => {
    const [rms, rr] = await timed(() =>
      run(FRR_RELOAD, ["--reload", "--pathspace", frr.name, "--bindir", "/usr/bin", changedFile])
    );
    if (rr.code !== 0) {
      throw new Error(`frr-reload.py exited ${rr.code}: ${(rr.stderr + rr.stdout).slice(-1000)}`);
    }
    reloadMs.push(rms);
    await assertInSync(target, "frr-reload.py");
    await settle(frr);
  });

  for (const [n, r] of [[SMALL, small], [N, large]] as const) {
    console.log(
      `one_tenant_change_agent tenants=${n} rounds=${ROUNDS} agent_ms=${fmt(median(r.agentMs))} ` +
        `agent_lines_sent=${r.lines} agent_runs=${r.agentMs.map(fmt).join(",")}`,
    );
    console.log(`agent_breakdown_ms tenants=${n} ${r.parts.join(" ")}`);
  }
  const agent = median(large.agentMs);
  const reload = median(reloadMs);
  console.log(
    `one_tenant_change tenants=${N} agent_ms=${fmt(agent)} frr_reload_ms=${fmt(reload)} ` +
      `frr_reload_runs=${reloadMs.map(fmt).join(",")}`,
  );
  console.log(
    `growth agent_ms_${SMALL}=${fmt(median(small.agentMs))} agent_ms_${N}=${fmt(agent)} ` +
      `ratio=${(agent / median(small.agentMs)).toFixed(2)}`,
  );
  console.log(`ratio_vs_frr_reload=${(reload / agent).toFixed(2)}`);
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
