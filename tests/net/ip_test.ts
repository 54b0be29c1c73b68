import { assertEquals, assertThrows } from "../support/assert.ts";
import {
  canonicalPrefix,
  formatIp,
  IpParseError,
  isDefaultRoute,
  parseIp,
  parsePrefix,
  prefixContains,
  tryParseIp,
} from "../../src/net/mod.ts";

Deno.test("parseIp: IPv4 and IPv6 round-trip canonically", () => {
  const cases: Array<[string, string]> = [
    ["10.244.0.1", "10.244.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["FD00:10:244::1", "fd00:10:244::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
    ["2001:db8:1:1:1:1:1:1", "2001:db8:1:1:1:1:1:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
  ];
  for (const [input, want] of cases) assertEquals(formatIp(parseIp(input)), want, input);
});

Deno.test("parseIp: rejects malformed addresses with the text in the message", () => {
  for (
    const bad of [
      "",
      "10.0.0",
      "10.0.0.256",
      "010.0.0.1",
      "1.2.3.4.5",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "g::1",
      "10.0.0.1\n",
      " 10.0.0.1",
      "::1;reboot",
    ]
  ) {
    assertEquals(tryParseIp(bad), undefined, JSON.stringify(bad));
  }
  const e = assertThrows(() => parseIp("1.2.3"), IpParseError);
  assertEquals(e.message, 'invalid IP address "1.2.3"');
});

Deno.test("parsePrefix: strict host bits, lengths, bare addresses", () => {
  assertEquals(canonicalPrefix("10.244.0.0/24"), "10.244.0.0/24");
  assertEquals(canonicalPrefix("fd00:10:244:0::/64"), "fd00:10:244::/64");
  assertThrows(() => parsePrefix("10.244.0.1/24"), IpParseError, "host bits set");
  assertEquals(canonicalPrefix("10.244.0.1/24", { strict: false }), "10.244.0.0/24");
  assertThrows(() => parsePrefix("10.0.0.0/33"), IpParseError, "0..32");
  assertThrows(() => parsePrefix("10.0.0.0/024"), IpParseError, "0..32");
  assertThrows(() => parsePrefix("::/129"), IpParseError, "0..128");
  assertThrows(() => parsePrefix("10.0.0.1"), IpParseError, "missing /length");
  assertEquals(canonicalPrefix("10.0.0.1", { allowBareAddress: true }), "10.0.0.1/32");
  assertEquals(canonicalPrefix("fd00::5", { allowBareAddress: true }), "fd00::5/128");
});

Deno.test("prefixContains and isDefaultRoute", () => {
  const p = (s: string) => parsePrefix(s);
  assertEquals(prefixContains(p("10.0.0.0/8"), p("10.244.0.0/24")), true);
  assertEquals(prefixContains(p("10.0.0.0/8"), p("11.0.0.0/24")), false);
  assertEquals(prefixContains(p("10.244.0.0/24"), p("10.0.0.0/8")), false);
  assertEquals(prefixContains(p("fd00::/8"), p("10.0.0.0/8")), false);
  assertEquals(prefixContains(p("fd00::/8"), p("fd00:10:244::/64")), true);
  assertEquals(isDefaultRoute(p("0.0.0.0/0")), true);
  assertEquals(isDefaultRoute(p("::/0")), true);
  assertEquals(isDefaultRoute(p("0.0.0.0/1")), false);
});
