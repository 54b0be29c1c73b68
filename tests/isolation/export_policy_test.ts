/**
 * The shared export policy (`VPNV4-EXPORT-V4/V6`, rendered from `tenants.policy`) as a filter:
 * it never permits a default route, anything inside a `deny` range or anything outside the
 * `allowed` ranges, and it permits everything else inside them.
 *
 * - Over generated policies (nested, equal, host-sized and default ranges; a family without
 *   any allowed range), the rendered lines are evaluated by the independent prefix-list
 *   evaluator in _prefix_list.ts over generated prefixes and probes around every range's
 *   edges, against the oracle.
 * - Real FRR (zebra + bgpd in a throwaway netns) redistributes kernel blackhole routes through
 *   the rendered route-maps: the routes bgpd takes are exactly those the oracle and the
 *   evaluator permit (which also checks the evaluator against FRR itself).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type FrrInstance, startFrr } from "../support/frr.ts";
import { isRoot, run, withNetns } from "../support/netns.ts";
import { waitFor } from "../support/proc.ts";
import { mixSeed } from "../fuzz/prng.ts";
import { exampleConfig } from "../frr/example.ts";
import type { Config } from "../../src/config/mod.ts";
import { formatPrefix, type IpPrefix, parsePrefix, tryParsePrefix } from "../../src/net/mod.ts";
import { renderFrrConfig } from "../../src/frr/mod.ts";
import { edgeProbes, type PolicySection, policySection, rawTenants, Rng } from "./_gen.ts";
import { contains, exportable } from "./_oracle.ts";
import { parsePolicy, routeMapPermits } from "./_prefix_list.ts";
import { checkLines, checkPolicyFilter, type FilterCounts } from "./_render_check.ts";

function withPolicy(section: PolicySection): Config {
  const config = exampleConfig();
  return { ...config, tenants: { ...config.tenants, policy: section } };
}

function modelOf(section: PolicySection) {
  return {
    allowed: section.allowed.map((p) => parsePrefix(p)),
    deny: section.deny.map((p) => parsePrefix(p)),
  };
}

const DEMO = {
  tenant: { name: "demo", prefixes: [] },
  allocation: { tenant: "demo", vrf: "demo", table: 1001, rd: "65000:1001", rt: "65000:1001" },
};

/**
 * The export policy's lines (prefix-lists and route-maps) of a render with one tenant (the
 * policy exists only while some tenant uses it).
 */
function policyLines(section: PolicySection): string[] {
  const text = renderFrrConfig({ config: withPolicy(section), tenants: [DEMO] }).text;
  const lines = text.trimEnd().split("\n");
  return lines.slice(0, lines.indexOf("router bgp 65000"));
}

/** Probes around the default routes and every range of the policy. */
function rangeProbes(section: PolicySection, rng: Rng): IpPrefix[] {
  return ["0.0.0.0/0", "::/0", ...section.allowed, ...section.deny]
    .flatMap((text) => edgeProbes(parsePrefix(text), rng));
}

Deno.test("isolation: the export policy permits exactly the exportable prefixes", () => {
  const counts: FilterCounts = { permitted: 0, denied: 0 };
  let withoutAllowed = 0;
  for (let run = 0; run < 300; run++) {
    const rng = new Rng(mixSeed(0xe4, run));
    const section = policySection(rng);
    const lines = policyLines(section);
    const where = `run ${run} ${JSON.stringify(section)}`;
    checkLines(lines, {
      asn: 65000,
      byVrf: new Map([["demo", DEMO.allocation]]),
      policy: section,
      tenantPrefixes: [],
      where,
    });
    const probes = rangeProbes(section, rng);
    for (const r of rawTenants(rng)) {
      for (const text of r.prefixes) {
        const p = tryParsePrefix(text, { allowBareAddress: true });
        if (p) probes.push(p);
      }
    }
    checkPolicyFilter(lines, probes, { policy: modelOf(section), where, counts });
    if (section.allowed.length === 0) withoutAllowed++;
    // Without tenants there is no export policy at all.
    const bare = renderFrrConfig({ config: withPolicy(section), tenants: [] }).text;
    assert(!/prefix-list|route-map/.test(bare), `${where}: policy rendered without tenants`);
  }
  assert(counts.permitted > 2000 && counts.denied > 2000, JSON.stringify(counts));
  assert(withoutAllowed > 5, `only ${withoutAllowed} policies without allowed ranges`);
});

/** Routes zebra never hands to a redistributing daemon (zebra_check_addr in FRR 8.4). */
const ZEBRA_FILTERED = ["127.0.0.0/8", "224.0.0.0/4", "169.254.0.0/16", "::1/128", "fe80::/10"]
  .map((p) => parsePrefix(p));

interface BgpTable {
  routes?: Record<string, unknown>;
}

