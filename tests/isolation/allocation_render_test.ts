/**
 * Tenant isolation properties through allocation and rendering: tenants whose names collide
 * after sanitisation still get distinct VRFs, tables, RDs and RTs (also with a hash forced to
 * collide, and across a restart from the state file); every rendered line, and every line of
 * the vtysh batches that bring FRR from nothing or from an earlier state to it, matches the
 * strict grammar of what the agent may send and binds to its own VRF, RD, RT and family; no
 * tenant prefix reaches FRR (the render does not change with the tenants' prefixes, and a
 * prefix-only change is an empty batch); the rendered export policy filters exactly as the
 * oracle says; hostile values never render; a subset of renders passes FRR's own parser.
 */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { validateFrrConfig } from "../support/frr.ts";
import { mixSeed } from "../fuzz/prng.ts";
import { exampleConfig } from "../frr/example.ts";
import type { Config } from "../../src/config/mod.ts";
import { formatPrefix, type IpPrefix, parsePrefix, tryParsePrefix } from "../../src/net/mod.ts";
import {
  buildTenantSet,
  compilePolicy,
  type RawTenant,
  type Tenant,
} from "../../src/tenants/mod.ts";
import {
  type Allocation,
  Allocator,
  type HashFunction,
  isValidIfName,
  RESERVED_TABLES,
  RESERVED_VRF_NAMES,
  sha256,
} from "../../src/allocate/mod.ts";
import {
  blocksText,
  diffFrrConfig,
  FrrRenderError,
  parseRunningConfig,
  type RenderedFrrConfig,
  renderFrrConfig,
} from "../../src/frr/mod.ts";
import {
  collidingNames,
  edgeProbes,
  type PolicySection,
  policySection,
  rawTenants,
  Rng,
} from "./_gen.ts";
import { classifyLine } from "./_grammar.ts";
import { legacyConfigText } from "./_legacy.ts";
import { expectedExports } from "./_oracle.ts";
import { checkLines, checkPolicyFilter, type FilterCounts } from "./_render_check.ts";

const SEED = 0x150;

/**
 * A hash with only 8 distinct values for bare names: first-choice hashed VRF names and preferred
 * tables collide constantly (probe candidates `name#N` hash normally).
 */
const collidingHash: HashFunction = (text) => {
  const d = sha256(text);
  if (text.includes("#")) return d;
  const out = new Uint8Array(d.length);
  out[0] = d[0] & 7;
  return out;
};

function assertDistinct(allocs: readonly Allocation[], where: string): void {
  const config = exampleConfig();
  const { min, max } = config.allocation.table_range;
  for (const key of ["vrf", "table", "rd", "rt"] as const) {
    const values = allocs.map((a) => String(a[key]).toLowerCase());
    assertEquals(new Set(values).size, values.length, `${where}: duplicate ${key}`);
  }
  for (const a of allocs) {
    assert(isValidIfName(a.vrf), `${where}: VRF ${a.vrf} of ${a.tenant} is not an ifname`);
    assert(!RESERVED_VRF_NAMES.has(a.vrf.toLowerCase()), `${where}: reserved VRF ${a.vrf}`);
    assert(a.vrf === a.tenant || a.vrf.startsWith("vt"), `${where}: ${a.tenant} got ${a.vrf}`);
    assert(a.table >= min && a.table <= max && !RESERVED_TABLES.has(a.table), `${where}: table`);
  }
}

