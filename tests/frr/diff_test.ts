import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import {
  diffFrrConfig,
  FrrConflictError,
  type FrrInput,
  parseRunningConfig,
  renderFrrConfig,
} from "../../src/frr/mod.ts";
import {
  EXAMPLE_LEGACY_REMOVALS,
  exampleInput,
  legacyFrrConfig,
  rdRtChangeLines,
  tenant,
} from "./example.ts";

/** FRR 8.4.4's `show running-config` after applying the example (captured from a real FRR). */
const RUNNING = Deno.readTextFileSync(
  new URL("../fixtures/frr/example.running.conf", import.meta.url),
);

function diff(input: FrrInput, running: string, mode?: "full" | "incremental") {
  return diffFrrConfig(renderFrrConfig(input), parseRunningConfig(running), { mode });
}

/** The example's export policy entries (and route-maps, without `exit`), as the diff sends them. */
const POLICY_LINES = [
  "ip prefix-list VPNV4-EXPORT-V4 seq 5 deny 0.0.0.0/0",
  "ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.96.0.0/12 le 32",
  "ip prefix-list VPNV4-EXPORT-V4 seq 20 permit 10.0.0.0/8 le 32",
  "ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 172.16.0.0/12 le 32",
  "ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 192.168.0.0/16 le 32",
  "ipv6 prefix-list VPNV4-EXPORT-V6 seq 5 deny ::/0",
  "ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 permit fd00::/8 le 128",
  "route-map VPNV4-EXPORT-V4 permit 10",
  " match ip address prefix-list VPNV4-EXPORT-V4",
  "route-map VPNV4-EXPORT-V6 permit 10",
  " match ipv6 address prefix-list VPNV4-EXPORT-V6",
];

/** The example's tenant prefixes: never in anything sent to FRR. */
const TENANT_PREFIXES = ["10.244.0.0/24", "fd00:10:244::/64", "10.245.0.0/24"];

