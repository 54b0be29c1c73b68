import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { allocationSettings, validateAllocationConfig } from "../../src/allocate/mod.ts";
import { makeConfig } from "./_fixtures.ts";

Deno.test("validateAllocationConfig: 2-byte ASN may use 32-bit table ids", () => {
  assertEquals(validateAllocationConfig(makeConfig({ asn: 65000, max: 100000 })), []);
  assertEquals(validateAllocationConfig(makeConfig()), []);
});

Deno.test("validateAllocationConfig: 4-byte ASN or IPv4 base limits table_range.max", () => {
  const four = validateAllocationConfig(makeConfig({ asn: 4200000000, max: 65536 }));
  assertEquals(four.length, 1);
  assertEquals(four[0].path, "allocation.table_range.max");
  assertStringIncludes(four[0].message, "bgp.asn");
  assertStringIncludes(four[0].message, "65535");
  const ip = validateAllocationConfig(makeConfig({ rd_base: "192.0.2.1", max: 70000 }));
  assertEquals(ip.map((i) => i.path), ["allocation.table_range.max"]);
  assertStringIncludes(ip[0].message, "allocation.rd_base");
  const rt = validateAllocationConfig(makeConfig({ rt_base: 4200000001, max: 70000 }));
  assertEquals(rt.map((i) => i.path), ["allocation.table_range.max"]);
  assertStringIncludes(rt[0].message, "allocation.rt_base");
  assertEquals(validateAllocationConfig(makeConfig({ asn: 4200000000, max: 65535 })), []);
});

Deno.test("allocationSettings: rd_base defaults to bgp.asn, rt_base to rd_base", () => {
  const s = allocationSettings(makeConfig({ asn: 64512 }));
  assertEquals([s.rdAdmin, s.rtAdmin], [64512, 64512]);
  const t = allocationSettings(makeConfig({ asn: 64512, rd_base: "10.0.0.1" }));
  assertEquals([t.rdAdmin, t.rtAdmin], ["10.0.0.1", "10.0.0.1"]);
  const u = allocationSettings(makeConfig({ asn: 64512, rd_base: "65001", rt_base: 65002 }));
  assertEquals([u.rdAdmin, u.rtAdmin], [65001, 65002]);
});
