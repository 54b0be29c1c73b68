import { assert, assertEquals, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { validateFrrConfig } from "../support/frr.ts";
import {
  exportPolicyName,
  type FrrInput,
  FrrRenderError,
  isAgentObjectName,
  legacyObjectName,
  parseLegacyObjectName,
  renderExportPolicy,
  renderFrrConfig,
} from "../../src/frr/mod.ts";
import type { IpPrefix } from "../../src/net/mod.ts";
import { exampleConfig, exampleInput, tenant } from "./example.ts";

const GOLDEN = new URL("../fixtures/frr/example.conf", import.meta.url);
const GOLDEN_PEERS = new URL("../fixtures/frr/peers.conf", import.meta.url);

async function golden(url: URL, actual: string): Promise<void> {
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.writeTextFile(url, actual);
    return;
  }
  const expected = await Deno.readTextFile(url);
  assertEquals(actual, expected, `${url.pathname} differs (UPDATE_GOLDEN=1 to regenerate)`);
}

/** A config with every peer option, several families and an IPv6 peer. */
function peersInput(): FrrInput {
  const config = exampleConfig();
  config.bgp.peers = [
    {
      address: "192.0.2.254",
      remote_asn: 65001,
      description: "  fortigate   one ",
      families: ["vpnv4", "vpnv6", "ipv4"],
      password: "s3cr3t-P@ss",
      ebgp_multihop: 2,
      timers: { keepalive: 10, hold: 30 },
      update_source: "192.0.2.1",
    },
    {
      address: "2001:DB8:0:0::1",
      remote_asn: 4200000000,
      families: ["vpnv6", "ipv6"],
      update_source: "lo",
    },
  ];
  return {
    config,
    tenants: [
      tenant("only-v6", 1003, ["fd00:1::/64", "fd00:2::/64"]),
      tenant("z", 1004, []),
      tenant("a.b_c", 1005, ["10.1.0.0/16", "10.2.0.1/32", "10.1.0.0/16"]),
    ],
  };
}

Deno.test("frr render: example config matches the golden file", async () => {
  await golden(GOLDEN, renderFrrConfig(exampleInput()).text);
});

Deno.test("frr render: peer options match the golden file", async () => {
  await golden(GOLDEN_PEERS, renderFrrConfig(peersInput()).text);
});

Deno.test("frr render: FRR's parser accepts the rendered configurations", async () => {
  for (const input of [exampleInput(), peersInput()]) {
    const r = await validateFrrConfig(renderFrrConfig(input).text);
    assertEquals(r.errors, []);
    assertEquals(r.code, 0);
    assert(r.ok);
  }
});

Deno.test("frr render: the dryrun check does fail on a bad line", async () => {
  // Guards the test above: a broken line must be reported, with its line number.
  const text = renderFrrConfig(exampleInput()).text.replace(
    "label vpn export auto",
    "label vpn export sometimes",
  );
  const r = await validateFrrConfig(text);
  assert(!r.ok);
  assert(r.errors.length > 0);
  assertStringIncludes(r.errors[0], "line ");
});

Deno.test("frr render: output is deterministic whatever the tenant order", () => {
  const a = exampleInput();
  const b: FrrInput = { config: a.config, tenants: [...a.tenants].reverse() };
  assertEquals(renderFrrConfig(a).text, renderFrrConfig(b).text);
});

Deno.test("frr render: structured blocks per tenant", () => {
  const r = renderFrrConfig(exampleInput());
  assertEquals(r.tenants.map((t) => t.vrf), ["demo", "demo-b"]);
  const demo = r.tenants[0];
  assertEquals(demo.blocks.map((b) => b.header), ["router bgp 65000 vrf demo"]);
  assertEquals(demo.blocks[0].sections.map((s) => s.lines[0]), [
    "redistribute kernel route-map VPNV4-EXPORT-V4",
    "redistribute kernel route-map VPNV4-EXPORT-V6",
  ]);
  assert(!r.text.includes("10.244.0.0/24"), "tenant prefixes are selected in the kernel");
  assertEquals(r.global.policy.map((b) => b.header), [
    "ip prefix-list VPNV4-EXPORT-V4 seq 5 deny 0.0.0.0/0",
    "ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.96.0.0/12 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 20 permit 10.0.0.0/8 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 172.16.0.0/12 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 192.168.0.0/16 le 32",
    "route-map VPNV4-EXPORT-V4 permit 10",
    "ipv6 prefix-list VPNV4-EXPORT-V6 seq 5 deny ::/0",
    "ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 permit fd00::/8 le 128",
    "route-map VPNV4-EXPORT-V6 permit 10",
  ]);
  assertEquals(r.global.peers[0].activate, ["address-family ipv4 vpn", "address-family ipv6 vpn"]);
  assert(!r.text.includes("network "), "network statements are never rendered");
  assert(!/^vrf /m.test(r.text), "empty vrf blocks are never rendered");
});

