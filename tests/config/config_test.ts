import { assert, assertEquals, assertRejects, assertThrows } from "../support/assert.ts";
import { ConfigError, configSchema, loadConfig, parseWithSchema } from "../../src/config/mod.ts";

const BASE = `bgp:
  asn: 65000
  router_id: 192.0.2.1
  peers:
    - address: 192.0.2.254
      remote_asn: 65001
tenants:
  sources:
    - type: file
      path: tenants.yaml
`;

function parse(text: string) {
  return parseWithSchema(text, configSchema, { file: "test.yaml" });
}

function issuesOf(text: string) {
  return assertThrows(() => parse(text), ConfigError).issues;
}

Deno.test("config: minimal file gets the documented defaults", () => {
  const c = parse(BASE);
  assertEquals(c.bgp.peers[0].families, ["vpnv4", "vpnv6"]);
  assertEquals(c.allocation.table_range, { min: 1000, max: 1999 });
  assertEquals(c.kernel, { vrf_mode: "device", mpls: "auto", route_protocol: 245 });
  assertEquals(c.http.listen, "127.0.0.1:9183");
  assertEquals(c.log, { level: "info", format: "text" });
  assertEquals(c.frr.vtysh, "/usr/bin/vtysh");
});

Deno.test("config: the shipped example is valid", async () => {
  const c = await loadConfig("deploy/examples/vpnv4-agent.yaml");
  assertEquals(c.bgp.asn, 65000);
  const src = c.tenants.sources[0];
  assert(src.type === "file");
  // relative paths resolve against the config file's folder
  assert(src.path.endsWith("deploy/examples/tenants.yaml"), src.path);
});

Deno.test("config: unknown key is named with its line and column", () => {
  const issues = issuesOf(BASE.replace("  asn: 65000\n", "  asn: 65000\n  colour: blue\n"));
  assertEquals(issues, [{ path: "bgp.colour", line: 3, column: 3, message: "unknown key" }]);
});

Deno.test("config: wrong type names the field and the line", () => {
  const issues = issuesOf(BASE.replace("remote_asn: 65001", "remote_asn: sixty"));
  assertEquals(issues.length, 1);
  assertEquals(issues[0].path, "bgp.peers[0].remote_asn");
  assertEquals(issues[0].line, 6);
  assertEquals(issues[0].column, 19);
});

Deno.test("config: 4-byte ASN accepted, out-of-range ASN rejected", () => {
  assertEquals(parse(BASE.replace("asn: 65000", "asn: 4200000001")).bgp.asn, 4200000001);
  const issues = issuesOf(BASE.replace("asn: 65000", "asn: 4294967296"));
  assertEquals(issues[0].path, "bgp.asn");
  assertEquals(issues[0].line, 2);
});

Deno.test("config: bad CIDR in the policy, bad router id, bad listen", () => {
  const text = BASE.replace("router_id: 192.0.2.1", "router_id: 192.0.2") +
    "  policy:\n    allowed: [10.0.0.1/8]\nhttp:\n  listen: 0.0.0.0\n";
  const issues = issuesOf(text);
  assertEquals(issues.map((i) => i.path), [
    "bgp.router_id",
    "tenants.policy.allowed[0]",
    "http.listen",
  ]);
  assertEquals(issues[1].line, 12);
});

Deno.test("config: YAML syntax error has a line", () => {
  const issues = issuesOf("bgp: [\n");
  assert(issues[0].line !== undefined);
  assert(issues[0].message.startsWith("YAML:"));
});

Deno.test("config: duplicate keys and duplicate peers are errors", () => {
  assertThrows(() => parse(BASE + "bgp:\n  asn: 1\n"), ConfigError, "Map keys must be unique");
  const dup = BASE.replace(
    "      remote_asn: 65001\n",
    "      remote_asn: 65001\n    - address: 192.0.2.254\n      remote_asn: 65002\n",
  );
  assertThrows(() => parse(dup), ConfigError, "duplicate peer 192.0.2.254");
});

Deno.test("config: peer description cannot inject FRR lines", () => {
  for (const bad of ['"x\\nrouter bgp 1"', '"a ! b"', '"# c"']) {
    const issues = issuesOf(
      BASE.replace("remote_asn: 65001", `remote_asn: 65001\n      description: ${bad}`),
    );
    assertEquals(issues[0].path, "bgp.peers[0].description");
  }
});

Deno.test("config: peer password cannot carry FRR comment characters", () => {
  for (const bad of ['"abc!def"', '"abc#def"', '"a b"']) {
    const issues = issuesOf(
      BASE.replace("remote_asn: 65001", `remote_asn: 65001\n      password: ${bad}`),
    );
    assertEquals(issues[0].path, "bgp.peers[0].password", bad);
  }
  assertEquals(
    parse(BASE.replace("remote_asn: 65001", "remote_asn: 65001\n      password: s3cr$t")).bgp
      .peers[0].password,
    "s3cr$t",
  );
});

Deno.test("config: missing file is a ConfigError naming the path", async () => {
  await assertRejects(() => loadConfig("/nonexistent/x.yaml"), ConfigError, "/nonexistent/x.yaml");
});
