/**
 * The expose FRR configuration of every method against real FRR 8.4.4: FRR's parser accepts
 * it, the diff applies it, is idempotent, changes only what changed (a VM move: its network
 * lines only), removes it completely when disabled, and never touches operator
 * configuration or the tenant renderer's objects.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../support/assert.ts";
import { type FrrInstance, startFrr, validateFrrConfig } from "../support/frr.ts";
import { shortId } from "../support/proc.ts";
import { type Config, configSchema } from "../../src/config/mod.ts";
import { parsePrefix } from "../../src/net/mod.ts";
import {
  diffFrrConfig,
  FrrConflictError,
  FrrRenderError,
  parseRunningConfig,
  renderFrrConfig,
  Vtysh,
} from "../../src/frr/mod.ts";
import { diffExposeConfig, renderExposeConfig } from "../../src/frr/expose_render.ts";

function config(
  over: { expose?: Record<string, unknown>; kernel?: Record<string, unknown> } = {},
): Config {
  const { enabled, ...expose } = over.expose ?? {};
  const c = configSchema.parse({
    bgp: {
      asn: 65001,
      router_id: "192.0.2.1",
      peers: [{ address: "192.0.2.254", remote_asn: 65000, families: ["ipv4"] }],
    },
    expose: { enabled: true, sb_connection: "unix:/unused", ...expose },
    kernel: { vrf_mode: "table", mpls: "off", ...over.kernel },
  });
  // Disabled expose needs a tenant source to validate; render only reads `expose`.
  return enabled === false ? { ...c, expose: { ...c.expose, enabled: false } } : c;
}

const P = (t: string) => parsePrefix(t);

Deno.test("expose render: FRR's parser accepts every method; limits are named", async () => {
  const network = renderExposeConfig(
    config({
      expose: {
        method: "network",
        communities: { host: { standard: ["64512:200"], large: ["64512:1:200"] } },
      },
    }),
    { prefixes: [P("192.168.100.10/32"), P("192.168.100.0/24"), P("fd00:100::10/128")] },
  );
  assertEquals(network.families, [4, 6]);
  assertStringsIn(network.text, [
    "ip prefix-list VPNV4-EXPOSE-HOST-IPV4 seq 5 permit 0.0.0.0/0 ge 32",
    "route-map VPNV4-EXPOSE-IPV4 permit 10",
    " set community 64512:200 additive",
    " set large-community 64512:1:200 additive",
    "route-map VPNV4-EXPOSE-IPV4 permit 20",
    " set community 64512:100 additive",
    " no bgp network import-check",
    "  network 192.168.100.0/24 route-map VPNV4-EXPOSE-IPV4",
    "  network 192.168.100.10/32 route-map VPNV4-EXPOSE-IPV4",
    "  network fd00:100::10/128 route-map VPNV4-EXPOSE-IPV6",
  ]);
  assert(!network.text.includes("vrf"), network.text);
  assertEquals((await validateFrrConfig(network.text)).errors, []);
  for (const method of ["table", "dummy"]) {
    const device = renderExposeConfig(
      config({ expose: { method }, kernel: { vrf_mode: "device" } }),
    );
    assertEquals(device.families, [4, 6]);
    assertStringsIn(device.text, [
      "router bgp 65001 vrf bgp-vrf",
      "  redistribute kernel route-map VPNV4-EXPOSE-IPV6",
      "  import vrf bgp-vrf",
      "  table-map VPNV4-EXPOSE-TABLE-MAP",
      "route-map VPNV4-EXPOSE-TABLE-MAP deny 10",
      " match source-vrf bgp-vrf",
      "route-map VPNV4-EXPOSE-TABLE-MAP permit 20",
      "ipv6 prefix-list VPNV4-EXPOSE-HOST-IPV6 seq 5 permit ::/0 ge 128",
    ]);
    assertEquals(
      device.text.includes("redistribute connected route-map VPNV4-EXPOSE-IPV4"),
      method === "dummy",
    );
    assertEquals((await validateFrrConfig(device.text)).errors, []);
    // Without a VRF device these methods would leak into the main table: refused.
    assertThrows(
      () => renderExposeConfig(config({ expose: { method } })),
      FrrRenderError,
      "use method network",
    );
  }
  assertEquals(renderExposeConfig(config({ expose: { enabled: false } })).text, "");
});

function assertStringsIn(text: string, want: string[]): void {
  for (const w of want) {
    assert(text.split("\n").includes(w), `missing line ${JSON.stringify(w)} in:\n${text}`);
  }
}

const OPERATOR = [
  "ip prefix-list OPERATOR-LIST seq 5 permit 203.0.113.0/24",
  "route-map OPERATOR permit 10",
  " set community 65000:1",
  "exit",
  "router bgp 65001",
  " address-family ipv4 unicast",
  "  network 203.0.113.0/24 route-map OPERATOR",
  "  redistribute connected route-map OPERATOR",
  " exit-address-family",
  "exit",
  "",
].join("\n");

async function withFrr(
  fn: (
    apply: (cfg: Config, prefixes?: string[]) => Promise<string[]>,
    frr: FrrInstance,
  ) => Promise<void>,
): Promise<void> {
  await using frr = await startFrr({ name: `x${shortId(6)}`, bgpPort: 0, config: OPERATOR });
  const vtysh = new Vtysh({ vtysh: "/usr/bin/vtysh", pathspace: frr.name, timeout_ms: 30000 });
  const apply = async (cfg: Config, prefixes: string[] = []) => {
    const d = diffExposeConfig(
      renderExposeConfig(cfg, { prefixes: prefixes.map(P) }),
      parseRunningConfig(await vtysh.runningConfig()),
    );
    if (d.lines.length > 0) await vtysh.applyLines(d.lines);
    return [...d.lines];
  };
  await fn(apply, frr);
}

const OPERATOR_LINES = [
  "route-map OPERATOR permit 10",
  "  network 203.0.113.0/24 route-map OPERATOR",
  "  redistribute connected route-map OPERATOR",
];

Deno.test({
  name:
    "expose render network: real FRR, idempotent, a VM move sends only its network lines, removed on disable",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withFrr(async (apply, frr) => {
      const cfg = config({ expose: { method: "network" } });
      const vms = ["192.168.100.10/32", "192.168.100.11/32", "192.168.100.0/24", "fd00::10/128"];
      // The import check (on by default) is turned off.
      const first = await apply(cfg, vms);
      assert(first.includes("route-map VPNV4-EXPOSE-IPV4 permit 10"), first.join("\n"));
      assert(first.includes(" no bgp network import-check"), first.join("\n"));
      assertEquals(await apply(cfg, vms), [], "second apply sends nothing");
      let text = await frr.vtysh("show running-config");
      assertStringsIn(text, [
        " no bgp network import-check",
        "  network 192.168.100.10/32 route-map VPNV4-EXPOSE-IPV4",
        "  network 192.168.100.0/24 route-map VPNV4-EXPOSE-IPV4",
        "  network fd00::10/128 route-map VPNV4-EXPOSE-IPV6",
        ...OPERATOR_LINES,
      ]);
      // The tenant renderer's diff sees none of it as its own.
      const tenantDiff = diffFrrConfig(
        renderFrrConfig({ config: cfg, tenants: [] }),
        parseRunningConfig(text),
      );
      assert(
        !tenantDiff.lines.some((l) => l.includes("EXPOSE") || l.startsWith("network")),
        tenantDiff.lines.join("\n"),
      );

      // A VM leaves, another arrives: only those two network lines are sent.
      const moved = ["192.168.100.11/32", "192.168.100.0/24", "fd00::10/128", "192.168.100.12/32"];
      assertEquals(await apply(cfg, moved), [
        "router bgp 65001",
        " address-family ipv4 unicast",
        "  no network 192.168.100.10/32 route-map VPNV4-EXPOSE-IPV4",
        "  network 192.168.100.12/32 route-map VPNV4-EXPOSE-IPV4",
        " exit-address-family",
        "exit",
      ]);
      assertEquals(await apply(cfg, moved), []);

      // Changing a community touches that route-map line only.
      const changed = config({
        expose: {
          method: "network",
          communities: { host: { standard: ["64512:201"], large: ["64512:0:1"] } },
        },
      });
      assertEquals(await apply(changed, moved), [
        "route-map VPNV4-EXPOSE-IPV4 permit 10",
        " set community 64512:201 additive",
        " set large-community 64512:0:1 additive",
        "route-map VPNV4-EXPOSE-IPV6 permit 10",
        " set community 64512:201 additive",
        " set large-community 64512:0:1 additive",
      ]);

      // Disabled: everything of the agent goes, the operator's configuration stays.
      await apply(config({ expose: { enabled: false } }));
      text = await frr.vtysh("show running-config");
      assert(!text.includes("EXPOSE"), text);
      assertStringsIn(text, OPERATOR_LINES);
      assertEquals(await apply(config({ expose: { enabled: false } })), []);
    }),
});

Deno.test({
  name:
    "expose render table/dummy: real FRR, idempotent, method switch, operator table-map refused, removed on disable",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withFrr(async (apply, frr) => {
      const table = config({ expose: { method: "table" }, kernel: { vrf_mode: "device" } });
      const first = await apply(table);
      assert(first.length > 0);
      assertEquals(await apply(table), [], "second apply sends nothing");
      let text = await frr.vtysh("show running-config");
      assertStringsIn(text, [
        "router bgp 65001 vrf bgp-vrf",
        "  redistribute kernel route-map VPNV4-EXPOSE-IPV4",
        "  table-map VPNV4-EXPOSE-TABLE-MAP",
        "  import vrf bgp-vrf",
        " match source-vrf bgp-vrf",
        ...OPERATOR_LINES,
      ]);
      const dummy = config({ expose: { method: "dummy" }, kernel: { vrf_mode: "device" } });
      const d = await apply(dummy);
      assertEquals(d, [
        "router bgp 65001 vrf bgp-vrf",
        " address-family ipv4 unicast",
        "  redistribute connected route-map VPNV4-EXPOSE-IPV4",
        " exit-address-family",
        " address-family ipv6 unicast",
        "  redistribute connected route-map VPNV4-EXPOSE-IPV6",
        " exit-address-family",
        "exit",
      ]);
      assertEquals(await apply(dummy), []);
      // Switching to method network drops the VRF instance, the leak and the table-map.
      await apply(config({ expose: { method: "network" } }), ["192.168.1.1/32"]);
      text = await frr.vtysh("show running-config");
      assert(!text.includes("bgp-vrf") && !text.includes("TABLE-MAP"), text);
      assertStringsIn(text, ["  network 192.168.1.1/32 route-map VPNV4-EXPOSE-IPV4"]);
      // An operator table-map is never replaced.
      await frr.vtysh([
        "configure",
        "router bgp 65001",
        "address-family ipv4 unicast",
        "table-map OPERATOR",
      ]);
      await assertRejects(() => apply(table), FrrConflictError, "table-map OPERATOR");
      await frr.vtysh([
        "configure",
        "router bgp 65001",
        "address-family ipv4 unicast",
        "no table-map OPERATOR",
      ]);
      await apply(table);
      await apply(config({ expose: { enabled: false } }));
      text = await frr.vtysh("show running-config");
      assert(!text.includes("EXPOSE") && !text.includes("bgp-vrf"), text);
      assertStringsIn(text, OPERATOR_LINES);
    }),
});