const OPERATOR = `
router bgp 65000 vrf operator
 address-family ipv4 unicast
  redistribute connected
  rd vpn export 1:1
 exit-address-family
exit
!
router bgp 65000 vrf opkernel
 address-family ipv4 unicast
  redistribute kernel route-map OPERATOR-RM
 exit-address-family
exit
!
route-map OPERATOR-RM permit 10
 match ip address prefix-list OPERATOR-PL
exit
ip prefix-list OPERATOR-PL seq 5 permit 192.168.0.0/16
ip prefix-list VPNV4-EXPORT-V4X seq 5 permit 10.0.0.0/8
route-map VPNV4-EXPORT permit 10
exit
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

Deno.test("frr diff: from empty sends every block once, the export policy once", () => {
  const input = exampleInput();
  const d = diff(input, "");
  assertEquals(d.empty, true);
  assertEquals(d.added, ["demo", "demo-b"]);
  assertEquals(d.globalChanged, true);
  // The batch is the rendered text without `exit` after route-maps (see diff.ts).
  const noExit = (ls: readonly string[]) => ls.filter((l) => l !== "exit").sort();
  const rendered = renderFrrConfig(input).text.split("\n").filter((l) => l && l !== "!");
  assertEquals(noExit(d.lines), noExit(rendered));
  assertEquals(d.lines.filter((l) => l === "exit").length, 3); // the three router bgp blocks
  // Policy first, in application order; every tenant instance refers to it.
  assertEquals(d.lines.slice(0, POLICY_LINES.length), POLICY_LINES);
  assertEquals(
    d.lines.filter((l) => l.startsWith("  redistribute kernel")),
    [4, 6, 4, 6].map((f) => `  redistribute kernel route-map VPNV4-EXPORT-V${f}`),
  );
  for (const p of TENANT_PREFIXES) assert(!d.lines.some((l) => l.includes(p)), p);
  // With 1000 tenants the policy is still sent once.
  const many = Array.from({ length: 1000 }, (_, i) => tenant(`t${i}`, 2000 + i, []));
  const big = diff({ config: input.config, tenants: many }, "");
  assertEquals(big.lines.filter((l) => l.includes("prefix-list VPNV4-")).length, 9);
  assertEquals(big.lines.filter((l) => l.startsWith("route-map ")).length, 2);
  assertEquals(big.lines.length, POLICY_LINES.length + 15 + 1000 * 19);
});

Deno.test("frr diff: operator configuration is left alone", () => {
  const d = diff(exampleInput(), RUNNING.replace("end\n", OPERATOR));
  assertEquals(d.lines, []);
  assertEquals(d.removed, []);
  // Without any tenant, the agent's instances and export policy go; the operator's instance
  // (one redistributing kernel routes through its own route-map) stays, and so do its lists
  // (even VPNV4-like names).
  const none = diff({ ...exampleInput(), tenants: [] }, RUNNING.replace("end\n", OPERATOR));
  assertEquals(none.lines.slice(0, 2), [
    "no router bgp 65000 vrf demo",
    "no router bgp 65000 vrf demo-b",
  ]);
  assert(
    none.lines.slice(2).every((l) =>
      /^no (ip |ipv6 )?(prefix-list|route-map) VPNV4-EXPORT-V[46]( |$)/.test(l)
    ),
    none.lines.join("\n"),
  );
  assertEquals(none.removed, ["demo", "demo-b"]);
});

Deno.test("frr diff: operator neighbor without the marker is never removed", () => {
  const running = RUNNING.replace(
    " neighbor 192.0.2.254 remote-as 65001\n",
    " neighbor 192.0.2.254 remote-as 65001\n neighbor 198.51.100.7 remote-as 65100\n" +
      " neighbor 198.51.100.7 description vpnv4-agentX operator\n",
  );
  assertEquals(diff(exampleInput(), running).lines, []);
});

Deno.test("frr diff: changed prefixes need no FRR line at all", () => {
  const input = exampleInput();
  for (
    const tenants of [
      [tenant("demo", 1001, ["10.244.0.0/24", "10.244.1.0/24"]), input.tenants[1]],
      [tenant("demo", 1001, []), tenant("demo-b", 1002, ["10.245.0.0/24", "fd00:1::/64"])],
      [
        tenant(
          "demo",
          1001,
          Array.from({ length: 500 }, (_, i) => `10.244.${i >> 8}.${i & 255}/32`),
        ),
        input.tenants[1],
      ],
    ]
  ) {
    const d = diff({ config: input.config, tenants }, RUNNING);
    assertEquals(d.lines, []);
    assertEquals([d.added, d.removed, d.changed, d.globalChanged], [[], [], [], false]);
  }
});

Deno.test("frr diff: changed RT and RD send only those lines", () => {
  const input = exampleInput();
  const demo = input.tenants[0];
  const tenants = [
    { tenant: demo.tenant, allocation: { ...demo.allocation, rt: "65000:7", rd: "192.0.2.1:7" } },
    input.tenants[1],
  ];
  const d = diff({ config: input.config, tenants }, RUNNING);
  assertEquals(d.lines, rdRtChangeLines("demo", { rd: "192.0.2.1:7", rt: "65000:7" }));
  assertEquals(d.changed, ["demo"]);
  assertEquals(d.globalChanged, false);
});

Deno.test("frr diff: a removed tenant loses its instance only; the last one the policy too", () => {
  const input = exampleInput();
  const d = diff({ config: input.config, tenants: [input.tenants[0]] }, RUNNING);
  assertEquals(d.lines, ["no router bgp 65000 vrf demo-b"]);
  assertEquals([d.removed, d.changed, d.globalChanged], [["demo-b"], [], false]);
  const none = diff({ config: input.config, tenants: [] }, RUNNING);
  assertEquals(none.lines, [
    "no router bgp 65000 vrf demo",
    "no router bgp 65000 vrf demo-b",
    ...RUNNING.split("\n").filter((l) => /^ipv?6? ?prefix-list VPNV4-EXPORT-/.test(l)).map((l) =>
      `no ${l}`
    ),
    "no route-map VPNV4-EXPORT-V4",
    "no route-map VPNV4-EXPORT-V6",
  ]);
  assertEquals(none.globalChanged, true);
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

Deno.test("frr diff: a changed policy updates only the changed prefix-list entries", () => {
  const withPolicy = (allowed: string[], deny: string[]) => {
    const input = exampleInput();
    input.config.tenants.policy = { ...input.config.tenants.policy, allowed, deny };
    return diff(input, RUNNING);
  };
  const ALLOWED = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"];
  // One more allowed range: one entry.
  let d = withPolicy([...ALLOWED, "100.64.0.0/10"], ["10.96.0.0/12"]);
  assertEquals(d.lines, ["ip prefix-list VPNV4-EXPORT-V4 seq 50 permit 100.64.0.0/10 le 32"]);
  assertEquals([d.globalChanged, d.changed, d.added, d.removed], [true, [], [], []]);
  // Another deny range: the old entry is removed before the new one is added.
  d = withPolicy(ALLOWED, ["10.112.0.0/12"]);
  assertEquals(d.lines, [
    "no ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.96.0.0/12 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 10 deny 10.112.0.0/12 le 32",
  ]);
  assertEquals(d.globalChanged, true);
  // A range removed from the middle: the following entry moves up a sequence number. FRR
  // ignores an entry duplicating another's prefix, so every removal comes before the adds.
  d = withPolicy(["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"], ["10.96.0.0/12"]);
  assertEquals(d.lines, [
    "no ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 172.16.0.0/12 le 32",
    "no ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 192.168.0.0/16 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 192.168.0.0/16 le 32",
  ]);
  // No IPv6 range allowed: IPv6 exports nothing (only the default-route deny is left).
  d = withPolicy(ALLOWED.slice(0, 3), ["10.96.0.0/12"]);
  assertEquals(d.lines, ["no ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 permit fd00::/8 le 128"]);
  // A host route as deny range: no `le`.
  d = withPolicy(ALLOWED, ["10.96.0.0/12", "10.1.2.3/32"]);
  assertEquals(d.lines, [
    "no ip prefix-list VPNV4-EXPORT-V4 seq 20 permit 10.0.0.0/8 le 32",
    "no ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 172.16.0.0/12 le 32",
    "no ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 192.168.0.0/16 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 20 deny 10.1.2.3/32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 30 permit 10.0.0.0/8 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 172.16.0.0/12 le 32",
    "ip prefix-list VPNV4-EXPORT-V4 seq 50 permit 192.168.0.0/16 le 32",
  ]);
});

Deno.test("frr diff: stray entries in the export policy are removed", () => {
  const running = RUNNING
    .replace(
      "ip prefix-list VPNV4-EXPORT-V4 seq 20 permit 10.0.0.0/8 le 32\n",
      "ip prefix-list VPNV4-EXPORT-V4 seq 15 permit 0.0.0.0/0 le 32\n" +
        "ip prefix-list VPNV4-EXPORT-V4 seq 20 permit 10.0.0.0/8 le 32\n",
    )
    .replace(
      "ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 192.168.0.0/16 le 32\n",
      "ip prefix-list VPNV4-EXPORT-V4 seq 40 permit 192.168.0.0/16 le 32\n" +
        "ip prefix-list VPNV4-EXPORT-V4 seq 45 permit 10.244.0.0/24\n",
    )
    .replace(
      "ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 permit fd00::/8 le 128\n",
      "ipv6 prefix-list VPNV4-EXPORT-V6 seq 10 permit fd00::/8 le 128\n" +
        "ip prefix-list VPNV4-EXPORT-V6 seq 5 permit 10.0.0.0/8\n",
    )
    .replace(
      "route-map VPNV4-EXPORT-V4 permit 10\n match ip address prefix-list VPNV4-EXPORT-V4\n",
      "route-map VPNV4-EXPORT-V4 permit 5\nexit\n" +
        "route-map VPNV4-EXPORT-V4 permit 10\n match ip address prefix-list VPNV4-EXPORT-V4\n" +
        " match tag 7\n",
    );
  assert(running !== RUNNING);
  const d = diff(exampleInput(), running);
  assertEquals(d.lines, [
    "no ip prefix-list VPNV4-EXPORT-V4 seq 15 permit 0.0.0.0/0 le 32",
    "no ip prefix-list VPNV4-EXPORT-V4 seq 45 permit 10.244.0.0/24",
    "no ip prefix-list VPNV4-EXPORT-V6 seq 5 permit 10.0.0.0/8",
    "no route-map VPNV4-EXPORT-V4 permit 5",
    "route-map VPNV4-EXPORT-V4 permit 10",
    " no match tag 7",
  ]);
  assertEquals([d.globalChanged, d.changed], [true, []]);
  // A missing route-map is created again.
  const gone = RUNNING.replace(
    "route-map VPNV4-EXPORT-V6 permit 10\n match ipv6 address prefix-list VPNV4-EXPORT-V6\nexit\n",
    "",
  );
  assertEquals(diff(exampleInput(), gone).lines, POLICY_LINES.slice(-2));
});

Deno.test("frr diff: per-VRF objects of earlier versions are migrated, nothing withdrawn", () => {
  const input = exampleInput();
  const legacy = legacyFrrConfig(input);
  const d = diff(input, legacy);
  const adopt = (vrf: string) => [
    `router bgp 65000 vrf ${vrf}`,
    " address-family ipv4 unicast",
    "  redistribute kernel route-map VPNV4-EXPORT-V4",
    " exit-address-family",
    " address-family ipv6 unicast",
    "  redistribute kernel route-map VPNV4-EXPORT-V6",
    " exit-address-family",
    "exit",
  ];
  const legacyRemovals = EXAMPLE_LEGACY_REMOVALS;
  // The policy first, then each instance switches its route-map (one command: FRR replaces
  // the route-map of a redistribution), then, unreferenced, the old objects go.
  assertEquals(d.lines, [...POLICY_LINES, ...adopt("demo"), ...adopt("demo-b"), ...legacyRemovals]);
  assertEquals([d.added, d.removed, d.changed], [[], [], ["demo", "demo-b"]]);
  assertEquals([d.globalChanged, d.empty], [true, false]);
  assert(!d.lines.some((l) => /^\s*no (router|redistribute|rd|rt|label|export|import)/.test(l)));
  // After the batch, FRR shows the example's running-config: nothing left to do.
  assertEquals(diff(input, RUNNING).lines, []);

  // A tenant gone since: its legacy instance is removed as well, its objects at the end.
  const one = diff({ config: input.config, tenants: [input.tenants[0]] }, legacy);
  assertEquals(one.lines, [
    "no router bgp 65000 vrf demo-b",
    ...POLICY_LINES,
    ...adopt("demo"),
    ...legacyRemovals,
  ]);
  assertEquals([one.removed, one.changed], [["demo-b"], ["demo"]]);

  // Left-over per-VRF objects (instance already migrated, or objects without an instance).
  const leftover = RUNNING.replace(
    "end\n",
    "ip prefix-list VPNV4-demo-V4 seq 10 permit 10.244.0.0/24\n" +
      "ip prefix-list VPNV4-gone-V4 seq 10 permit 10.9.0.0/24\n" +
      "route-map VPNV4-demo-V4 permit 10\n match ip address prefix-list VPNV4-demo-V4\nexit\n",
  );
  const left = diff(input, leftover);
  assertEquals(left.lines, [
    "no route-map VPNV4-demo-V4",
    "no ip prefix-list VPNV4-demo-V4",
    "no ip prefix-list VPNV4-gone-V4",
  ]);
  assertEquals([left.removed, left.changed, left.globalChanged], [["gone"], [], false]);
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
  assertEquals(diffFrrConfig(base, parseRunningConfig(running)).lines, []);
  many[500] = tenant("t500", 2500, ["10.1.244.0/24", "10.200.0.0/16", "fd00:500::/64"]);
  many[501] = { ...many[501], allocation: { ...many[501].allocation, rt: "65000:9501" } };
  many.splice(502, 1);
  many.push(tenant("new", 4000, ["10.250.0.0/24"]));
  const d = diffFrrConfig(
    renderFrrConfig({ config: input.config, tenants: many }),
    parseRunningConfig(running),
  );
  assertEquals([d.added, d.removed, d.changed, d.globalChanged], [
    ["new"],
    ["t502"],
    ["t501"],
    false,
  ]);
  // t500 (prefixes only): nothing; t502: one line; t501: its RT lines; new: its instance (19).
  const rt = (v: number) => [
    ` address-family ipv${v} unicast`,
    "  rt vpn both 65000:9501",
    " exit-address-family",
  ];
  // Tenants in VRF name order: new before t501.
  assertEquals(d.lines.slice(0, 2), ["no router bgp 65000 vrf t502", "router bgp 65000 vrf new"]);
  assertEquals(d.lines.slice(20), [
    "router bgp 65000 vrf t501",
    ...rt(4),
    ...rt(6),
    "exit",
  ]);
  assertEquals(d.lines.length, 1 + 19 + 8);
});
