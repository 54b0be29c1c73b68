/**
 * Tenant isolation properties through allocation and rendering: tenants whose names collide
 * after sanitisation still get distinct VRFs, tables, RDs and RTs (also with a hash forced to
 * collide, and across a restart from the state file); every rendered line matches the strict
 * grammar of what the renderer may emit, and binds to its own tenant's VRF, prefixes, RD and
 * RT; hostile values never render; a subset of renders passes FRR's own parser.
 */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { validateFrrConfig } from "../support/frr.ts";
import { mixSeed } from "../fuzz/prng.ts";
import { exampleConfig } from "../frr/example.ts";
import { formatPrefix, parsePrefix } from "../../src/net/mod.ts";
import { buildTenantSet, compilePolicy, type Tenant } from "../../src/tenants/mod.ts";
import {
  type Allocation,
  Allocator,
  type HashFunction,
  isValidIfName,
  RESERVED_TABLES,
  RESERVED_VRF_NAMES,
  sha256,
} from "../../src/allocate/mod.ts";
import { FrrRenderError, renderFrrConfig } from "../../src/frr/mod.ts";
import { collidingNames, POLICY_CONFIG, rawTenants, Rng } from "./_gen.ts";
import { classifyLine } from "./_grammar.ts";

const policy = compilePolicy(POLICY_CONFIG);
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

function checkRender(
  tenants: Tenant[],
  allocations: ReadonlyMap<string, Allocation>,
  where: string,
): string {
  const config = exampleConfig();
  const rendered = renderFrrConfig({
    config,
    tenants: tenants.map((tenant) => ({ tenant, allocation: allocations.get(tenant.name)! })),
  });
  const byVrf = new Map([...allocations.values()].map((a) => [a.vrf, a]));
  const prefixesOf = new Map(
    tenants.map((t) => [allocations.get(t.name)!.vrf, new Set(t.prefixes.map(formatPrefix))]),
  );
  let vrf: string | undefined; // inside `router bgp ASN vrf X`
  for (const line of rendered.text.trimEnd().split("\n")) {
    const c = classifyLine(line);
    assert(c, `${where}: line outside the grammar: ${JSON.stringify(line)}`);
    const g = c.groups;
    if (c.kind === "routerBgpVrf") {
      vrf = g[1];
      assert(byVrf.has(vrf), `${where}: instance for unknown VRF ${vrf}`);
      assertEquals(Number(g[0]), config.bgp.asn);
    } else if (c.kind === "routerBgp") vrf = undefined;
    else if (c.kind === "prefixList4" || c.kind === "prefixList6") {
      const owner = byVrf.get(g[0]);
      assert(owner, `${where}: prefix-list of unknown VRF ${g[0]}`);
      const prefix = `${g[2]}/${g[3]}`;
      assert(
        prefixesOf.get(g[0])!.has(prefix),
        `${where}: ${prefix} is not a prefix of ${owner.tenant}`,
      );
    } else if (c.kind === "redistribute") {
      assertEquals(g[0], vrf, `${where}: VRF ${vrf} redistributes through ${g[0]}'s route-map`);
    } else if (c.kind === "rd" || c.kind === "rt") {
      assert(vrf, `${where}: ${c.kind} outside a VRF instance`);
      assertEquals(g[0], byVrf.get(vrf)![c.kind], `${where}: ${c.kind} of VRF ${vrf}`);
    }
  }
  return rendered.text;
}

Deno.test("isolation: colliding names get distinct VRFs, tables, RDs, RTs; renders stay in grammar", async () => {
  const texts: string[] = [];
  for (let run = 0; run < 40; run++) {
    const rng = new Rng(mixSeed(SEED, run));
    const raws = rawTenants(rng);
    for (let k = rng.range(1, 3); k > 0; k--) {
      for (const name of collidingNames(rng)) raws.push({ name, prefixes: [] });
    }
    const set = buildTenantSet(raws, policy);
    const tenants = [...set.tenants.values()];
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
        texts.push(checkRender(tenants, plan.allocations, where));
        await Deno.remove(a.statePath);
      }
    });
  }
  // FRR's own parser accepts a few of them (vtysh --dryrun, syntax only).
  const sample = texts.filter((t) => t.includes("prefix-list")).slice(0, 4);
  assertEquals(sample.length, 4);
  for (const text of sample) {
    const r = await validateFrrConfig(text);
    assert(r.ok, `vtysh --dryrun refused:\n${r.errors.join("\n")}\n${text}`);
  }
});

Deno.test("isolation: hostile values never reach a rendered line", () => {
  const config = exampleConfig();
  const good = { name: "demo", prefixes: [parsePrefix("10.244.0.0/24")] };
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
    ["prefix with bad bytes", {
      ...good,
      prefixes: [{ family: 4, bytes: new Uint8Array([10, 0, 0]), length: 24 }],
    }, alloc],
    ["prefix too long", {
      ...good,
      prefixes: [{ family: 4, bytes: new Uint8Array([10, 0, 0, 0]), length: 40 }],
    }, alloc],
    ["allocation of another tenant", good, { ...alloc, tenant: "other" }],
  ];
  for (const [what, tenant, allocation] of hostile) {
    let text: string | undefined;
    const e = assertThrows(() => {
      text = renderFrrConfig({ config, tenants: [{ tenant, allocation }] }).text;
    }, FrrRenderError);
    assert(text === undefined && e.field.length > 0, what);
  }
});

Deno.test("isolation: the line grammar refuses smuggled tokens", () => {
  for (
    const line of [
      "ip prefix-list VPNV4-demo-V4 seq 10 permit 10.0.0.0/8 le 32",
      "ip prefix-list VPNV4-demo-V4 seq 10 permit 0.0.0.0/0 ",
      "router bgp 65000 vrf demo\nexit",
      "  rd vpn export 65000:1 !",
      " neighbor 192.0.2.1 description vpnv4-agent x # y",
      "  redistribute kernel",
      "ip prefix-list VPNV4-demo-V4 seq 10 deny 10.0.0.0/8",
    ]
  ) assertEquals(classifyLine(line), undefined, line);
});
