/**
 * Incremental apply against a real FRR 8.4 (zebra, bgpd, staticd under a private pathspace).
 * VRF instances work without kernel VRF devices (they are just inactive).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { type FrrInstance, startFrr } from "../support/frr.ts";
import {
  applyFrrConfig,
  type ConfigBlock,
  FrrApplier,
  FrrConflictError,
  type FrrInput,
  isAgentObjectName,
  parseRunningConfig,
  renderFrrConfig,
  Vtysh,
  VtyshApplyError,
  VtyshError,
} from "../../src/frr/mod.ts";
import {
  EXAMPLE_LEGACY_REMOVALS,
  exampleInput,
  legacyFrrConfig,
  rdRtChangeLines,
  tenant,
} from "./example.ts";

const OPERATOR_PEER = "198.51.100.7";

/** Configuration the agent did not write and must never change. */
const OPERATOR = `router bgp 65000
 neighbor ${OPERATOR_PEER} remote-as 65100
 neighbor ${OPERATOR_PEER} description operator peer
 address-family ipv4 vpn
  neighbor ${OPERATOR_PEER} activate
 exit-address-family
exit
router bgp 65000 vrf opvrf
 address-family ipv4 unicast
  redistribute static route-map OPERATOR-RM
 exit-address-family
exit
vrf opvrf
 vni 1000
 ip route 10.99.0.0/16 blackhole
exit-vrf
ip prefix-list OPERATOR-PL seq 5 permit 192.168.0.0/16
route-map OPERATOR-RM permit 10
 match ip address prefix-list OPERATOR-PL
exit
`;

function withFrr(input: FrrInput, frr: FrrInstance): FrrInput {
  return {
    ...input,
    config: { ...input.config, frr: { ...input.config.frr, pathspace: frr.name } },
  };
}

async function running(frr: FrrInstance): Promise<ConfigBlock[]> {
  return parseRunningConfig(await frr.vtysh("show running-config"));
}

/** Everything of the operator's, as FRR shows it. */
function operatorView(blocks: ConfigBlock[]): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    const words = b.header.split(" ");
    if (b.header === "router bgp 65000") {
      for (const l of b.lines) if (l.includes(OPERATOR_PEER)) out.push(`global: ${l}`);
      for (const s of b.sections) {
        if (s.header === "address-family ipv4 unicast") continue; // display depends on defaults
        for (const l of s.lines) if (l.includes(OPERATOR_PEER)) out.push(`${s.header}: ${l}`);
      }
    } else if (words[0] === "router" || words[0] === "vrf") {
      if (words.at(-1) === "opvrf") out.push(JSON.stringify(b));
    } else if (words[0] === "route-map" || words[1] === "prefix-list") {
      const name = words[0] === "route-map" ? words[1] : words[2];
      if (!isAgentObjectName(name)) out.push(JSON.stringify(b));
    }
  }
  return out;
}

/** A real Vtysh that records the arguments of every vtysh it runs. */
class CountingVtysh extends Vtysh {
  readonly calls: string[][] = [];
  override run(args: readonly string[]) {
    this.calls.push([...args]);
    return super.run(args);
  }
}

/** The example's tenant prefixes: FRR never holds them. */
const TENANT_PREFIXES = ["10.244.", "10.245.", "10.246.", "fd00:10:24"];

function agentLines(blocks: ConfigBlock[]): string[] {
  return blocks.flatMap((b) => [b.header, ...b.lines, ...b.sections.flatMap((s) => s.lines)])
    .filter((l) => l.includes("VPNV4-") || l.includes("vpnv4-agent"));
}

