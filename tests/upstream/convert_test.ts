/**
 * Upstream ovn-bgp-agent INI → vpnv4-agent config: the sample INIs convert into configs the
 * schema accepts, every option is mapped or named, and what cannot be converted is an error
 * located as file:line: section.key.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { configSchema } from "../../src/config/mod.ts";
import {
  type Conversion,
  convertUpstream,
  formatUpstreamIssue,
  UpstreamConfigError,
  type UpstreamIssue,
} from "../../src/upstream/mod.ts";

const FIXTURES = new URL("../fixtures/upstream/", import.meta.url).pathname;
const FILE = "bgp-agent.conf";
/** A minimal convertible INI; tests append or replace lines. */
const BASE = [
  "[DEFAULT]",
  "driver = ovn_bgp_driver",
  "bgp_AS = 64999",
  "bgp_router_id = 192.0.2.10",
  "ovsdb_connection = unix:/run/openvswitch/db.sock",
  "[ovn]",
  "ovn_sb_connection = tcp:10.0.0.1:6642",
];

function ini(...defaults: string[]): string {
  return [BASE[0], ...BASE.slice(1, 5), ...defaults, ...BASE.slice(5)].join("\n") + "\n";
}

function convert(text: string, routerId?: string): Conversion {
  return convertUpstream(text, { file: FILE, routerId });
}

function problems(text: string, routerId?: string): string[] {
  const e = assertThrows(() => convert(text, routerId), UpstreamConfigError);
  return e.problems.map(formatUpstreamIssue);
}

function findings(c: Conversion, severity: UpstreamIssue["severity"]): string[] {
  return c.findings.filter((f) => f.severity === severity).map(formatUpstreamIssue);
}

function hasFinding(list: string[], part: string): void {
  assert(
    list.some((l) => l.includes(part)),
    `no finding with ${JSON.stringify(part)} in:\n${list.join("\n")}`,
  );
}

async function fixture(name: string, routerId?: string): Promise<Conversion> {
  const path = `${FIXTURES}${name}`;
  return convertUpstream(await Deno.readTextFile(path), { file: path, routerId });
}

Deno.test("convert: the seed's ConfigMap INI converts (router id given) and validates", async () => {
  const c = await fixture("seed-image-configmap.conf", "192.0.2.1");
  const cfg = configSchema.parse(c.document); // what is printed validates on its own
  assertEquals(cfg.bgp, { asn: 64999, router_id: "192.0.2.1", peers: [] });
  assertEquals(cfg.expose.enabled, true);
  assertEquals(cfg.expose.binding_source, "sb");
  assertEquals(cfg.expose.sb_connection, "tcp:ovn-ovsdb-sb.openstack.svc.cluster.local:6642");
  assertEquals(cfg.expose.nb_connection, "tcp:ovn-ovsdb-nb.openstack.svc.cluster.local:6641");
  assertEquals(cfg.expose.sb_tls, undefined);
  assertEquals(cfg.expose.chassis.ovs_connection, "unix:/run/openvswitch/db.sock");
  assertEquals([cfg.expose.method, cfg.expose.vrf, cfg.expose.table, cfg.expose.nic], [
    "table",
    "bgp-vrf",
    10,
    "bgp-nic",
  ]);
  assertEquals(cfg.expose.select.tenant_networks, false);
  assertEquals(cfg.expose.select.provider_networks && cfg.expose.select.floating_ips, true);
  assertEquals(cfg.reconcile.interval_s, 120);
  assertEquals(cfg.log.level, "debug");
  assertEquals(cfg.tenants.sources, []);
  assertEquals(c.config, cfg);
  // The seed's "driver=ovn_bgp_driver   # SB DB BGP Driver" is named, with its line.
  hasFinding(findings(c, "warning"), `seed-image-configmap.conf:6: DEFAULT.driver: inline comment`);
  hasFinding(findings(c, "note"), "bgp.peers is empty");
});

const SEED_RST = "/work/shared/seeds/upstream-agent-image.rst";
const seedRst = (() => {
  try {
    return Deno.readTextFileSync(SEED_RST);
  } catch {
    return undefined;
  }
})();

