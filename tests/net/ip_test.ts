import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import {
  canonicalPrefix,
  compactPrefix,
  comparePrefixes,
  formatIp,
  formatPrefix,
  IpParseError,
  type IpPrefix,
  isDefaultRoute,
  parseIp,
  parsePrefix,
  prefixContains,
  tryParseIp,
  v4Number,
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

Deno.test("compact prefixes: same bytes, text, order and containment as parsed ones", () => {
  let seed = 5;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const plain: IpPrefix[] = [];
  for (let i = 0; i < 300; i++) {
    if (rnd(4) === 0) {
      const groups = Array.from({ length: 8 }, () => (rnd(3) === 0 ? 0 : rnd(65536)).toString(16));
      plain.push(parsePrefix(`${groups.join(":")}/${rnd(129)}`, { strict: false }));
    } else {
      const quad = Array.from({ length: 4 }, () => rnd(256)).join(".");
      plain.push(parsePrefix(`${quad}/${rnd(33)}`, { strict: false }));
    }
  }
  plain.push(parsePrefix("255.255.255.255/32"), parsePrefix("128.0.0.0/1"), parsePrefix("::/0"));
  const compact = plain.map((p) => compactPrefix(p));
  for (let i = 0; i < plain.length; i++) {
    const p = plain[i], c = compact[i];
    assertEquals(c.family, p.family);
    assertEquals(c.length, p.length);
    assertEquals([...c.bytes], [...p.bytes]);
    assertEquals(formatPrefix(c), formatPrefix(p));
    assertEquals(c.text, formatPrefix(p));
    assert(compactPrefix(c) === c);
    // Bytes handed out are copies: the prefix cannot be changed through them.
    c.bytes[0] ^= 0xff;
    assertEquals([...c.bytes], [...p.bytes]);
    for (let j = 0; j < plain.length; j += 7) {
      const q = plain[j], d = compact[j];
      const sign = Math.sign(comparePrefixes(p, q));
      assertEquals(Math.sign(comparePrefixes(c, d)), sign);
      assertEquals(Math.sign(comparePrefixes(c, q)), sign);
      assertEquals(prefixContains(c, d), prefixContains(p, q));
      assertEquals(prefixContains(p, d), prefixContains(p, q));
    }
  }
  assertEquals(v4Number(compactPrefix(parsePrefix("200.1.2.0/24"))), 0xc8010200);
  assertEquals(v4Number(parsePrefix("200.1.2.0/24")), 0xc8010200);
});
