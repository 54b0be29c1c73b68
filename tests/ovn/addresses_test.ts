import { assert, assertEquals } from "../support/assert.ts";
import { parsePortAddresses, parseSwitchSubnets } from "../../src/ovn/mod.ts";
import { formatPrefix } from "../../src/net/mod.ts";
import { FastPolicy, formatV4, parseV4 } from "../../src/ovn/fast_ip.ts";
import { compilePolicy, prefixViolation } from "../../src/tenants/mod.ts";

Deno.test("ovn addresses: MAC IP [IP…], keywords, dynamic, neutron:cidrs, IPv6", () => {
  const r = parsePortAddresses({
    addresses: [
      "0a:00:00:00:00:01 10.0.0.5 fd00::5",
      "unknown",
      "router",
      "dynamic",
      "0a:00:00:00:00:02 dynamic",
      "0a:00:00:00:00:03   10.0.0.5\t10.0.0.6",
    ],
    dynamic_addresses: "0a:00:00:00:00:02 10.0.0.7 FD00:0:0::7",
    neutronCidrs: "10.0.0.8/24 fd00::8/64",
  });
  assertEquals(r.problems, []);
  assertEquals(r.addresses.map((a) => a.text), [
    "10.0.0.5",
    "fd00::5",
    "10.0.0.6",
    "10.0.0.7",
    "fd00::7",
    "10.0.0.8",
    "fd00::8",
  ]);
  assertEquals(formatPrefix(r.addresses[5].onLink!), "10.0.0.0/24");
});

Deno.test("ovn addresses: unparsable tokens are reported, not thrown", () => {
  const r = parsePortAddresses({
    addresses: ["0a:00:00:00:00:01 10.0.0.256 010.0.0.1 1.2.3 zz::1 10.0.0.9", "x".repeat(5000)],
    neutronCidrs: "10.0.0.1/33",
  });
  assertEquals(r.addresses.map((a) => a.text), ["10.0.0.9"]);
  assertEquals(r.problems.length, 6, r.problems.join("\n"));
});

Deno.test("ovn addresses: switch subnets from other_config", () => {
  const problems: string[] = [];
  const s = parseSwitchSubnets(
    new Map([["subnet", "10.1.0.0/24 10.2.0.0/16,bogus"], ["ipv6_prefix", "fd00:1::"]]),
    problems,
  );
  assertEquals(s.map(formatPrefix), ["10.1.0.0/24", "10.2.0.0/16", "fd00:1::/64"]);
  assertEquals(problems.length, 1);
});

Deno.test("ovn fast IPv4 path agrees with src/net and the policy", () => {
  for (
    const t of [
      "0.0.0.0",
      "255.255.255.255",
      "10.1.2.3",
      "1.2.3.04",
      "256.1.1.1",
      "1..2.3",
      "1.2.3.4.",
    ]
  ) {
    const v = parseV4(t);
    const ok =
      /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/
        .test(t);
    assertEquals(v >= 0, ok, t);
    if (ok) assertEquals(formatV4(v), t);
  }
  const policy = compilePolicy({
    allowed: ["10.0.0.0/8", "192.168.0.0/16"],
    deny: ["10.9.0.0/16"],
    max_prefixes_per_tenant: 10,
  });
  const fast = new FastPolicy(policy);
  for (
    const [net, len] of [["10.1.0.0", 24], ["10.9.1.0", 24], ["11.0.0.0", 8], ["0.0.0.0", 0], [
      "192.168.1.1",
      32,
    ]] as const
  ) {
    const v = parseV4(net);
    const ref = prefixViolation(
      { family: 4, bytes: new Uint8Array(net.split(".").map(Number)), length: len },
      policy,
    );
    assertEquals(fast.v4Violation(v, len), ref, `${net}/${len}`);
  }
  assert(fast.v4Violation(0, 0)?.includes("default route"));
});
