/**
 * FrrApplier's cache (apply without reading running-config) against a real FRR 8.4: after
 * every cached apply a fresh read must show FRR exactly as desired; restarts (also with a
 * stale saved configuration) are found by bgpd's pid; drift is repaired by a full resync;
 * the agent's objects live in bgpd only.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type FrrInstance, startFrr } from "../support/frr.ts";
import {
  applyFrrConfig,
  bgpdPid,
  FrrApplier,
  type FrrInput,
  type FrrTenantInput,
  renderFrrConfig,
  Vtysh,
} from "../../src/frr/mod.ts";
import { exampleConfig, legacyFrrConfig, tenant } from "./example.ts";
import { uniform } from "../fuzz/prng.ts";

const OPERATOR = [
  "ip prefix-list OPERATOR-PL seq 5 permit 192.168.0.0/16",
  "route-map OPERATOR-RM permit 10",
  " match ip address prefix-list OPERATOR-PL",
  "router bgp 65000 vrf opvrf",
  " address-family ipv4 unicast",
  "  redistribute static route-map OPERATOR-RM",
  " exit-address-family",
  "exit",
];

function inputOf(frr: FrrInstance, tenants: FrrTenantInput[]): FrrInput {
  const config = exampleConfig();
  return { config: { ...config, frr: { ...config.frr, pathspace: frr.name } }, tenants };
}

/** FRR matches `input` exactly: a stateless apply (fresh read) has nothing to send. */
async function assertInSync(input: FrrInput, what: string): Promise<void> {
  const check = await applyFrrConfig(input, { dryRun: true });
  assertEquals(check.lines, [], `FRR differs from the desired state after ${what}`);
}

async function operatorIntact(frr: FrrInstance): Promise<void> {
  const text = await frr.vtysh("show running-config");
  for (const line of OPERATOR) {
    if (line === "exit" || line.includes("exit-address-family")) continue;
    assert(text.includes(`${line}\n`), `operator line lost: ${line}\n${text}`);
  }
}

/** The tenants' allocations, as comparable text. */
function allocations(tenants: Map<string, FrrTenantInput>): string {
  return JSON.stringify(
    [...tenants.values()].map((t) => t.allocation).sort((a, b) => a.tenant < b.tenant ? -1 : 1),
  );
}

function randomTenant(name: string, table: number, rand: () => number): FrrTenantInput {
  const n = Math.floor(rand() * 4);
  const prefixes: string[] = [];
  for (let i = 0; i < n; i++) prefixes.push(`10.${table % 250}.${Math.floor(rand() * 8)}.0/24`);
  if (rand() < 0.4) prefixes.push(`fd00:${table.toString(16)}:${Math.floor(rand() * 4)}::/64`);
  const t = tenant(name, table, [...new Set(prefixes)]);
  if (rand() < 0.2) return { ...t, allocation: { ...t.allocation, rt: `65000:${table + 5000}` } };
  return t;
}

Deno.test({
  name: "frr cache: random changes applied from the cache leave FRR exactly as desired",
  async fn() {
    await using frr = await startFrr({ bgpPort: 0 });
    const vtysh = new Vtysh({ vtysh: "vtysh", pathspace: frr.name, timeout_ms: 20_000 });
    await vtysh.applyLines(OPERATOR);
    const rand = uniform(20240605);
    const applier = new FrrApplier();
    let tenants = new Map<string, FrrTenantInput>();
    for (let i = 0; i < 12; i++) tenants.set(`t${i}`, randomTenant(`t${i}`, 1000 + i, rand));
    await applier.apply(inputOf(frr, [...tenants.values()]));
    // The first apply from empty changes the global instance: the cache is filled next time.
    const first = await applier.apply(inputOf(frr, [...tenants.values()]));
    assertEquals(first.source, "running-config");
    assert(applier.cached, "cache not filled after a full apply without global changes");
    let fromCache = 0;
    let prefixOnly = 0;
    for (let round = 0; round < 14; round++) {
      const next = new Map(tenants);
      const ops = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < ops; k++) {
        const names = [...next.keys()];
        const pick = names[Math.floor(rand() * names.length)];
        const r = rand();
        if (r < 0.3 && names.length > 2) next.delete(pick);
        else if (r < 0.6) {
          const i = 100 + round * 10 + k;
          next.set(`n${i}`, randomTenant(`n${i}`, 2000 + i, rand));
        } else {
          const old = next.get(pick)!;
          next.set(pick, randomTenant(pick, old.allocation.table, rand));
        }
      }
      // Only a tenant's allocation (VRF, RD, RT) is FRR's business: prefix changes send nothing.
      const sameAllocations = allocations(next) === allocations(tenants);
      tenants = next;
      const input = inputOf(frr, [...tenants.values()]);
      const r = await applier.apply(input, { verify: round % 3 === 0 });
      if (r.source === "cache") fromCache++;
      if (sameAllocations) {
        assertEquals(r.linesSent, 0, `round ${round}: prefix changes only`);
        prefixOnly++;
      } else assert(r.linesSent > 0, `round ${round}: allocations changed, nothing sent`);
      assert(!r.lines.some((l) => l.includes("prefix-list")), r.lines.join("\n"));
      await assertInSync(input, `round ${round}`);
      // Nothing changed: nothing is sent and nothing is read.
      const again = await applier.apply(input, { verify: false });
      assertEquals([again.source, again.linesSent], ["cache", 0]);
    }
    assertEquals(fromCache, 14, "every change should have been applied from the cache");
    assert(prefixOnly > 0, "no round changed prefixes only (seed)");
    await operatorIntact(frr);
    // The agent's objects are bgpd's alone.
    const zebra = await vtysh.run(["-d", "zebra", "-c", "show running-config"]);
    assert(!zebra.stdout.includes("VPNV4-"), zebra.stdout);
  },
});

