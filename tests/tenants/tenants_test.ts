import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { ConfigError } from "../../src/config/mod.ts";
import { CompactV4Prefix, formatPrefix } from "../../src/net/mod.ts";
import {
  buildTenantSet,
  compilePolicy,
  loadTenantsFile,
  parseTenantsFile,
  type PrefixPolicy,
} from "../../src/tenants/mod.ts";

const OPEN: PrefixPolicy = compilePolicy({
  allowed: ["0.0.0.0/0", "::/0"],
  deny: [],
  max_prefixes_per_tenant: 100,
});
const LAB: PrefixPolicy = compilePolicy({
  allowed: ["10.0.0.0/8", "fd00::/8"],
  deny: ["10.96.0.0/12"],
  max_prefixes_per_tenant: 3,
});
const LAB_WIDE: PrefixPolicy = { ...LAB, maxPrefixesPerTenant: 100 };

function fileIssues(text: string, policy = OPEN) {
  return assertThrows(() => parseTenantsFile(text, { file: "t.yaml", policy }), ConfigError).issues;
}

Deno.test("tenants file: the shipped example parses", async () => {
  const raws = await loadTenantsFile("deploy/examples/tenants.yaml", { policy: LAB });
  assertEquals(raws.map((r) => [r.name, r.prefixes]), [
    ["demo", ["10.244.0.0/24", "fd00:10:244::/64"]],
    ["demo-b", ["10.245.0.0/24"]],
  ]);
});

Deno.test("tenants file: JSON is accepted too", () => {
  const raws = parseTenantsFile('{"tenants":[{"name":"a","prefixes":["10.1.0.0/16"]}]}', {
    file: "t.json",
    policy: OPEN,
  });
  assertEquals(raws[0].name, "a");
});

Deno.test("tenants file: default route, bad CIDR, outside policy — each with its line", () => {
  const text = `tenants:
  - name: demo
    prefixes:
      - 0.0.0.0/0
      - 10.244.0.1/24
      - 192.168.0.0/16
      - 10.96.1.0/24
      - ::/0
`;
  const issues = fileIssues(text, LAB_WIDE);
  assertEquals(issues.map((i) => [i.line, i.path]), [
    [4, "tenants[0].prefixes[0]"],
    [5, "tenants[0].prefixes[1]"],
    [6, "tenants[0].prefixes[2]"],
    [7, "tenants[0].prefixes[3]"],
    [8, "tenants[0].prefixes[4]"],
  ]);
  assert(issues[0].message.includes("default route"));
  assert(issues[1].message.includes("host bits set"));
  assert(issues[2].message.includes("outside the allowed ranges"));
  assert(issues[3].message.includes("denied range 10.96.0.0/12"));
});

Deno.test("tenants file: names with newline, semicolon, space or too long are rejected", () => {
  for (
    const bad of [
      '"demo\\nrouter bgp 1"',
      '"demo;reboot"',
      '"de mo"',
      `"${"a".repeat(64)}"`,
      '"-x"',
    ]
  ) {
    const issues = fileIssues(`tenants:\n  - name: ${bad}\n    prefixes: []\n`);
    assertEquals(issues[0].path, "tenants[0].name", bad);
    assertEquals(issues[0].line, 2);
  }
});

Deno.test("tenants file: duplicate tenant and shared prefix are errors", () => {
  const dupName = fileIssues(
    "tenants:\n  - {name: a, prefixes: []}\n  - {name: a, prefixes: []}\n",
  );
  assertEquals(dupName[0].path, "tenants[1].name");
  const shared = fileIssues(
    "tenants:\n  - {name: a, prefixes: [10.0.0.0/24]}\n  - {name: b, prefixes: [10.0.0.0/24]}\n",
  );
  assertEquals(shared[0].path, "tenants[1].prefixes[0]");
  assert(shared[0].message.includes("tenant a"));
});

Deno.test("tenants file: RT/RD overrides are validated", () => {
  const ok = parseTenantsFile(
    "tenants:\n  - {name: a, prefixes: [], rt: '65000:7', rd: '192.0.2.1:7'}\n",
    {
      file: "t",
      policy: OPEN,
    },
  );
  assertEquals([ok[0].rt, ok[0].rd], ["65000:7", "192.0.2.1:7"]);
  const bad = fileIssues("tenants:\n  - {name: a, prefixes: [], rt: '192.0.2.1:70000'}\n");
  assertEquals(bad[0].path, "tenants[0].rt");
  assert(bad[0].message.includes("0..65535"), bad[0].message);
});

Deno.test("buildTenantSet: hostile data is dropped with reasons, never passed on", () => {
  const set = buildTenantSet([
    { name: "demo", prefixes: ["10.244.0.5", "10.244.0.6/32", "bogus", "0.0.0.0/0", "fd00::1"] },
    { name: "demo", prefixes: ["10.244.0.7/32"] },
    { name: "evil;\nrouter bgp 1", prefixes: ["10.1.0.0/24"] },
    { name: "b", prefixes: ["10.244.0.6/32", "192.168.1.0/24", "10.97.0.0/16"] },
    { name: "big", prefixes: ["10.5.0.1", "10.5.0.2", "10.5.0.3", "10.5.0.4"] },
  ], LAB);
  assertEquals([...set.tenants.keys()], ["b", "demo"]);
  assertEquals(
    set.tenants.get("demo")!.prefixes.map(formatPrefix),
    ["10.244.0.5/32", "10.244.0.7/32", "fd00::1/128"],
  );
  assertEquals(set.tenants.get("b")!.prefixes.map(formatPrefix), []);
  const reasons = set.rejected.map((r) => `${r.tenant}|${r.prefix ?? ""}`);
  for (
    const want of [
      "demo|bogus",
      "demo|0.0.0.0/0",
      "evil;\nrouter bgp 1|",
      "b|192.168.1.0/24",
      "b|10.97.0.0/16",
      "demo|10.244.0.6/32",
      "b|10.244.0.6/32",
      "big|",
    ]
  ) {
    assert(
      reasons.includes(want),
      `missing rejection ${JSON.stringify(want)} in ${JSON.stringify(reasons)}`,
    );
  }
});

Deno.test("buildTenantSet: unsorted sources merged by name, first raw tenant leads, compact prefixes", () => {
  const policy = compilePolicy({ allowed: ["10.0.0.0/8"], deny: [], max_prefixes_per_tenant: 10 });
  const set = buildTenantSet([
    { name: "b", prefixes: ["10.2.0.1"] },
    { name: "a", prefixes: ["10.1.0.9/32", "10.1.0.10/32"], rt: "65000:1", origin: "first" },
    { name: "c", prefixes: ["10.3.0.0/16"] },
    { name: "a", prefixes: ["10.1.0.1", "10.1.0.9"], rt: "65000:2", origin: "second" },
  ], policy);
  assertEquals([...set.tenants.keys()], ["a", "b", "c"]);
  const a = set.tenants.get("a")!;
  assertEquals(a.rt, "65000:1");
  assertEquals(a.prefixes.map(formatPrefix), ["10.1.0.1/32", "10.1.0.9/32", "10.1.0.10/32"]);
  for (const t of set.tenants.values()) {
    for (const p of t.prefixes) assert(p instanceof CompactV4Prefix, formatPrefix(p));
  }
  assertEquals(set.rejected, []);
});