Deno.test({
  name: "convert: the seed fixture is the ConfigMap INI of upstream-agent-image.rst",
  ignore: seedRst === undefined, // the seeds live outside the repository
  fn: () => {
    const start = seedRst!.indexOf("      bgp-agent.conf: |\n");
    const end = seedRst!.indexOf("Docker Standalone Example");
    assert(start > 0 && end > start);
    const block = seedRst!.slice(start, end).split("\n").slice(1)
      .map((l) => l.startsWith("        ") ? l.slice(8) : l.trim()).join("\n").trimEnd();
    const fixture = Deno.readTextFileSync(`${FIXTURES}seed-image-configmap.conf`).trimEnd();
    assertEquals(fixture, block);
  },
});

Deno.test("convert: the seed's INI without a router id is a clear error", () => {
  const path = `${FIXTURES}seed-image-configmap.conf`;
  const e = assertThrows(
    () => convertUpstream(Deno.readTextFileSync(path), { file: path }),
    UpstreamConfigError,
  );
  assertEquals(e.problems.length, 1);
  assertStringIncludes(e.message, `${path}: DEFAULT.bgp_router_id: not set`);
  assertStringIncludes(e.message, "--router-id");
  assertEquals(e.name, "ConfigError"); // exit code 2
});

Deno.test("convert: SB driver over TLS with tenant networks (networker node)", async () => {
  const c = await fixture("sb-tls.conf");
  const cfg = configSchema.parse(c.document);
  assertEquals(cfg.bgp.asn, 4200000101);
  assertEquals(cfg.bgp.router_id, "172.30.1.11");
  assertEquals(
    cfg.expose.sb_connection,
    "ssl:172.30.1.1:6642,ssl:172.30.1.2:6642,ssl:172.30.1.3:6642",
  );
  assertEquals(cfg.expose.sb_tls, {
    key: "/etc/pki/tls/private/ovn_bgp_agent.key",
    cert: "/etc/pki/tls/certs/ovn_bgp_agent.crt",
    ca: "/etc/ipa/ca.crt",
  });
  assertEquals(cfg.expose.chassis.ovs_connection, "tcp:127.0.0.1:6640");
  assertEquals(cfg.expose.select.tenant_networks, true);
  assertEquals(cfg.reconcile.interval_s, 5); // 2 s clamped
  assertEquals(cfg.reconcile.frr_check_s, 30);
  assertEquals(cfg.log.format, "json");
  assertEquals(cfg.log.level, "info");
  const w = findings(c, "warning");
  hasFinding(w, "sb-tls.conf:5: DEFAULT.log_file: no equivalent");
  hasFinding(w, "sb-tls.conf:6: DEFAULT.reconcile_interval: 2 s is outside 5..86400 s");
  hasFinding(w, "sb-tls.conf:15: DEFAULT.expose_ipv6_gua_tenant_networks: no effect");
  hasFinding(w, "sb-tls.conf:17: DEFAULT.ovsdb_connection_timeout: no equivalent");
  hasFinding(w, "sb-tls.conf:18: DEFAULT.clear_vrf_routes_on_startup: no equivalent");
  hasFinding(w, "sb-tls.conf:27: agent.root_helper: no equivalent");
  hasFinding(w, "sb-tls.conf:28: agent.root_helper_daemon: no equivalent");
});

