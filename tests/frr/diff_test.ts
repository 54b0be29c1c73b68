import { assertEquals, assertThrows } from "../support/assert.ts";
import {
  diffFrrConfig,
  FrrConflictError,
  type FrrInput,
  parseRunningConfig,
  renderFrrConfig,
} from "../../src/frr/mod.ts";
import { exampleInput, tenant } from "./example.ts";

/** FRR 8.4.4's `show running-config` after applying the example (captured from a real FRR). */
const RUNNING = Deno.readTextFileSync(
  new URL("../fixtures/frr/example.running.conf", import.meta.url),
);

function diff(input: FrrInput, running: string, mode?: "full" | "incremental") {
  return diffFrrConfig(renderFrrConfig(input), parseRunningConfig(running), { mode });
}

const OPERATOR = `
router bgp 65000 vrf operator
 address-family ipv4 unicast
  redistribute connected
  rd vpn export 1:1
 exit-address-family
exit
!
route-map OPERATOR-RM permit 10
 match ip address prefix-list OPERATOR-PL
exit
ip prefix-list OPERATOR-PL seq 5 permit 192.168.0.0/16
vrf operator
 ip route 10.99.0.0/16 blackhole
exit-vrf
`;

Deno.test("frr diff: FRR's normalised running-config of the example needs nothing", () => {
  const d = diff(exampleInput(), RUNNING);
  assertEquals(d.lines, []);
  assertEquals([d.added, d.removed, d.changed, d.globalChanged, d.empty], [
    [],
    [],
    [],
    false,
    false,
  ]);
});

Deno.test("frr diff: from empty sends every block once", () => {
  const input = exampleInput();
  const d = diff(input, "");
  assertEquals(d.empty, true);
  assertEquals(d.added, ["demo", "demo-b"]);
  // The batch is the rendered text without `exit` after route-maps (see diff.ts).
  const noExit = (ls: readonly string[]) => ls.filter((l) => l !== "exit").sort();
  const rendered = renderFrrConfig(input).text.split("\n").filter((l) => l && l !== "!");
  assertEquals(noExit(d.lines), noExit(rendered));
  assertEquals(d.lines.filter((l) => l === "exit").length, 3); // the three router bgp blocks
});

Deno.test("frr diff: operator configuration is left alone", () => {
  const d = diff(exampleInput(), RUNNING.replace("end\n", OPERATOR));
  assertEquals(d.lines, []);
  assertEquals(d.removed, []);
});

Deno.test("frr diff: operator neighbor without the marker is never removed", () => {
  const running = RUNNING.replace(
    " neighbor 192.0.2.254 remote-as 65001\n",
    " neighbor 192.0.2.254 remote-as 65001\n neighbor 198.51.100.7 remote-as 65100\n" +
      " neighbor 198.51.100.7 description vpnv4-agentX operator\n",
  );
  assertEquals(diff(exampleInput(), running).lines, []);
});

Deno.test("frr diff: changed prefixes touch only the prefix-list entries", () => {
  const input = exampleInput();
  const tenants = [
    tenant("demo", 1001, ["10.244.0.0/24", "10.244.1.0/24"]),
    input.tenants[1],
  ];
  const d = diff({ config: input.config, tenants }, RUNNING);
  assertEquals(d.lines, [
    "no ipv6 prefix-list VPNV4-demo-V6 seq 10 permit fd00:10:244::/64",
    "ip prefix-list VPNV4-demo-V4 seq 20 permit 10.244.1.0/24",
  ]);
  assertEquals(d.changed, ["demo"]);
  assertEquals(d.added, []);
});

Deno.test("frr diff: changed RT and RD send only those lines", () => {
  const input = exampleInput();
  const demo = input.tenants[0];
  const tenants = [
    { tenant: demo.tenant, allocation: { ...demo.allocation, rt: "65000:7", rd: "192.0.2.1:7" } },
    input.tenants[1],
  ];
  const d = diff({ config: input.config, tenants }, RUNNING);
  const af = (v: number) => [
    ` address-family ipv${v} unicast`,
    "  rd vpn export 192.0.2.1:7",
    "  rt vpn both 65000:7",
    " exit-address-family",
  ];
  assertEquals(d.lines, ["router bgp 65000 vrf demo", ...af(4), ...af(6), "exit"]);
  assertEquals(d.changed, ["demo"]);
});

Deno.test("frr diff: a removed tenant loses its instance, VRF, route-maps, prefix-lists", () => {
  const input = exampleInput();
  const d = diff({ config: input.config, tenants: [input.tenants[0]] }, RUNNING);
  assertEquals(d.lines, [
    "no router bgp 65000 vrf demo-b",
    "no route-map VPNV4-demo-b-V4",
    "no ip prefix-list VPNV4-demo-b-V4",
    "no route-map VPNV4-demo-b-V6",
  ]);
  assertEquals(d.removed, ["demo-b"]);
});

