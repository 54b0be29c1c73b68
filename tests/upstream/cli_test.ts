/**
 * `vpnv4-agent convert-config` and `run --upstream-config` as a user runs them: subprocesses of
 * main.ts, their stdout, stderr and exit codes; the converted file passes `validate`.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { parse as parseYaml } from "yaml";
import { configSchema, loadConfig } from "../../src/config/mod.ts";
import { convertUpstream } from "../../src/upstream/mod.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const FIXTURES = new URL("../fixtures/upstream/", import.meta.url).pathname;
const SEED = `${FIXTURES}seed-image-configmap.conf`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli convert-config: the seed INI prints YAML, warnings go to stderr", async () => {
  const r = await cli("convert-config", "--upstream-config", SEED, "--router-id", "192.0.2.1");
  assertEquals(r.code, 0, r.stderr);
  const doc = parseYaml(r.stdout);
  const cfg = configSchema.parse(doc);
  assertEquals(cfg.bgp.asn, 64999);
  assertEquals(cfg.bgp.router_id, "192.0.2.1");
  assertEquals(cfg.expose.binding_source, "sb");
  assertEquals(cfg.expose.sb_connection, "tcp:ovn-ovsdb-sb.openstack.svc.cluster.local:6642");
  assertEquals(cfg.reconcile.interval_s, 120);
  // The same as the in-process conversion.
  const inProcess = convertUpstream(await Deno.readTextFile(SEED), {
    file: SEED,
    routerId: "192.0.2.1",
  });
  assertEquals(doc, inProcess.document);
  assertStringIncludes(
    r.stderr,
    `warning: ${SEED}:6: DEFAULT.driver: inline comment "# SB DB BGP Driver" removed`,
  );
  assertStringIncludes(r.stderr, "note: ");
  // On stdout, findings only appear as YAML comments.
  for (const line of r.stdout.split("\n")) {
    if (/(warning|note): /.test(line)) assert(line.startsWith("# "), line);
  }
});

Deno.test("cli convert-config --out: the file passes validate and loadConfig", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-convert-" });
  try {
    for (
      const [name, routerId] of [
        ["seed-image-configmap.conf", "192.0.2.1"],
        ["sb-tls.conf", undefined],
        ["nb-driver.conf", undefined],
        ["devstack.conf", undefined],
      ] as const
    ) {
      const out = `${dir}/${name}.yaml`;
      const extra = routerId ? ["--router-id", routerId] : [];
      const conv = await cli(
        "convert-config",
        "--upstream-config",
        `${FIXTURES}${name}`,
        "--out",
        out,
        ...extra,
      );
      assertEquals(conv.code, 0, conv.stderr);
      assertEquals(conv.stdout, "");
      assertStringIncludes(conv.stderr, `wrote ${out}`);
      const text = await Deno.readTextFile(out);
      assert(text.startsWith("# vpnv4-agent configuration converted from"), text);
      const validate = await cli("validate", "-c", out);
      assertEquals(validate.code, 0, `${name}: ${validate.stderr}`);
      assertStringIncludes(validate.stdout, `config ok: ${out}`);
      const loaded = await loadConfig(out);
      assertEquals(loaded.expose.enabled, true);
      assertEquals(loaded.bgp.peers, []);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli convert-config --format json", async () => {
  const r = await cli(
    "convert-config",
    "--upstream-config",
    `${FIXTURES}sb-tls.conf`,
    "--format",
    "json",
  );
  assertEquals(r.code, 0, r.stderr);
  const cfg = configSchema.parse(JSON.parse(r.stdout));
  assertEquals(cfg.expose.sb_tls?.ca, "/etc/ipa/ca.crt");
  assertStringIncludes(r.stderr, `sb-tls.conf:6: DEFAULT.reconcile_interval: 2 s is outside`);
  const bad = await cli("convert-config", "--upstream-config", SEED, "--format", "xml");
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "--format must be yaml or json");
});

Deno.test("cli convert-config: an unsupported driver exits 2 naming file:line", async () => {
  const r = await cli("convert-config", "--upstream-config", `${FIXTURES}evpn.conf`);
  assertEquals(r.code, 2);
  assertEquals(r.stdout, "");
  assertStringIncludes(
    r.stderr,
    `${FIXTURES}evpn.conf:2: DEFAULT.driver: unsupported driver ovn_evpn_driver`,
  );
  const noId = await cli("convert-config", "--upstream-config", SEED);
  assertEquals(noId.code, 2);
  assertStringIncludes(noId.stderr, `${SEED}: DEFAULT.bgp_router_id: not set`);
  const missing = await cli("convert-config", "--upstream-config", `${FIXTURES}nope.conf`);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "cannot read file");
  const noFlag = await cli("convert-config");
  assertEquals(noFlag.code, 2);
});

Deno.test("cli run --upstream-config: converts before touching anything", async () => {
  // A conversion error stops run with exit 2 and the located message, before any plane runs.
  const r = await cli("run", "--upstream-config", `${FIXTURES}stretched-l2.conf`);
  assertEquals(r.code, 2);
  assertStringIncludes(
    r.stderr,
    `${FIXTURES}stretched-l2.conf:3: DEFAULT.driver: unsupported driver ovn_stretched_l2_bgp_driver`,
  );
  assertStringIncludes(r.stderr, `stretched-l2.conf:4: DEFAULT.exposing_method`);
  const both = await cli("run", "--config", "x.yaml", "--upstream-config", SEED);
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "either --config or --upstream-config");
  const neither = await cli("run");
  assertEquals(neither.code, 2);
  assertStringIncludes(neither.stderr, "--upstream-config <file> is required");
  const idWithYaml = await cli("run", "--config", "x.yaml", "--router-id", "192.0.2.1");
  assertEquals(idWithYaml.code, 2);
  assertStringIncludes(idWithYaml.stderr, "--router-id only applies to --upstream-config");
});