async function bgpRoutes(frr: { vtyshJson<T>(cmd: string): Promise<T> }): Promise<string[]> {
  const out: string[] = [];
  for (const family of ["ipv4", "ipv6"]) {
    const t = await frr.vtyshJson<BgpTable>(`show bgp ${family} unicast json`);
    out.push(...Object.keys(t.routes ?? {}).map((p) => formatPrefix(parsePrefix(p))));
  }
  return out.sort();
}

async function kernelRoutesInZebra(frr: { vtysh(cmd: string): Promise<string> }) {
  const out: string[] = [];
  for (const family of ["ip", "ipv6"]) {
    const text = await frr.vtysh(`show ${family} route kernel`);
    for (const m of text.matchAll(/^K[>* ]*\s(\S+) /gm)) out.push(formatPrefix(parsePrefix(m[1])));
  }
  return out.sort();
}

/** Waits until bgpd has taken exactly the probes the oracle (and the evaluator) permit. */
async function checkRedistribution(
  frr: FrrInstance,
  probes: ReadonlyMap<string, IpPrefix>,
  section: PolicySection,
  where: string,
): Promise<void> {
  const all = [...probes.keys()].sort();
  await waitFor(async () => (await kernelRoutesInZebra(frr)).length === all.length, {
    timeoutMs: 60_000,
    describe: () => `${where}: zebra did not learn the ${all.length} kernel routes`,
  });
  assertEquals(await kernelRoutesInZebra(frr), all, `${where}: zebra's kernel routes`);
  const model = modelOf(section);
  const policy = parsePolicy(policyLines(section));
  const want = all.filter((k) => exportable(probes.get(k)!, model));
  const evaluated = all.filter((k) => {
    const p = probes.get(k)!;
    return routeMapPermits(policy, `VPNV4-EXPORT-V${p.family}`, p);
  });
  assertEquals(evaluated, want, `${where}: evaluator vs. oracle`);
  assert(want.length > 10 && all.length - want.length > 10, `${where}: too few probes`);
  let got: string[] = [];
  await waitFor(async () => {
    got = await bgpRoutes(frr);
    return got.length === want.length && got.every((k, j) => k === want[j]);
  }, {
    timeoutMs: 60_000,
    describe: () =>
      `${where}: bgpd took ${got.filter((k) => !want.includes(k)).join(" ")} ` +
      `and left ${want.filter((k) => !got.includes(k)).join(" ")}`,
  });
}

Deno.test({
  name: "isolation: real FRR redistributes through the export policy exactly what is exportable",
  ignore: !isRoot,
  fn: () =>
    withNetns(async (ns) => {
      const rng = new Rng(0xe5);
      const sections: PolicySection[] = [
        {
          allowed: ["10.0.0.0/8", "10.1.2.3/32", "172.16.0.0/12", "fd00::/8", "2001:db8::/32"],
          deny: ["10.96.0.0/12", "10.1.2.0/24", "172.16.0.0/12", "fd00:1::/64", "fd00::1/128"],
          max_prefixes_per_tenant: 1000,
        },
        // The schema's default: everything allowed, still never a default route.
        { allowed: ["0.0.0.0/0", "::/0"], deny: ["10.96.0.0/12"], max_prefixes_per_tenant: 1000 },
      ];
      const probes = new Map<string, IpPrefix>();
      for (const section of sections) {
        for (const p of rangeProbes(section, rng)) probes.set(formatPrefix(p), p);
      }
      for (const r of rawTenants(rng)) {
        for (const text of r.prefixes) {
          const p = tryParsePrefix(text, { allowBareAddress: true });
          if (p) probes.set(formatPrefix(p), p);
        }
      }
      for (const [key, p] of probes) {
        // zebra looks at the network address only.
        const address = { ...p, length: p.family === 4 ? 32 : 128 };
        if (ZEBRA_FILTERED.some((z) => contains(z, address))) probes.delete(key);
      }
      const batch = [...probes.keys()].map((k) => `route add blackhole ${k} proto 245`);
      const file = await Deno.makeTempFile({ prefix: "vpnv4-isolation-routes-" });
      try {
        await Deno.writeTextFile(file, batch.join("\n") + "\n");
        await run(["ip", "-n", ns, "-batch", file]);
      } finally {
        await Deno.remove(file);
      }
      let frr: FrrInstance | undefined;
      try {
        for (const [i, section] of sections.entries()) {
          const config = [
            ...policyLines(section),
            "router bgp 65000",
            " bgp router-id 192.0.2.1",
            " no bgp ebgp-requires-policy",
            " address-family ipv4 unicast",
            "  redistribute kernel route-map VPNV4-EXPORT-V4",
            " exit-address-family",
            " address-family ipv6 unicast",
            "  redistribute kernel route-map VPNV4-EXPORT-V6",
            " exit-address-family",
            "exit",
            "",
          ].join("\n");
          if (frr) await frr.restart({ config });
          else frr = await startFrr({ netns: ns, config, daemons: ["bgpd"], bgpPort: 0 });
          await checkRedistribution(frr, probes, section, `policy ${i}`);
        }
      } finally {
        await frr?.stop();
      }
    }),
});
