/**
 * FRR apply benchmark against a real FRR 8.4 (private pathspace, no BGP listener):
 *
 * 1. initial apply of N tenants (default 1,000): this agent (`applyFrrConfig` from an empty
 *    FRR) vs. `vtysh -f` of the same rendered file (`render` output) into a freshly restarted
 *    FRR. The agent's batch has the same lines except `exit` after route-maps, which in
 *    FRR 8.4 commits the pending configuration each time (quadratic in the tenant count);
 * 2. one-tenant change with N tenants configured (one tenant added and one removed): this
 *    agent's incremental apply vs. `frr-reload.py --reload` of the complete new file
 *    (Debian package frr-pythontools), alternating, `--rounds` times each; medians.
 *
 * After every frr-reload.py run the agent's diff must be empty (both reached the same state).
 * Last line: `ratio_vs_frr_reload=X.XX` = frr-reload.py time / this agent's time for the
 * one-tenant change.
 *
 * Run as root: `deno task bench:frr [--tenants N] [--rounds R]`.
 */
import { parseArgs } from "node:util";
import { configSchema, parseWithSchema } from "../src/config/mod.ts";
import { parsePrefix } from "../src/net/mod.ts";
import {
  applyFrrConfig,
  blocksText,
  type FrrInput,
  type FrrTenantInput,
  parseRunningConfig,
  renderFrrConfig,
} from "../src/frr/mod.ts";
import { startFrr } from "../tests/support/frr.ts";
import { run } from "../tests/support/proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tenants: { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
  },
});
const N = Number(values.tenants);
const ROUNDS = Math.max(1, Number(values.rounds));
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

/** Tenant i: two IPv4 /24s and one IPv6 /64, RD/RT 65000:(10000+i). */
function tenantOf(i: number): FrrTenantInput {
  const name = `t${i}`;
  const a = i >> 8, b = i & 255;
  return {
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

await using frr = await startFrr({ bgpPort: 0 });
const dir = await Deno.makeTempDir({ prefix: "vpnv4-bench-frr-" });
try {
  const baseIds = Array.from({ length: N }, (_, i) => i);
  const base = inputOf(frr.name, baseIds);
  const baseText = renderFrrConfig(base).text;
  const baseFile = `${dir}/base.conf`;
  await Deno.writeTextFile(baseFile, baseText);

  // 1. Initial apply: vtysh -f of the file into a fresh FRR, then the agent from empty.
  const [vtyshMs, vr] = await timed(() => run("vtysh", ["-N", frr.name, "-f", baseFile]));
  if (vr.code !== 0) throw new Error(`vtysh -f failed: ${vr.stderr.slice(0, 500)}`);
  const check = await applyFrrConfig(base, { dryRun: true });
  if (check.lines.length !== 0) {
    throw new Error(`after vtysh -f the agent still sees ${check.lines.length} lines to send`);
  }
  await frr.restart({ config: "" });
  const [agentInitialMs, initial] = await timed(() => applyFrrConfig(base));
  const lines = baseText.split("\n").filter((l) => l && l !== "!").length;
  console.log(
    `initial_apply tenants=${N} lines=${lines} agent_ms=${fmt(agentInitialMs)} ` +
      `vtysh_f_ms=${fmt(vtyshMs)} agent_lines_sent=${initial.linesSent}`,
  );

  // 2. One-tenant change: add t{N}, remove t0; then back, alternating agent and frr-reload.
  const changedIds = [...baseIds.slice(1), N];
  const changed = inputOf(frr.name, changedIds);
  // frr-reload.py compares the whole configuration: give it FRR's own global lines
  // (frr version, hostname, forwarding, `bgp no-rib` of this test bgpd) plus the rendering.
  const preamble = parseRunningConfig(await frr.vtysh("show running-config"))
    .filter((b) => !/^(router bgp |ip prefix-list |ipv6 prefix-list |route-map )/.test(b.header));
  const changedFile = `${dir}/changed.conf`;
  await Deno.writeTextFile(changedFile, blocksText(preamble) + renderFrrConfig(changed).text);
  const agentMs: number[] = [];
  const parts: string[] = [];
  const reloadMs: number[] = [];
  let agentLines = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Agent: base → changed.
    const [ms, r] = await timed(() => applyFrrConfig(changed));
    if (r.added.length !== 1 || r.removed.length !== 1) {
      throw new Error(`agent change: added ${r.added} removed ${r.removed}`);
    }
    agentMs.push(ms);
    agentLines = r.linesSent;
    const tm = r.timings;
    parts.push(
      `render=${fmt(tm.render)}/read=${fmt(tm.read)}/diff=${fmt(tm.parseAndDiff)}/send=${
        fmt(tm.send)
      }`,
    );
    await applyFrrConfig(base); // back to base (not timed)

    // frr-reload.py: base → changed, same end state.
    const [rms, rr] = await timed(() =>
      run(FRR_RELOAD, ["--reload", "--pathspace", frr.name, "--bindir", "/usr/bin", changedFile])
    );
    if (rr.code !== 0) {
      throw new Error(`frr-reload.py exited ${rr.code}: ${(rr.stderr + rr.stdout).slice(-1000)}`);
    }
    reloadMs.push(rms);
    const after = await applyFrrConfig(changed, { dryRun: true });
    if (after.lines.length !== 0) {
      throw new Error(
        `after frr-reload.py the agent still sees ${after.lines.length} lines: ` +
          after.lines.slice(0, 10).join(" | "),
      );
    }
    await applyFrrConfig(base); // back to base (not timed)
  }
  const agent = median(agentMs);
  const reload = median(reloadMs);
  console.log(
    `one_tenant_change tenants=${N} rounds=${ROUNDS} agent_ms=${fmt(agent)} ` +
      `frr_reload_ms=${fmt(reload)} agent_lines_sent=${agentLines} ` +
      `agent_runs=${agentMs.map(fmt).join(",")} frr_reload_runs=${reloadMs.map(fmt).join(",")}`,
  );
  console.log(`agent_breakdown_ms ${parts.join(" ")}`);
  console.log(`ratio_vs_frr_reload=${(reload / agent).toFixed(2)}`);
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