Deno.test({
  name: "frr apply: real FRR through add, change, remove, peers, restart",
  async fn(t) {
    await using frr = await startFrr({ bgpPort: 0 });
    // Through vtysh: a `vrf` block in frr.conf read at daemon start is not shown (FRR 8.4).
    const operatorVtysh = new Vtysh({ vtysh: "vtysh", pathspace: frr.name, timeout_ms: 10_000 });
    await operatorVtysh.applyLines(OPERATOR.split("\n"));
    const operator = operatorView(await running(frr));
    assertEquals(operator.length, 7, operator.join("\n"));
    const applier = new FrrApplier();
    const base = withFrr(exampleInput(), frr);

    /** Applies, checks the operator config survived and that a second apply is a no-op. */
    const apply = async (input: FrrInput, options: { vtysh?: Vtysh; verify?: boolean } = {}) => {
      const r = await applier.apply(input, options);
      assertEquals(operatorView(await running(frr)), operator, "operator configuration changed");
      const again = await applyFrrConfig(input);
      assertEquals(again.lines, [], "second apply is not a no-op");
      assertEquals(again.linesSent, 0);
      return r;
    };

    await t.step("from empty", async () => {
      const r = await apply(base);
      assertEquals(r.added, ["demo", "demo-b"]);
      assertEquals(r.agentConfigMissing, true);
      assertEquals(r.restartDetected, false);
      assertEquals(r.globalChanged, true);
      // Policy 7 entries + 2 route-maps (2 lines each), global instance 15, 2 instances of 19.
      assertEquals(r.linesSent, 7 + 4 + 15 + 2 * 19);
      const text = await frr.vtysh("show running-config");
      assertStringIncludes(text, "router bgp 65000 vrf demo-b\n");
      assertStringIncludes(text, "  rt vpn both 65000:1001\n");
      assertStringIncludes(text, "  redistribute kernel route-map VPNV4-EXPORT-V6\n");
      assertStringIncludes(text, "ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.96.0.0/12 le 32\n");
      assertStringIncludes(
        text,
        "ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 permit fd00::/8 le 128\n",
      );
      assertStringIncludes(text, " neighbor 192.0.2.254 description vpnv4-agent fortigate-1\n");
      for (const p of TENANT_PREFIXES) assert(!text.includes(p), `${p} in FRR:\n${text}`);
    });

    await t.step("add a tenant: its instance only", async () => {
      const input = {
        ...base,
        tenants: [...base.tenants, tenant("demo-c", 1003, ["10.246.0.0/24"])],
      };
      const r = await apply(input);
      assertEquals([r.added, r.removed, r.changed, r.globalChanged], [["demo-c"], [], [], false]);
      assertEquals(r.linesSent, 19);
      assert(!r.lines.some((l) => l.includes("prefix-list") || l.startsWith("route-map")));
      assert(applier.cached, "cache not filled after an apply without global changes");
    });

    const demoC = tenant("demo-c", 1003, ["10.246.0.0/24"]);

    await t.step("changed prefixes: no line, no vtysh run", async () => {
      const before = await frr.vtysh("show running-config");
      const vtysh = new CountingVtysh({ vtysh: "vtysh", pathspace: frr.name, timeout_ms: 10_000 });
      const input = {
        ...base,
        tenants: [
          tenant("demo", 1001, ["10.244.0.0/24", "10.244.8.0/22", "fd00:10:245::/64"]),
          tenant("demo-b", 1002, []),
          tenant("demo-c", 1003, ["10.246.0.0/24", "10.246.1.7/32"]),
        ],
      };
      const r = await apply(input, { vtysh, verify: false });
      assertEquals([r.source, r.linesSent, r.lines], ["cache", 0, []]);
      assertEquals([r.added, r.removed, r.changed, r.globalChanged], [[], [], [], false]);
      assertEquals(vtysh.calls, [], "vtysh was run");
      assertEquals(await frr.vtysh("show running-config"), before);
    });

    await t.step("changed RD and RT: only those lines", async () => {
      const demo = tenant("demo", 1001, ["10.244.0.0/24", "10.244.8.0/22", "fd00:10:245::/64"]);
      const changed = {
        tenant: demo.tenant,
        allocation: { ...demo.allocation, rd: "192.0.2.1:2001", rt: "65000:2001" },
      };
      const input = { ...base, tenants: [changed, base.tenants[1], demoC] };
      const r = await apply(input);
      assertEquals([r.added, r.removed, r.changed], [[], [], ["demo"]]);
      assertEquals(r.source, "cache");
      assertEquals(r.lines, rdRtChangeLines("demo", { rd: "192.0.2.1:2001", rt: "65000:2001" }));
      const text = await frr.vtysh("show running-config");
      assertStringIncludes(text, "  rt vpn both 65000:2001\n");
      assertStringIncludes(text, "  rd vpn export 192.0.2.1:2001\n");
      assert(!text.includes("rt vpn both 65000:1001"));
      for (const p of TENANT_PREFIXES) assert(!text.includes(p), `${p} in FRR:\n${text}`);
    });

    await t.step("changed policy: only the changed prefix-list entries", async () => {
      const config = structuredClone(base.config);
      const input: FrrInput = { config, tenants: [base.tenants[0], base.tenants[1], demoC] };
      config.tenants.policy = {
        ...config.tenants.policy,
        allowed: ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8", "fd10::/16"],
        deny: ["10.112.0.0/12"],
      };
      const r = await apply(input);
      // Removals before adds: FRR ignores an entry that duplicates another's prefix (192.168).
      assertEquals(r.lines, [
        "no ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.96.0.0/12 le 32",
        "no ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 172.16.0.0/12 le 32",
        "no ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 192.168.0.0/16 le 32",
        "ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.112.0.0/12 le 32",
        "ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 192.168.0.0/16 le 32",
        "ipv6 prefix-list VPNV4-EXPORT-V6 seq 20 permit fd10::/16 le 128",
        // The RD and RT of demo go back to the allocation's.
        "router bgp 65000 vrf demo",
        " address-family ipv4 unicast",
        "  rd vpn export 65000:1001",
        "  rt vpn both 65000:1001",
        " exit-address-family",
        " address-family ipv6 unicast",
        "  rd vpn export 65000:1001",
        "  rt vpn both 65000:1001",
        " exit-address-family",
        "exit",
      ]);
      assertEquals([r.globalChanged, r.source, r.changed], [true, "running-config", ["demo"]]);
      assertEquals(applier.cached, false, "the cache must be dropped after a policy change");
      const text = await frr.vtysh("show running-config");
      assertStringIncludes(
        text,
        "ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 192.168.0.0/16 le 32\n",
      );
      assert(!text.includes("172.16.0.0/12"), text);
    });

    await t.step("remove a tenant", async () => {
      const r = await apply({ ...base, tenants: [base.tenants[0]] });
      assertEquals(r.removed, ["demo-b", "demo-c"]);
      assertEquals(r.changed, []);
      assertEquals(r.globalChanged, true); // the policy is the example's again
      const lines = agentLines(await running(frr));
      assert(!lines.some((l) => l.includes("demo-b") || l.includes("demo-c")), lines.join("\n"));
    });

    await t.step("peer changes", async () => {
      const input = structuredClone(base) as FrrInput;
      // structuredClone keeps IpPrefix bytes; replace the peer list.
      input.config.bgp.peers = [
        { ...base.config.bgp.peers[0], description: "fgt one", timers: undefined },
        { address: "2001:db8::2", remote_asn: 65002, families: ["vpnv6"], password: "pw-1" },
      ];
      const r = await apply(input);
      assertEquals(r.globalChanged, true);
      const text = await frr.vtysh("show running-config");
      assertStringIncludes(text, " neighbor 2001:db8::2 password pw-1\n");
      assert(!text.includes("neighbor 192.0.2.254 timers"));
      input.config.bgp.peers = [];
      await apply(input);
      const after = await frr.vtysh("show running-config");
      assert(!after.includes("vpnv4-agent"), after);
    });

    await t.step("FRR restarted: everything re-applied", async () => {
      await apply(base);
      await frr.restart({ config: "" });
      await operatorVtysh.applyLines(OPERATOR.split("\n"));
      assertEquals(agentLines(await running(frr)), []);
      const r = await apply(base);
      assertEquals(r.restartDetected, true);
      assertEquals(r.agentConfigMissing, true);
      assertEquals(r.added, ["demo", "demo-b"]);
    });

    await t.step("full mode converges too", async () => {
      const full = {
        ...base,
        config: { ...base.config, frr: { ...base.config.frr, mode: "full" as const } },
      };
      const r = await applier.apply(full);
      const rendered = renderFrrConfig(full).text.split("\n").filter((l) => l && l !== "!")
        .filter((l, i, all) => !(l === "exit" && all[i - 1]?.startsWith(" match ")));
      assertEquals(r.lines, rendered, "full mode sends every block (and nothing else here)");
      assertEquals(r.linesSent, rendered.length);
      assertEquals((await applyFrrConfig(base)).lines, []);
    });

    await t.step(
      "nothing desired: only operator configuration remains",
      async () => {
        const empty = structuredClone(base) as FrrInput;
        empty.config.bgp.peers = [];
        const r = await apply({ ...empty, tenants: [] });
        assertEquals(r.removed, ["demo", "demo-b"]);
        // Without tenants the export policy goes too (withdraw on exit leaves nothing).
        assertEquals(agentLines(await running(frr)), []);
        assert(r.lines.includes("no route-map VPNV4-EXPORT-V4"), r.lines.join("\n"));
        assert(r.lines.includes("no route-map VPNV4-EXPORT-V6"), r.lines.join("\n"));
      },
    );

    await t.step("a failing line is reported with its number and text", async () => {
      const e = await assertRejects(
        () =>
          operatorVtysh.applyLines(["router bgp 65000", " neighbor 192.0.2.99 frobnicate", "exit"]),
        VtyshApplyError,
      );
      assertEquals(e.lines.map((l) => [l.line, l.text]), [[2, " neighbor 192.0.2.99 frobnicate"]]);
    });

    await t.step("another ASN on the default instance is refused before sending", async () => {
      const other = structuredClone(base) as FrrInput;
      other.config.bgp.asn = 65099;
      await assertRejects(() => applyFrrConfig(other), FrrConflictError, "65000");
    });
  },
});