async function withAllocator<T>(
  fn: (open: (hash?: HashFunction) => Promise<Allocator>) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-isolation-" });
  try {
    return await fn((hash) =>
      Allocator.open({ config: exampleConfig(), statePath: `${dir}/state.json`, hash })
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The example configuration with another `tenants.policy`. */
function withPolicy(section: PolicySection): Config {
  const config = exampleConfig();
  return { ...config, tenants: { ...config.tenants, policy: section } };
}

function modelPolicy(section: PolicySection) {
  return {
    allowed: section.allowed.map((p) => parsePrefix(p)),
    deny: section.deny.map((p) => parsePrefix(p)),
  };
}

/** Every parsable prefix of the scenario, plus probes around each policy range and default. */
function probes(raws: readonly RawTenant[], section: PolicySection, rng: Rng): IpPrefix[] {
  const out: IpPrefix[] = [];
  for (const r of raws) {
    for (const text of r.prefixes) {
      const p = tryParsePrefix(text, { allowBareAddress: true });
      if (p) out.push(p);
    }
  }
  for (const text of ["0.0.0.0/0", "::/0", ...section.allowed, ...section.deny]) {
    out.push(...edgeProbes(parsePrefix(text), rng));
  }
  return out;
}

function render(config: Config, tenants: readonly Tenant[], allocations: Map<string, Allocation>) {
  return renderFrrConfig({
    config,
    tenants: tenants.map((tenant) => ({ tenant, allocation: allocations.get(tenant.name)! })),
  });
}

function lines(text: string): string[] {
  return text.trimEnd().split("\n");
}

interface Scenario {
  raws: RawTenant[];
  section: PolicySection;
  config: Config;
  tenants: Tenant[];
  rng: Rng;
  counts: FilterCounts;
  /** How much the batch checks saw (instances removed, earlier objects removed, policy lines). */
  batches: { removed: number; legacy: number; policyLines: number };
}

/** Checks one render of the scenario's tenants with these allocations; returns its text. */
function checkRender(s: Scenario, allocations: Map<string, Allocation>, where: string): string {
  const { config, tenants, section } = s;
  const rendered = render(config, tenants, allocations);
  const byVrf = new Map([...allocations.values()].map((a) => [a.vrf, a]));
  const tenantPrefixes = tenants.flatMap((t) => t.prefixes.map(formatPrefix));
  const ctx = { asn: config.bgp.asn, byVrf, policy: section, tenantPrefixes, where };
  const summary = checkLines(lines(rendered.text), ctx);
  // Every tenant has its one instance, redistributing both families through the export policy.
  assertEquals(summary.instances.sort(), [...byVrf.keys()].sort(), `${where}: instances`);
  for (const vrf of byVrf.keys()) {
    assertEquals([...summary.redistributed.get(vrf) ?? []].sort(), [4, 6], `${where}: ${vrf}`);
  }
  // The policy exists while some tenant uses it (deny default routes: one line per family).
  if (tenants.length === 0) assertEquals(summary.prefixListLines, 0, `${where}: policy`);
  else assert(summary.prefixListLines >= 2, `${where}: no export policy rendered`);
  // The render does not depend on the tenants' prefixes at all: none, or each other's.
  const none = tenants.map((t) => ({ ...t, prefixes: [] }));
  assertEquals(render(config, none, allocations).text, rendered.text, `${where}: no prefixes`);
  const swapped = tenants.map((t, i) => ({
    ...t,
    prefixes: tenants[(i + 1) % tenants.length].prefixes,
  }));
  assertEquals(render(config, swapped, allocations).text, rendered.text, `${where}: swapped`);
  // As a filter, the policy permits exactly the exportable prefixes.
  const model = modelPolicy(section);
  if (tenants.length > 0) {
    checkPolicyFilter(lines(rendered.text), probes(s.raws, section, s.rng), {
      policy: model,
      where,
      counts: s.counts,
    });
  }
  for (const [tenant, exports] of expectedExports(s.raws, model)) {
    const got = tenants.find((t) => t.name === tenant)?.prefixes.map(formatPrefix) ?? [];
    for (const p of exports) assert(got.includes(p), `${where}: ${tenant} lost ${p}`);
  }
  checkBatches(s, rendered, allocations, where);
  return rendered.text;
}

/**
 * The vtysh batches towards this render stay in the grammar: from an empty FRR, from an
 * earlier state (other policy, a subset of the tenants, instances since removed), and a change
 * of prefixes alone is an empty batch.
 */
function checkBatches(
  s: Scenario,
  rendered: RenderedFrrConfig,
  allocations: Map<string, Allocation>,
  where: string,
): void {
  const { config, section, tenants, rng } = s;
  const byVrf = new Map([...allocations.values()].map((a) => [a.vrf, a]));
  const tenantPrefixes = tenants.flatMap((t) => t.prefixes.map(formatPrefix));
  const base = { asn: config.bgp.asn, byVrf, tenantPrefixes };
  const fromEmpty = diffFrrConfig(rendered, []);
  const summary = checkLines(fromEmpty.lines, {
    ...base,
    policy: section,
    where: `${where} (from empty)`,
  });
  assertEquals(summary.instances.sort(), [...byVrf.keys()].sort(), `${where}: batch instances`);
  // Pod churn: other prefixes for every tenant, same allocations: nothing to send.
  const churned = tenants.map((t) => ({
    ...t,
    prefixes: t.prefixes.filter(() => rng.chance(0.5)).concat(
      parsePrefix(`10.250.${rng.int(256)}.0/24`),
    ),
  }));
  const churn = diffFrrConfig(render(config, churned, allocations), rendered.blocks);
  assertEquals(churn.lines, [], `${where}: a prefix change sends lines`);
  // An earlier state: another policy, some tenants only, plus instances of tenants now gone.
  const previous = policySection(rng);
  const kept = tenants.filter(() => rng.chance(0.6));
  const gone = Array.from({ length: rng.range(0, 3) }, (_, i) => ({
    tenant: { name: `gone${i}`, prefixes: [parsePrefix(`10.251.${rng.int(256)}.0/24`)] },
    allocation: {
      tenant: `gone${i}`,
      vrf: `gone${i}`,
      table: 60000 + i,
      rd: `65000:${60000 + i}`,
      rt: `65000:${60000 + i}`,
    },
  })).filter((g) => !byVrf.has(g.allocation.vrf));
  const before = renderFrrConfig({
    config: withPolicy(previous),
    tenants: [
      ...kept.map((tenant) => ({ tenant, allocation: allocations.get(tenant.name)! })),
      ...gone,
    ],
  });
  const step = diffFrrConfig(rendered, before.blocks);
  const policy = {
    allowed: [...section.allowed, ...previous.allowed],
    deny: [...section.deny, ...previous.deny],
  };
  const removable = new Set(gone.map((g) => g.allocation.vrf));
  const stepSummary = checkLines(step.lines, {
    ...base,
    policy,
    removable,
    where: `${where} (step)`,
  });
  assertEquals(stepSummary.removed.sort(), [...removable].sort(), `${where}: removed instances`);
  // Migration from an earlier version's per-VRF prefix-lists (listing every tenant prefix):
  // the batch names those objects only to remove them whole, and echoes no prefix of theirs.
  const legacyTenants = [
    ...kept.map((t) => ({ ...allocations.get(t.name)!, prefixes: t.prefixes })),
    ...gone.map((g) => ({ ...g.allocation, prefixes: g.tenant.prefixes })),
  ];
  const legacyText = blocksText([rendered.global.block]) +
    legacyConfigText(legacyTenants, { asn: config.bgp.asn, routerId: config.bgp.router_id });
  const migration = diffFrrConfig(rendered, parseRunningConfig(legacyText));
  const legacy = new Set(legacyTenants.map((t) => t.vrf));
  const migrated = checkLines(migration.lines, {
    ...base,
    tenantPrefixes: [
      ...tenantPrefixes,
      ...gone.flatMap((g) => g.tenant.prefixes.map(formatPrefix)),
    ],
    policy: section,
    removable,
    legacy,
    where: `${where} (migration)`,
  });
  assertEquals(migrated.removed.sort(), [...removable].sort(), `${where}: migration removed`);
  assertEquals([...migrated.legacyRemoved].sort(), [...legacy].sort(), `${where}: legacy objects`);
  s.batches.removed += stepSummary.removed.length;
  s.batches.legacy += migrated.legacyRemoved.size;
  s.batches.policyLines += stepSummary.prefixListLines;
  // Every tenant gone: every instance and the export policy go, nothing else is said.
  const nothing = diffFrrConfig(renderFrrConfig({ config, tenants: [] }), rendered.blocks);
  const last = checkLines(nothing.lines, {
    ...base,
    byVrf: new Map(),
    policy: section,
    removable: new Set(byVrf.keys()),
    where: `${where} (to nothing)`,
  });
  assertEquals(last.removed.sort(), [...byVrf.keys()].sort(), `${where}: all instances removed`);
  assertEquals(last.instances, [], `${where}: an instance while removing all`);
}

Deno.test("isolation: colliding names get distinct VRFs, tables, RDs, RTs; renders stay in grammar", async () => {
  const texts: string[] = [];
  const counts: FilterCounts = { permitted: 0, denied: 0 };
  const batches = { removed: 0, legacy: 0, policyLines: 0 };
  for (let run = 0; run < 40; run++) {
    const rng = new Rng(mixSeed(SEED, run));
    const raws = rawTenants(rng);
    for (let k = rng.range(1, 3); k > 0; k--) {
      for (const name of collidingNames(rng)) raws.push({ name, prefixes: [] });
    }
    const section = policySection(rng);
    const set = buildTenantSet(raws, compilePolicy(section));
    const tenants = [...set.tenants.values()];
    const config = withPolicy(section);
    const scenario = { raws, section, config, tenants, rng, counts, batches };
    await withAllocator(async (open) => {
      for (const hash of [undefined, collidingHash]) {
        const where = `run ${run}${hash ? " (colliding hash)" : ""}`;
        const a = await open(hash);
        const plan = a.allocate(tenants);
        assertDistinct([...plan.allocations.values()], where);
        await a.save();
        // A restart reads the state file: same tenants in another order, same allocations.
        const b = await open(hash);
        const again = b.allocate([...tenants].reverse());
        assertEquals(
          [...again.allocations.entries()].sort(),
          [...plan.allocations.entries()].sort(),
          where,
        );
        texts.push(checkRender(scenario, new Map(plan.allocations), where));
        await Deno.remove(a.statePath);
      }
    });
  }
  assert(counts.permitted > 500 && counts.denied > 500, `probes: ${JSON.stringify(counts)}`);
  assert(
    batches.removed > 40 && batches.legacy > 200 && batches.policyLines > 150,
    `batches: ${JSON.stringify(batches)}`,
  );
  // FRR's own parser accepts a few of them (vtysh --dryrun, syntax only).
  const sample = texts.filter((t) => t.includes("router bgp 65000 vrf")).slice(0, 4);
  assertEquals(sample.length, 4);
  for (const text of sample) {
    const r = await validateFrrConfig(text);
    assert(r.ok, `vtysh --dryrun refused:\n${r.errors.join("\n")}\n${text}`);
  }
});

Deno.test("isolation: hostile values never reach a rendered line", () => {
  const config = exampleConfig();
  const good: Tenant = { name: "demo", prefixes: [parsePrefix("10.244.0.0/24")] };
  const alloc = { tenant: "demo", vrf: "demo", table: 1001, rd: "65000:1001", rt: "65000:1001" };
  const hostile: [string, Tenant, Allocation][] = [
    ["tenant name with newline", { ...good, name: "demo\nrouter bgp 1" }, {
      ...alloc,
      tenant: "demo\nrouter bgp 1",
    }],
    ["unicode tenant name", { ...good, name: "d\u00e9mo" }, { ...alloc, tenant: "d\u00e9mo" }],
    ["VRF with a space", good, { ...alloc, vrf: "demo x" }],
    ["VRF with a newline", good, { ...alloc, vrf: "demo\nexit" }],
    ["VRF default", good, { ...alloc, vrf: "default" }],
    ["VRF too long", good, { ...alloc, vrf: "a".repeat(16) }],
    ["RD with a comment", good, { ...alloc, rd: "65000:1 !" }],
    ["RT with a second token", good, { ...alloc, rt: "65000:1 65000:2" }],
    ["RT out of range", good, { ...alloc, rt: "65000:4294967296" }],
    ["allocation of another tenant", good, { ...alloc, tenant: "other" }],
  ];
  for (const [what, tenant, allocation] of hostile) {
    let text: string | undefined;
    const e = assertThrows(() => {
      text = renderFrrConfig({ config, tenants: [{ tenant, allocation }] }).text;
    }, FrrRenderError);
    assert(text === undefined && e.field.length > 0, what);
  }
  // Prefixes never reach FRR at all: whatever a tenant holds, the render is the same.
  const baseline = renderFrrConfig({
    config,
    tenants: [{ tenant: { ...good, prefixes: [] }, allocation: alloc }],
  }).text;
  const prefixes: [string, IpPrefix[]][] = [
    ["prefix with bad bytes", [{ family: 4, bytes: new Uint8Array([10, 0, 0]), length: 24 }]],
    ["prefix too long", [{ family: 4, bytes: new Uint8Array([10, 0, 0, 0]), length: 40 }]],
    ["default routes", [parsePrefix("0.0.0.0/0"), parsePrefix("::/0")]],
    ["outside allowed and denied", [parsePrefix("8.8.8.0/24"), parsePrefix("10.96.0.0/24")]],
  ];
  for (const [what, list] of prefixes) {
    const text = renderFrrConfig({
      config,
      tenants: [{ tenant: { ...good, prefixes: list }, allocation: alloc }],
    }).text;
    assertEquals(text, baseline, what);
  }
  checkLines(lines(baseline), {
    asn: config.bgp.asn,
    byVrf: new Map([["demo", alloc]]),
    policy: config.tenants.policy,
    tenantPrefixes: ["10.244.0.0/24"],
    where: "baseline",
  });
  // Policy ranges are configuration, yet still checked before they become a line.
  const policies: [string, Partial<PolicySection>][] = [
    ["allowed with a newline", { allowed: ["10.0.0.0/8\nrouter bgp 1"] }],
    ["allowed with its own le", { allowed: ["10.0.0.0/8 le 24"] }],
    ["allowed with host bits", { allowed: ["10.0.0.1/8"] }],
    ["deny with a second token", { deny: ["10.96.0.0/12 permit"] }],
    ["deny not a CIDR", { deny: ["any"] }],
  ];
  for (const [what, change] of policies) {
    const c = withPolicy({ ...config.tenants.policy, ...change });
    let text: string | undefined;
    const e = assertThrows(() => {
      text = renderFrrConfig({ config: c, tenants: [{ tenant: good, allocation: alloc }] }).text;
    }, FrrRenderError);
    assert(text === undefined && e.field.startsWith("tenants.policy."), `${what}: ${e.field}`);
  }
});

Deno.test("isolation: the line grammar refuses smuggled tokens", () => {
  for (
    const line of [
      "ip prefix-list VPNV4-demo-V4 seq 10 permit 10.0.0.0/8",
      "ip prefix-list VPNV4-EXPORT-V4 seq 10 permit 10.0.0.0/8 le 128",
      "ip prefix-list VPNV4-EXPORT-V4 seq 10 permit 10.0.0.0/8 ge 9",
      "ip prefix-list VPNV4-EXPORT-V4 seq 10 permit 10.0.0.0/8 le 32 ",
      "ip prefix-list VPNV4-EXPORT-V4 seq 10 permit fd00::/8 le 32",
      "ip prefix-list VPNV4-EXPORT-V6 seq 10 permit 10.0.0.0/8",
      "ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 permit fd00::/8 le 32",
      "ip prefix-list VPNV4-EXPORT-V4 seq 10 permit any",
      "ip prefix-list VPNV4-EXPORT-V4 seq 0 permit 10.0.0.0/8",
      "route-map VPNV4-EXPORT-V4 deny 10",
      "route-map VPNV4-demo-V4 permit 10",
      " match ip address prefix-list VPNV4-demo-V4",
      "router bgp 65000 vrf demo\nexit",
      "  rd vpn export 65000:1 !",
      " neighbor 192.0.2.1 description vpnv4-agent x # y",
      "  redistribute kernel",
      "  redistribute kernel route-map VPNV4-demo-V4",
      "  redistribute kernel route-map VPNV4-EXPORT-V4 metric 1",
      "  network 10.244.0.0/24",
    ]
  ) assertEquals(classifyLine(line), undefined, line);
});

Deno.test("isolation: the line grammar takes every line of the golden configurations", async () => {
  for (const name of ["example.conf", "peers.conf"]) {
    const url = new URL(`../fixtures/frr/${name}`, import.meta.url);
    const text = await Deno.readTextFile(url);
    const all = lines(text);
    assert(all.length > 20, name);
    for (const line of all) assert(classifyLine(line), `${name}: ${JSON.stringify(line)}`);
  }
});