Deno.test("frr diff: a VRF block (the operator's: the agent writes none) is never deleted", () => {
  const input = exampleInput();
  const running = RUNNING.replace(
    "end\n",
    "vrf demo-b\n ip route 10.0.0.0/8 blackhole\nexit-vrf\n",
  );
  const d = diff({ config: input.config, tenants: [input.tenants[0]] }, running);
  assertEquals(d.lines.filter((l) => l.includes("vrf demo-b")), ["no router bgp 65000 vrf demo-b"]);
});

Deno.test("frr diff: stray entries in agent objects are removed", () => {
  const running = RUNNING
    .replace(
      "ip prefix-list VPNV4-demo-V4 seq 10 permit 10.244.0.0/24\n",
      "ip prefix-list VPNV4-demo-V4 seq 10 permit 10.244.0.0/24\n" +
        "ip prefix-list VPNV4-demo-V4 seq 15 permit 10.0.0.0/8 le 32\n" +
        "ip prefix-list VPNV4-demo-V4 seq 16 permit 10.244.0.0/24\n",
    )
    .replace(
      "route-map VPNV4-demo-V4 permit 10\n",
      "route-map VPNV4-demo-V4 permit 5\nexit\n" + "route-map VPNV4-demo-V4 permit 10\n",
    );
  const d = diff(exampleInput(), running);
  assertEquals(d.lines, [
    "no ip prefix-list VPNV4-demo-V4 seq 15 permit 10.0.0.0/8 le 32",
    "no ip prefix-list VPNV4-demo-V4 seq 16 permit 10.244.0.0/24",
    "no route-map VPNV4-demo-V4 permit 5",
  ]);
});

Deno.test("frr diff: peer changes, removal and activation", () => {
  const input = exampleInput();
  input.config.bgp.peers[0] = {
    ...input.config.bgp.peers[0],
    description: "fortigate-2",
    timers: undefined,
    families: ["vpnv4", "ipv4"],
  };
  input.config.bgp.peers.push({
    address: "192.0.2.253",
    remote_asn: 65002,
    families: ["vpnv4"],
  });
  const d = diff(input, RUNNING);
  assertEquals(d.lines, [
    "router bgp 65000",
    " no neighbor 192.0.2.254 timers 10 30",
    " neighbor 192.0.2.254 description vpnv4-agent fortigate-2",
    " neighbor 192.0.2.253 remote-as 65002",
    " neighbor 192.0.2.253 description vpnv4-agent",
    " address-family ipv4 unicast",
    "  neighbor 192.0.2.254 activate",
    " exit-address-family",
    " address-family ipv4 vpn",
    "  neighbor 192.0.2.253 activate",
    " exit-address-family",
    " address-family ipv6 vpn",
    "  no neighbor 192.0.2.254 activate",
    " exit-address-family",
    "exit",
  ]);
  assertEquals(d.globalChanged, true);
  const gone = exampleInput();
  gone.config.bgp.peers = [];
  assertEquals(diff(gone, RUNNING).lines, ["router bgp 65000", " no neighbor 192.0.2.254", "exit"]);
});

Deno.test("frr diff: another ASN on the default instance is a conflict", () => {
  const input = exampleInput();
  input.config.bgp.asn = 65010;
  assertThrows(() => diff(input, RUNNING), FrrConflictError, "router bgp 65000");
});

Deno.test("frr diff: full mode re-sends every block", () => {
  const input = exampleInput();
  const d = diff(input, RUNNING, "full");
  const rendered = renderFrrConfig(input).text.split("\n").filter((l) => l && l !== "!");
  assertEquals(d.lines.filter((l) => l !== "exit"), rendered.filter((l) => l !== "exit"));
});

Deno.test("frr diff: cost of one changed tenant among 1000 is only its lines", () => {
  const input = exampleInput();
  const many = Array.from(
    { length: 1000 },
    (_, i) => tenant(`t${i}`, 2000 + i, [`10.${i >> 8}.${i & 255}.0/24`]),
  );
  const base = renderFrrConfig({ config: input.config, tenants: many });
  const running = base.text;
  many[500] = tenant("t500", 2500, ["10.1.244.0/24", "10.200.0.0/16"]);
  many.push(tenant("new", 4000, ["10.250.0.0/24"]));
  const d = diffFrrConfig(
    renderFrrConfig({ config: input.config, tenants: many }),
    parseRunningConfig(running),
  );
  assertEquals(d.changed, ["t500"]);
  assertEquals(d.added, ["new"]);
  // t500: one prefix-list entry; new: 1 entry, 2 route-maps (4, no exit), instance (19).
  assertEquals(d.lines.slice(0, 2), [
    "ip prefix-list VPNV4-new-V4 seq 10 permit 10.250.0.0/24",
    "ip prefix-list VPNV4-t500-V4 seq 20 permit 10.200.0.0/16",
  ]);
  assertEquals(d.lines.length, 1 + 1 + 4 + 19);
});