Deno.test("convert: NB driver, deprecated DEFAULT locations, continued remote list", async () => {
  const c = await fixture("nb-driver.conf");
  const cfg = configSchema.parse(c.document);
  assertEquals(cfg.expose.binding_source, "nb");
  assertEquals(cfg.bgp.asn, 64512); // quoted "64512"
  assertEquals(cfg.bgp.router_id, "10.255.0.7"); // quoted '10.255.0.7'
  assertEquals(cfg.expose.nb_connection, "ssl:ovn-nb-0.ovn:6641,ssl:ovn-nb-1.ovn:6641");
  assertEquals(cfg.expose.sb_connection, undefined);
  assertEquals(cfg.expose.nb_tls, {
    key: `${FIXTURES}certs/agent.key`, // relative paths made absolute (with a warning)
    cert: `${FIXTURES}certs/agent.crt`,
    ca: "/etc/ovn/ca.crt",
  });
  assertEquals([cfg.expose.vrf, cfg.expose.table, cfg.expose.nic], ["ovn-vrf", 42, "ovn-nic"]);
  const w = findings(c, "warning");
  hasFinding(w, "nb-driver.conf:11: DEFAULT.ovn_nb_connection: deprecated location");
  hasFinding(w, "nb-driver.conf:13: DEFAULT.ovn_nb_private_key: relative path");
  hasFinding(w, "nb-driver.conf:16: DEFAULT.address_scopes: no effect");
  hasFinding(w, "nb-driver.conf:17: DEFAULT.evpn_local_ip: no equivalent");
  hasFinding(w, "nb-driver.conf:20: privsep.helper_command: section [privsep] has no equivalent");
});

Deno.test("convert: upstream's devstack-style sample", async () => {
  const c = await fixture("devstack.conf");
  const cfg = configSchema.parse(c.document);
  assertEquals(cfg.bgp.router_id, "99.99.1.1");
  assertEquals(cfg.expose.sb_connection, "tcp:172.17.0.30:6642");
  assertEquals(cfg.reconcile.interval_s, 120);
  hasFinding(findings(c, "warning"), "devstack.conf:16: DEFAULT.address_scopes: no effect");
});

Deno.test("convert: every warned or mapped option is accounted for (nothing silent)", async () => {
  for (const name of ["sb-tls.conf", "nb-driver.conf", "devstack.conf"]) {
    const path = `${FIXTURES}${name}`;
    const text = await Deno.readTextFile(path);
    const c = convertUpstream(text, { file: path });
    const named = new Set(c.findings.map((f) => f.line));
    const mapped = new Set([
      "driver",
      "bgp_AS",
      "bgp_router_id",
      "bgp_nic",
      "bgp_vrf",
      "bgp_vrf_table_id",
      "exposing_method",
      "expose_tenant_networks",
      "ovsdb_connection",
      "reconcile_interval",
      "frr_reconcile_interval",
      "debug",
      "use_json",
      "ovn_sb_connection",
      "ovn_nb_connection",
      "ovn_sb_private_key",
      "ovn_sb_certificate",
      "ovn_sb_ca_cert",
      "ovn_nb_ca_cert",
    ]);
    text.split("\n").forEach((line, i) => {
      const key = /^([A-Za-z_]+)\s*[=:]/.exec(line)?.[1];
      if (!key || mapped.has(key)) return;
      assert(named.has(i + 1), `${name}:${i + 1} ${key} is neither mapped nor named`);
    });
  }
});

Deno.test("convert: unsupported and unknown drivers are clear errors with file:line", () => {
  assertEquals(problems(ini().replace("driver = ovn_bgp_driver", "driver = ovn_evpn_driver")), [
    `${FILE}:2: DEFAULT.driver: unsupported driver ovn_evpn_driver: EVPN (VXLAN type-2/type-5) ` +
    "is not implemented by this agent; use a VPNv4/VPNv6 tenant source (tenants.sources) or " +
    "keep the upstream agent",
  ]);
  const stretched = problems(
    ini().replace("driver = ovn_bgp_driver", "driver = ovn_stretched_l2_bgp_driver"),
  );
  assertEquals(stretched.length, 1);
  assert(
    stretched[0].startsWith(
      `${FILE}:2: DEFAULT.driver: unsupported driver ovn_stretched_l2_bgp_driver`,
    ),
  );
  const unknown = problems(ini().replace("driver = ovn_bgp_driver", "driver = vpnv4_driver"));
  assertStringIncludes(unknown[0], `${FILE}:2: DEFAULT.driver: unknown driver "vpnv4_driver"`);
  assertStringIncludes(unknown[0], "nb_ovn_bgp_driver");
});