Deno.test("frr render: legacy per-VRF object names round-trip, including VRF names with -V4", () => {
  for (const vrf of ["demo", "a-V4", "x.y_z-", "V6"]) {
    for (const family of [4, 6] as const) {
      assertEquals(parseLegacyObjectName(legacyObjectName(vrf, family)), { vrf, family });
      assert(isAgentObjectName(legacyObjectName(vrf, family)));
    }
  }
  assertEquals(parseLegacyObjectName("OPERATOR-MAP"), undefined);
  assertEquals(parseLegacyObjectName("VPNV4-demo-V5"), undefined);
  assert(!isAgentObjectName("OPERATOR-MAP"));
  for (const family of [4, 6] as const) {
    // The export policy is the agent's, never mistaken for a VRF named EXPORT.
    assertEquals(parseLegacyObjectName(exportPolicyName(family)), undefined);
    assert(isAgentObjectName(exportPolicyName(family)));
  }
});

Deno.test("frr render: the export policy follows tenants.policy", () => {
  const policy = {
    allowed: ["10.0.0.0/8", "10.0.0.5/32", "fd00::/8", "10.0.0.0/8"],
    deny: ["10.9.0.0/16", "10.8.0.1/32", "fd00:dead::/32"],
    max_prefixes_per_tenant: 10,
  };
  assertEquals(renderExportPolicy(policy, 4).map((b) => b.header), [
    "ip prefix-list VPNV4-EXPORT-V4 seq 5 deny 0.0.0.0/0",
    "ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.9.0.0/16 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 20 deny 10.8.0.1/32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 10.0.0.0/8 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 10.0.0.5/32",
    "route-map VPNV4-EXPORT-V4 permit 10",
  ]);
  assertEquals(renderExportPolicy(policy, 6).map((b) => b.header), [
    "ipv6 prefix-list VPNV4-EXPORT-V6 seq 5 deny ::/0",
    "ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 deny fd00:dead::/32 le 128",
    "ipv6 prefix-list VPNV4-EXPORT-V6 seq 20 permit fd00::/8 le 128",
    "route-map VPNV4-EXPORT-V6 permit 10",
  ]);
  // No IPv6 range allowed: the IPv6 list permits nothing.
  const v4only = { ...policy, allowed: ["10.0.0.0/8"], deny: [] };
  assertEquals(renderExportPolicy(v4only, 6).map((b) => b.header), [
    "ipv6 prefix-list VPNV4-EXPORT-V6 seq 5 deny ::/0",
    "route-map VPNV4-EXPORT-V6 permit 10",
  ]);
  assertThrows(
    () => renderExportPolicy({ ...policy, deny: ["10.0.0.0/33"] }, 4),
    FrrRenderError,
    "tenants.policy.deny[0]",
  );
});

function withPeer(patch: Record<string, unknown>): FrrInput {
  const input = exampleInput();
  Object.assign(input.config.bgp.peers[0], patch);
  return input;
}

function withAllocation(patch: Record<string, unknown>, tenantName?: string): FrrInput {
  const input = exampleInput();
  const t = input.tenants[0];
  const tenantPart = tenantName === undefined ? t.tenant : { ...t.tenant, name: tenantName };
  return {
    config: input.config,
    tenants: [
      {
        tenant: tenantPart,
        allocation: { ...t.allocation, ...(tenantName ? { tenant: tenantName } : {}), ...patch },
      },
    ],
  };
}

const HOSTILE_LINES = [
  "x\nrouter bgp 1",
  "x\rrouter bgp 1",
  "x\n",
  "a b",
  "a!b",
  "a#b",
  "",
  "\u0000",
  "é",
];

Deno.test("frr render: hostile VRF, tenant, RD and RT values throw FrrRenderError", () => {
  for (const v of [...HOSTILE_LINES, "default", "Default", "..", ".", "a".repeat(16)]) {
    assertThrows(() => renderFrrConfig(withAllocation({ vrf: v })), FrrRenderError, "vrf");
  }
  for (const v of [...HOSTILE_LINES, "-lead", "a".repeat(64)]) {
    assertThrows(() => renderFrrConfig(withAllocation({}, v)), FrrRenderError, "name");
  }
  for (
    const v of [
      ...HOSTILE_LINES,
      "65000:1\n",
      "65000:1 65000:2",
      "65000:1 route-map X",
      "1:99999999999",
      "4200000000:70000",
      "256.0.0.1:1",
      "192.0.2.1:65536",
      "065000:1",
      "65000",
      12345,
    ]
  ) {
    assertThrows(() => renderFrrConfig(withAllocation({ rd: v })), FrrRenderError, "rd");
    assertThrows(() => renderFrrConfig(withAllocation({ rt: v })), FrrRenderError, "rt");
  }
  assertThrows(
    () => renderFrrConfig(withAllocation({ tenant: "other" })),
    FrrRenderError,
    "allocation",
  );
});

