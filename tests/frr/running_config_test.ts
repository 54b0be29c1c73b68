import { assert, assertEquals } from "../support/assert.ts";
import { parseRunningConfig, renderFrrConfig, RunningCache } from "../../src/frr/mod.ts";
import { exampleInput } from "./example.ts";

const SAMPLE = `Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname vm
service integrated-vtysh-config
!
router bgp 65000
 bgp router-id 192.0.2.1
 neighbor 192.0.2.254 remote-as 65001
 !
 address-family ipv4 vpn
  neighbor 192.0.2.254 activate
 exit-address-family
 !
 address-family l2vpn evpn
  vni 100
   rd 1:1
  exit-vni
 exit-address-family
exit
!
ip prefix-list VPNV4-EXPORT-V4 seq 5 deny 0.0.0.0/0
ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.96.0.0/12 le 32
!
route-map VPNV4-EXPORT-V4 permit 10
 match ip address prefix-list VPNV4-EXPORT-V4
exit
!
vrf blue
 ip route 10.0.0.0/8 blackhole
exit-vrf
!
end
`;

Deno.test("frr running-config: blocks, sections, one-liners and closers", () => {
  const blocks = parseRunningConfig(SAMPLE);
  assertEquals(blocks.map((b) => b.header), [
    "frr version 8.4.4",
    "frr defaults traditional",
    "hostname vm",
    "service integrated-vtysh-config",
    "router bgp 65000",
    "ip prefix-list VPNV4-EXPORT-V4 seq 5 deny 0.0.0.0/0",
    "ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.96.0.0/12 le 32",
    "route-map VPNV4-EXPORT-V4 permit 10",
    "vrf blue",
  ]);
  const bgp = blocks[4];
  assertEquals(bgp.lines, ["bgp router-id 192.0.2.1", "neighbor 192.0.2.254 remote-as 65001"]);
  assertEquals(bgp.sections, [
    { header: "address-family ipv4 vpn", lines: ["neighbor 192.0.2.254 activate"] },
    { header: "address-family l2vpn evpn", lines: ["vni 100", "rd 1:1", "exit-vni"] },
  ]);
  assertEquals(bgp.end, "exit");
  assertEquals(blocks[5].end, undefined);
  assertEquals(blocks[7].lines, ["match ip address prefix-list VPNV4-EXPORT-V4"]);
  assertEquals(blocks[8], {
    header: "vrf blue",
    lines: ["ip route 10.0.0.0/8 blackhole"],
    sections: [],
    end: "exit-vrf",
  });
});

Deno.test("frr running-config: rendered text parses back to the rendered blocks", () => {
  const r = renderFrrConfig(exampleInput());
  assertEquals(parseRunningConfig(r.text), r.blocks);
});

Deno.test("frr running-config: FRR shows the rendered blocks as rendered (example)", () => {
  // FRR 8.4.4's `show running-config` after applying the example (tests/fixtures/frr): the
  // incremental diff's fast path and the applier's cache rely on this display form.
  const text = Deno.readTextFileSync(
    new URL("../fixtures/frr/example.running.conf", import.meta.url),
  );
  const shown = parseRunningConfig(text).filter((b) =>
    /^(router bgp|ipv?6? ?prefix-list|route-map) /.test(b.header)
  );
  const key = (b: unknown) => JSON.stringify(b);
  assertEquals(shown.map(key).sort(), renderFrrConfig(exampleInput()).blocks.map(key).sort());
});

Deno.test("frr running-config: CRLF, tabs and trailing blanks", () => {
  const blocks = parseRunningConfig("router bgp 1\r\n\tbgp router-id 1.1.1.1  \r\nexit\r\n");
  assertEquals(blocks, [{
    header: "router bgp 1",
    lines: ["bgp router-id 1.1.1.1"],
    sections: [],
    end: "exit",
  }]);
});

Deno.test("frr running-config: garbage never throws (seeded fuzz)", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pieces = [
    "router bgp 65000",
    " address-family ipv4 unicast",
    "  exit-address-family",
    " exit-address-family",
    "exit",
    "exit-vrf",
    "end",
    "!",
    "#",
    " ",
    "\n",
    "\r",
    "\t",
    "\u0000",
    "vrf x",
    "ip prefix-list VPNV4-x-V4 seq 10 permit 1.2.3.4/32",
    "route-map VPNV4-x-V4 permit 10",
    "\ud800",
    "é",
    "neighbor",
  ];
  let total = 0;
  for (let i = 0; i < 3000; i++) {
    let s = "";
    const n = Math.floor(rnd() * 40);
    for (let j = 0; j < n; j++) s += pieces[Math.floor(rnd() * pieces.length)];
    const blocks = parseRunningConfig(s);
    total += blocks.length;
    for (const b of blocks) {
      assert(typeof b.header === "string" && b.header.length > 0);
      assert(!b.header.includes("\n"));
    }
  }
  assert(total > 0);
  // Non-string input (from a careless caller) is not a crash either.
  assertEquals(parseRunningConfig(undefined as unknown as string), []);
});

Deno.test("frr running-config: a large input is parsed in one pass", () => {
  const line = " neighbor 10.0.0.1 remote-as 1\n";
  const text = "router bgp 1\n" + line.repeat(200_000) + "x".repeat(1_000_000) + "\n";
  const blocks = parseRunningConfig(text);
  assertEquals(blocks.length, 2);
  assertEquals(blocks[0].lines.length, 200_000);
});

Deno.test("running cache: blocks come back as parsed, whatever their lines hold", () => {
  // The cache keeps instances packed; odd operator lines (quotes, backslashes, non-ASCII,
  // JSON-looking text) must come back unchanged, and blocks without a closing line too.
  const text = [
    "router bgp 65000",
    " bgp router-id 192.0.2.1",
    "exit",
    "router bgp 65000 vrf opvrf",
    ' neighbor 192.0.2.9 description "op\\"s" [1,2] {x} é',
    " address-family ipv4 unicast",
    "  redistribute static",
    " exit-address-family",
    "exit",
    "router bgp 65000 vrf odd",
    "ip prefix-list VPNV4-EXPORT-V4 seq 5 deny 0.0.0.0/0",
  ].join("\n");
  const blocks = parseRunningConfig(text);
  const cache = new RunningCache(blocks);
  assertEquals(cache.vrfs().sort(), ["odd", "opvrf"]);
  assertEquals(cache.blocksFor(["opvrf", "odd", "missing"]), [
    blocks[0],
    blocks[3],
    blocks[1],
    blocks[2],
  ]);
});