Deno.test("convert: evpn and stretched fixtures fail naming every problem", () => {
  for (
    const [name, expected] of [
      ["evpn.conf", [":2: DEFAULT.driver: unsupported driver ovn_evpn_driver"]],
      ["stretched-l2.conf", [
        ":3: DEFAULT.driver: unsupported driver ovn_stretched_l2_bgp_driver",
        ":4: DEFAULT.exposing_method: unsupported exposing_method ovn",
      ]],
    ] as const
  ) {
    const path = `${FIXTURES}${name}`;
    const e = assertThrows(
      () => convertUpstream(Deno.readTextFileSync(path), { file: path }),
      UpstreamConfigError,
    );
    assertEquals(e.problems.length, expected.length, e.message);
    expected.forEach((part, i) => assertStringIncludes(formatUpstreamIssue(e.problems[i]), part));
  }
});

Deno.test("convert: driver defaults to ovn_bgp_driver, which needs ovn_sb_connection", () => {
  const text = "[DEFAULT]\nbgp_router_id = 192.0.2.1\n";
  assertEquals(problems(text), [
    `${FILE}: ovn.ovn_sb_connection: required by driver ovn_bgp_driver (the OVN Southbound ` +
    "database the port bindings are read from)",
  ]);
  const nb = problems("[DEFAULT]\nbgp_router_id = 192.0.2.1\ndriver = nb_ovn_bgp_driver\n");
  assertStringIncludes(nb[0], "ovn.ovn_nb_connection: required by driver nb_ovn_bgp_driver");
  const empty = problems(
    ini().replace("ovn_sb_connection = tcp:10.0.0.1:6642", "ovn_sb_connection ="),
  );
  assertStringIncludes(empty[0], `${FILE}:7: ovn.ovn_sb_connection: required by driver`);
});

Deno.test("convert: upstream defaults fill in what the INI leaves out", () => {
  const c = convert(
    "[DEFAULT]\nbgp_router_id = 192.0.2.1\n[ovn]\novn_sb_connection = ssl:10.0.0.1:6642\n",
  );
  const cfg = configSchema.parse(c.document);
  assertEquals(cfg.bgp.asn, 64999);
  assertEquals(cfg.expose.binding_source, "sb");
  assertEquals(cfg.expose.chassis.ovs_connection, "unix:/usr/local/var/run/openvswitch/db.sock");
  assertEquals(cfg.expose.sb_tls, {
    key: "/etc/pki/tls/private/ovn_bgp_agent.key",
    cert: "/etc/pki/tls/certs/ovn_bgp_agent.crt",
    ca: "/etc/ipa/ca.crt",
  });
  assertEquals([cfg.expose.vrf, cfg.expose.table, cfg.expose.nic], ["bgp-vrf", 10, "bgp-nic"]);
  const notes = findings(c, "note");
  hasFinding(notes, "DEFAULT.ovsdb_connection: not set: using upstream's default");
  hasFinding(notes, "ovn.ovn_sb_private_key: not set: using upstream's default");
});

Deno.test("convert: exposing methods other than underlay are errors", () => {
  for (const m of ["vrf", "l2vni", "dynamic", "ovn"]) {
    const p = problems(ini(`exposing_method = ${m}`));
    assertEquals(p.length, 1);
    assertStringIncludes(
      p[0],
      `${FILE}:6: DEFAULT.exposing_method: unsupported exposing_method ${m}`,
    );
  }
  assertStringIncludes(
    problems(ini("exposing_method = bgp"))[0],
    `${FILE}:6: DEFAULT.exposing_method: unknown exposing_method "bgp"`,
  );
  const c = convert(ini("exposing_method = underlay"));
  assertEquals(c.config.expose.method, "table");
  hasFinding(
    findings(c, "note"),
    `${FILE}:6: DEFAULT.exposing_method: underlay → expose.method table`,
  );
});