Deno.test("frr render: hostile peer values throw FrrRenderError naming the field", () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ description: "x\nneighbor 198.51.100.1 remote-as 1" }, "description"],
    [{ description: "a!b" }, "description"],
    [{ description: "# comment" }, "description"],
    [{ description: "tab\there" }, "description"],
    [{ description: "d".repeat(81) }, "description"],
    [{ password: "pa ss" }, "password"],
    [{ password: "pa!ss" }, "password"],
    [{ password: "pa#ss" }, "password"],
    [{ password: "x\ny" }, "password"],
    [{ password: "" }, "password"],
    [{ address: "192.0.2.254\nrouter bgp 1" }, "address"],
    [{ address: "192.0.2.254 remote-as 1" }, "address"],
    [{ address: "peer.example" }, "address"],
    [{ update_source: "eth0 x" }, "update_source"],
    [{ update_source: "eth0\n" }, "update_source"],
    [{ remote_asn: 0 }, "remote_asn"],
    [{ remote_asn: 4294967296 }, "remote_asn"],
    [{ remote_asn: 1.5 }, "remote_asn"],
    [{ remote_asn: NaN }, "remote_asn"],
    [{ remote_asn: "65001\nx" }, "remote_asn"],
    [{ ebgp_multihop: 256 }, "ebgp_multihop"],
    [{ timers: { keepalive: 10, hold: 2 } }, "hold"],
    [{ timers: { keepalive: -1, hold: 30 } }, "keepalive"],
    [{ families: [] }, "families"],
    [{ families: ["vpnv4\nx"] }, "families"],
  ];
  for (const [patch, field] of cases) {
    const e = assertThrows(() => renderFrrConfig(withPeer(patch)), FrrRenderError, field);
    assert(e.field.includes("bgp.peers[0]"), e.field);
  }
  // Secrets are never echoed in the message.
  const e = assertThrows(
    () => renderFrrConfig(withPeer({ password: "hunter2 secret" })),
    FrrRenderError,
  );
  assert(!e.message.includes("hunter2"), e.message);
});

Deno.test("frr render: hostile global values throw; tenant prefixes never reach a line", () => {
  const input = exampleInput();
  input.config.bgp.router_id = "fd00::1";
  assertThrows(() => renderFrrConfig(input), FrrRenderError, "bgp.router_id");
  const input2 = exampleInput();
  input2.config.bgp.asn = 0;
  assertThrows(() => renderFrrConfig(input2), FrrRenderError, "bgp.asn");
  const forged: IpPrefix[] = [
    { family: 4, bytes: new Uint8Array([10, 0, 0, 0, 1]), length: 24 },
    { family: 4, bytes: new Uint8Array([10, 0, 0, 0]), length: 33 },
    { family: 6, bytes: new Uint8Array(4), length: 64 },
  ];
  const base = exampleInput();
  const t = base.tenants[0];
  const clean = renderFrrConfig({ config: base.config, tenants: [t] }).text;
  const bad: FrrInput = {
    config: base.config,
    tenants: [{ tenant: { ...t.tenant, prefixes: forged }, allocation: t.allocation }],
  };
  assertEquals(renderFrrConfig(bad).text, clean);
  const input3 = exampleInput();
  input3.config.tenants.policy.allowed = ["10.0.0.0/8", "10.0.0.0/40"];
  assertThrows(() => renderFrrConfig(input3), FrrRenderError, "tenants.policy.allowed[1]");
});

Deno.test("frr render: duplicate VRFs and peers are refused", () => {
  const input = exampleInput();
  const dup: FrrInput = {
    config: input.config,
    tenants: [tenant("a", 1001, [], "same"), tenant("b", 1002, [], "same")],
  };
  assertThrows(() => renderFrrConfig(dup), FrrRenderError, "VRF same");
  const peers = exampleInput();
  peers.config.bgp.peers.push({ ...peers.config.bgp.peers[0], address: "192.0.2.254" });
  assertThrows(() => renderFrrConfig(peers), FrrRenderError, "duplicate peer");
});

Deno.test("frr render: random descriptions never add a line (property)", () => {
  const baseline = renderFrrConfig(exampleInput()).text.split("\n").length;
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = [" ", "\n", "\r", "!", "#", "a", "Z", "0", "-", "\t", "\u2028", "\\", '"'];
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rnd() * 12);
    let s = "";
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    let text: string;
    try {
      text = renderFrrConfig(withPeer({ description: s })).text;
    } catch (e) {
      assert(e instanceof FrrRenderError, String(e));
      continue;
    }
    accepted++;
    assertEquals(text.split("\n").length, baseline, JSON.stringify(s));
    assert(!/[!#\r\t]/.test(text.replace(/^!$/gm, "")), JSON.stringify(s));
  }
  assert(accepted > 50, `only ${accepted} accepted`);
});