Deno.test({
  name: "frr apply: real FRR holding an earlier version's per-VRF objects is migrated",
  async fn() {
    await using frr = await startFrr({ bgpPort: 0 });
    const vtysh = new Vtysh({ vtysh: "vtysh", pathspace: frr.name, timeout_ms: 10_000 });
    await vtysh.applyLines(OPERATOR.split("\n"));
    const operator = operatorView(await running(frr));
    const base = withFrr(exampleInput(), frr);
    // What an earlier version sent (to bgpd alone) for the same tenants.
    await vtysh.applyLines(legacyFrrConfig(base).split("\n"), { daemon: "bgpd" });
    const before = await frr.vtysh("show running-config");
    assertStringIncludes(before, "ip prefix-list VPNV4-demo-V4 seq 10 permit 10.244.0.0/24\n");
    assertStringIncludes(before, "  redistribute kernel route-map VPNV4-demo-b-V6\n");

    const applier = new FrrApplier();
    const r = await applier.apply(base);
    assertEquals([r.added, r.removed, r.changed], [[], [], ["demo", "demo-b"]]);
    assertEquals([r.globalChanged, r.agentConfigMissing], [true, false]);
    // Nothing is withdrawn: no instance, redistribution, RD/RT or import/export removed.
    assert(!r.lines.some((l) => /^\s*no (router|redistribute|rd|rt|label|export|import)/.test(l)));
    const switched = r.lines.filter((l) => l.startsWith("  redistribute kernel"));
    assertEquals(
      switched,
      [4, 6, 4, 6].map((f) => `  redistribute kernel route-map VPNV4-EXPORT-V${f}`),
    );
    // The old objects go last, once no instance refers to them.
    const legacy = EXAMPLE_LEGACY_REMOVALS;
    assertEquals(r.lines.slice(-legacy.length).toSorted(), legacy.toSorted());
    assert(r.lines.lastIndexOf("exit") < r.lines.length - legacy.length);

    // FRR took every line: a fresh read needs nothing, and FRR shows what a fresh install has.
    assertEquals((await applyFrrConfig(base, { dryRun: true })).lines, []);
    const after = await running(frr);
    assertEquals(operatorView(after), operator, "operator configuration changed");
    const text = await frr.vtysh("show running-config");
    assert(!/VPNV4-demo/.test(text), text);
    for (const p of TENANT_PREFIXES) assert(!text.includes(p), `${p} in FRR:\n${text}`);
    for (const vrf of ["demo", "demo-b"]) {
      const inst = after.find((b) => b.header === `router bgp 65000 vrf ${vrf}`)!;
      assertEquals(
        inst.sections.map((s) => s.lines[0]),
        [4, 6].map((f) => `redistribute kernel route-map VPNV4-EXPORT-V${f}`),
      );
    }
    // The next apply reads again (global change) and finds nothing to do, then works cached.
    const next = await applier.apply(base);
    assertEquals([next.source, next.linesSent], ["running-config", 0]);
    const cached = await applier.apply(base);
    assertEquals([cached.source, cached.linesSent], ["cache", 0]);
  },
});

Deno.test("frr apply: an unreachable FRR is a VtyshError", async () => {
  const input = exampleInput();
  const cfg = {
    ...input.config,
    frr: { ...input.config.frr, pathspace: "nosuchfrr", timeout_ms: 5000 },
  };
  await assertRejects(() => applyFrrConfig({ ...input, config: cfg }), VtyshError);
});