Deno.test("convert: reconcile_interval outside the schema range is clamped with a warning", () => {
  for (const [given, expected] of [[0, 5], [4, 5], [5, 5], [120, 120], [86401, 86400]]) {
    const c = convert(ini(`reconcile_interval = ${given}`));
    assertEquals(c.config.reconcile.interval_s, expected);
    const w = findings(c, "warning").filter((l) => l.includes("reconcile_interval"));
    assertEquals(w.length, given === expected ? 0 : 1, w.join("\n"));
  }
  assertStringIncludes(
    problems(ini("reconcile_interval = 2m"))[0],
    `${FILE}:6: DEFAULT.reconcile_interval: must be an integer, got "2m"`,
  );
  const frr = convert(ini("frr_reconcile_interval = 0"));
  assertEquals(frr.config.reconcile.frr_check_s, 1);
});

Deno.test("convert: tenant-network options that would widen exposure are errors", () => {
  assertStringIncludes(
    problems(ini("expose_tenant_networks = True", "address_scopes = a,b"))[0],
    `${FILE}:7: DEFAULT.address_scopes: no equivalent`,
  );
  assertStringIncludes(
    problems(ini("expose_tenant_networks = yes", "require_snat_disabled_for_tenant_networks = 1"))[
      0
    ],
    `${FILE}:7: DEFAULT.require_snat_disabled_for_tenant_networks: no equivalent`,
  );
  // Without tenant exposure they change nothing upstream either: warnings.
  const c = convert(ini("address_scopes = a", "require_snat_disabled_for_tenant_networks = True"));
  hasFinding(findings(c, "warning"), `${FILE}:6: DEFAULT.address_scopes: no effect`);
  hasFinding(
    findings(c, "warning"),
    `${FILE}:7: DEFAULT.require_snat_disabled_for_tenant_networks: no effect`,
  );
  // An empty list is no filter at all.
  assertEquals(findings(convert(ini("address_scopes =")), "warning"), []);
});

Deno.test("convert: GUA-only tenant exposure has no equivalent and exposes no tenant IPs", () => {
  const c = convert(ini("expose_ipv6_gua_tenant_networks = True"));
  assertEquals(c.config.expose.select.tenant_networks, false);
  hasFinding(
    findings(c, "warning"),
    `${FILE}:6: DEFAULT.expose_ipv6_gua_tenant_networks: no equivalent`,
  );
  const subnet = convert(
    ini("expose_tenant_networks = True", "advertisement_method_tenant_networks = subnet"),
  );
  assertEquals(subnet.config.expose.aggregate, false);
  hasFinding(
    findings(subnet, "warning"),
    `${FILE}:7: DEFAULT.advertisement_method_tenant_networks: no equivalent`,
  );
  assertStringIncludes(
    problems(ini("advertisement_method_tenant_networks = prefix"))[0],
    "must be host or subnet",
  );
});

Deno.test("convert: booleans follow oslo.config (True/False, yes/no, on/off, 1/0)", () => {
  for (const v of ["True", "true", "YES", "on", "1"]) {
    assertEquals(
      convert(ini(`expose_tenant_networks = ${v}`)).config.expose.select.tenant_networks,
      true,
    );
  }
  for (const v of ["False", "no", "off", "0"]) {
    assertEquals(
      convert(ini(`expose_tenant_networks = ${v}`)).config.expose.select.tenant_networks,
      false,
    );
  }
  assertEquals(problems(ini("expose_tenant_networks = maybe")), [
    `${FILE}:6: DEFAULT.expose_tenant_networks: must be a boolean (True/False), got "maybe"`,
  ]);
});