Deno.test({
  name: "frr cache: a restart (also with a stale saved config) is found by bgpd's pid",
  async fn(t) {
    await using frr = await startFrr({ bgpPort: 0 });
    const vtysh = new Vtysh({ vtysh: "vtysh", pathspace: frr.name, timeout_ms: 20_000 });
    const applier = new FrrApplier();
    const now = inputOf(frr, [
      tenant("a", 1001, ["10.1.0.0/24", "10.1.1.0/24"]),
      tenant("c", 1003, ["10.3.0.0/24"]),
    ]);
    await applier.apply(now);
    await applier.apply(now);
    assert(applier.cached);

    await t.step("unchanged FRR: the check costs no read", async () => {
      const r = await applier.apply(now);
      assertEquals([r.source, r.linesSent, r.restartDetected], ["cache", 0, false]);
    });

    await t.step("restart with an older saved configuration", async () => {
      // Saved when a had another RT and b existed.
      const a = tenant("a", 1001, ["10.1.0.0/24"]);
      const old = inputOf(frr, [
        { ...a, allocation: { ...a.allocation, rt: "65000:5001" } },
        tenant("b", 1002, []),
      ]);
      const pid = await bgpdPid(vtysh);
      await frr.restart({ config: renderFrrConfig(old).text });
      assert((await bgpdPid(vtysh)) !== pid, "bgpd pid did not change");
      const r = await applier.apply(now);
      assertEquals(r.restartDetected, true);
      assertEquals(r.source, "running-config");
      assertEquals(r.agentConfigMissing, false, "the saved configuration held agent blocks");
      assertEquals([r.added, r.removed, r.changed, r.globalChanged], [["c"], ["b"], ["a"], false]);
      assert(r.lines.includes("  rt vpn both 65000:1001"), r.lines.join("\n"));
      await assertInSync(now, "the restart");
      // The saved configuration put the agent's prefix-lists and route-maps into zebra too:
      // the full resync removed them there.
      const zebra = await vtysh.run(["-d", "zebra", "-c", "show running-config"]);
      assert(!zebra.stdout.includes("VPNV4-"), zebra.stdout);
      // The export policy is bgpd's, untouched by the zebra clean-up.
      const bgpd = await frr.vtysh("show running-config");
      assert(bgpd.includes("route-map VPNV4-EXPORT-V4 permit 10\n"), bgpd);
    });

    await t.step("restart with an earlier version's saved configuration", async () => {
      // Per-VRF prefix-lists and route-maps (also loaded into zebra), for a and b.
      const old = inputOf(frr, [tenant("a", 1001, ["10.1.0.0/24"]), tenant("b", 1002, [])]);
      await frr.restart({ config: legacyFrrConfig(old) });
      const r = await applier.apply(now);
      assertEquals([r.restartDetected, r.agentConfigMissing], [true, false]);
      assertEquals([r.added, r.removed, r.changed, r.globalChanged], [["c"], ["b"], ["a"], true]);
      assert(!r.lines.includes("no router bgp 65000 vrf a"), r.lines.join("\n"));
      await assertInSync(now, "the migration");
      for (const daemon of ["bgpd", "zebra"]) {
        const text = (await vtysh.run(["-d", daemon, "-c", "show running-config"])).stdout;
        assert(!/VPNV4-[ab]-V/.test(text), `${daemon}:\n${text}`);
      }
    });

    await t.step("restart with an empty configuration", async () => {
      await frr.restart({ config: "" });
      const r = await applier.apply(now);
      assertEquals([r.restartDetected, r.agentConfigMissing], [true, true]);
      await assertInSync(now, "the restart");
    });

    await t.step("drift is not seen from the cache, and repaired by a full resync", async () => {
      await applier.apply(now); // cache filled again (the last apply changed the global)
      assert(applier.cached);
      await vtysh.applyLines([
        "router bgp 65000 vrf a",
        " address-family ipv4 unicast",
        "  no rt vpn both 65000:1001",
        " exit-address-family",
        "exit",
        "router bgp 65000 vrf c",
        " address-family ipv6 unicast",
        "  no rd vpn export 65000:1003",
        " exit-address-family",
        "exit",
        "no ip prefix-list VPNV4-EXPORT-V4 seq 20 permit 10.0.0.0/8 le 32",
      ], { daemon: "bgpd" });
      const cached = await applier.apply(now, { verify: false });
      assertEquals([cached.source, cached.linesSent], ["cache", 0]);
      const full = await applier.apply(now, { full: true });
      assertEquals(full.source, "running-config");
      assertEquals([full.changed, full.globalChanged], [["a", "c"], true]);
      assertEquals(full.lines.filter((l) => !l.startsWith(" ") && l !== "exit"), [
        "ip prefix-list VPNV4-EXPORT-V4 seq 20 permit 10.0.0.0/8 le 32",
        "router bgp 65000 vrf a",
        "router bgp 65000 vrf c",
      ]);
      await assertInSync(now, "the full resync");
      // The policy changed: the next apply reads once more, then the cache serves again.
      const reread = await applier.apply(now, { verify: false });
      assertEquals([reread.source, reread.linesSent], ["running-config", 0]);
      const after = await applier.apply(now, { verify: false });
      assertEquals([after.source, after.linesSent], ["cache", 0]);
    });

    await t.step("a failed batch forgets the cache", async () => {
      await frr.stop();
      let failed = false;
      try {
        await applier.apply(inputOf(frr, [tenant("a", 1001, [])]), { verify: false });
      } catch {
        failed = true;
      }
      assert(failed, "apply against a stopped FRR succeeded");
      assertEquals(applier.cached, false);
    });
  },
});