Deno.test("convert: values the schema rejects are reported at their INI line", () => {
  assertEquals(problems(ini("bgp_vrf_table_id = 254")), [
    `${FILE}:6: DEFAULT.bgp_vrf_table_id: 253-255 are reserved tables (expose.table)`,
  ]);
  assertStringIncludes(
    problems(ini("bgp_vrf = a-vrf-name-that-is-too-long"))[0],
    `${FILE}:6: DEFAULT.bgp_vrf: must be a Linux interface name`,
  );
  assertStringIncludes(
    problems(ini().replace("bgp_router_id = 192.0.2.10", "bgp_router_id = fd00::1"))[0],
    `${FILE}:4: DEFAULT.bgp_router_id: must be an IPv4 address (bgp.router_id)`,
  );
  assertStringIncludes(
    problems(
      ini().replace(
        "ovsdb_connection = unix:/run/openvswitch/db.sock",
        "ovsdb_connection = /run/db.sock",
      ),
    )[0],
    `${FILE}:5: DEFAULT.ovsdb_connection: must be unix:PATH`,
  );
  assertStringIncludes(
    problems(ini().replace("bgp_AS = 64999", "bgp_AS = 4294967296"))[0],
    `${FILE}:3: DEFAULT.bgp_AS: must be an AS number 1..4294967295`,
  );
  assertEquals(convert(ini().replace("bgp_AS = 64999", "bgp_AS = 1.10")).config.bgp.asn, 65546);
});

Deno.test("convert: several problems are all reported, in file order", () => {
  const p = problems(
    ini("bgp_vrf_table_id = ten", "expose_tenant_networks = perhaps")
      .replace("driver = ovn_bgp_driver", "driver = ovn_evpn_driver"),
  );
  assertEquals(p.map((l) => l.split(": ")[0]), [`${FILE}:2`, `${FILE}:6`, `${FILE}:7`]);
});

Deno.test("convert: --router-id fills in or overrides bgp_router_id", () => {
  const text = ini().replace("bgp_router_id = 192.0.2.10\n", "");
  assertEquals(convert(text, "198.51.100.1").config.bgp.router_id, "198.51.100.1");
  const over = convert(ini(), "198.51.100.1");
  assertEquals(over.config.bgp.router_id, "198.51.100.1");
  hasFinding(
    findings(over, "warning"),
    `${FILE}:4: DEFAULT.bgp_router_id: 192.0.2.10 is overridden`,
  );
});

Deno.test("convert: unknown, misplaced, repeated and deprecated options are named", () => {
  const text = [
    "[DEFAULT]",
    "bgp_router_id = 192.0.2.1",
    "bgp_vrf = one",
    "expose_tenant_network = True", // misspelt
    "bgp_vrf = two",
    "ovn_sb_connection = tcp:10.0.0.9:6642", // deprecated location, [ovn] wins
    "[ovn]",
    "ovn_sb_connection = tcp:10.0.0.1:6642",
    "driver = ovn_bgp_driver", // wrong group
    "[AGENT]",
    "root_helper = sudo",
  ].join("\n");
  const c = convert(text);
  assertEquals(c.config.expose.vrf, "two");
  assertEquals(c.config.expose.sb_connection, "tcp:10.0.0.1:6642");
  const w = findings(c, "warning");
  hasFinding(w, `${FILE}:4: DEFAULT.expose_tenant_network: not an ovn-bgp-agent option`);
  hasFinding(w, `${FILE}:5: DEFAULT.bgp_vrf: also set on line 3; the last value wins`);
  hasFinding(w, `${FILE}:6: DEFAULT.ovn_sb_connection: deprecated location, ignored`);
  hasFinding(w, `${FILE}:9: ovn.driver: not an option of [ovn] (it belongs in [DEFAULT])`);
  hasFinding(w, `${FILE}:11: agent.root_helper: no equivalent`);
});

Deno.test("convert: TLS files without an ssl: remote are named as unused", () => {
  const c = convert(ini() + "ovn_sb_private_key = /k\novn_nb_ca_cert = /ca\n");
  assertEquals(c.config.expose.sb_tls, undefined);
  const w = findings(c, "warning");
  hasFinding(w, `${FILE}:8: ovn.ovn_sb_private_key: unused: ovn_sb_connection is not an ssl:`);
  hasFinding(w, `${FILE}:9: ovn.ovn_nb_ca_cert: unused: ovn_nb_connection is not an ssl:`);
});

Deno.test("convert: INI syntax errors become located conversion errors", () => {
  assertEquals(problems("[DEFAULT]\nbgp_AS 64999\n"), [
    `${FILE}:2: no ':' or '=' in assignment: "bgp_AS 64999"`,
  ]);
});
