/**
 * The CLI as a user runs it: a subprocess of main.ts, its stdout, stderr and exit code.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const EXAMPLES = new URL("../../deploy/examples/", import.meta.url).pathname;

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

/** A temp dir with a config whose state file lives inside it. */
async function workspace(
  config: (base: string) => string,
  tenants: string,
): Promise<{ dir: string; config: string; state: string; tenants: string }> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-cli-" });
  const base = await Deno.readTextFile(`${EXAMPLES}/vpnv4-agent.yaml`);
  const withState = base.replace(
    "state_file: /var/lib/vpnv4-agent/state.json",
    "state_file: state/state.json",
  );
  await Deno.writeTextFile(`${dir}/vpnv4-agent.yaml`, config(withState));
  await Deno.writeTextFile(`${dir}/tenants.yaml`, tenants);
  return {
    dir,
    config: `${dir}/vpnv4-agent.yaml`,
    state: `${dir}/state/state.json`,
    tenants: `${dir}/tenants.yaml`,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const GOOD_TENANTS = await Deno.readTextFile(`${EXAMPLES}/tenants.yaml`);

Deno.test("cli: version and --help on every command", async () => {
  const v = await cli("version");
  assertEquals(v.code, 0);
  assertMatch(v.stdout, /^vpnv4-agent \d+\.\d+\.\d+ \(deno /);
  for (const cmd of [[], ["render"], ["validate"], ["version"]]) {
    const h = await cli(...cmd, "--help");
    assertEquals(h.code, 0, `${cmd} --help`);
    assertStringIncludes(h.stdout, "Usage: vpnv4-agent");
  }
});

Deno.test("cli: usage errors exit 2", async () => {
  assertEquals((await cli("render")).code, 2); // missing --config
  assertEquals((await cli("frobnicate")).code, 2);
  assertEquals((await cli("validate", "--config")).code, 2);
});

Deno.test("cli: render of the examples is accepted by FRR's own parser", async () => {
  const r = await cli(
    "render",
    "--config",
    `${EXAMPLES}/vpnv4-agent.yaml`,
    "--tenants",
    `${EXAMPLES}/tenants.yaml`,
  );
  assertEquals(r.code, 0, r.stderr);
  for (const vrf of ["demo", "demo-b"]) {
    const block = r.stdout.split(`router bgp 65000 vrf ${vrf}\n`)[1]?.split("\nexit\n")[0] ?? "";
    for (const family of ["ipv4 unicast", "ipv6 unicast"]) {
      const af = block.split(` address-family ${family}\n`)[1]?.split("exit-address-family")[0] ??
        "";
      for (
        const want of [
          "  rd vpn export 65000:",
          "  rt vpn both 65000:",
          "  label vpn export auto",
          "  export vpn",
          "  import vpn",
          "  redistribute kernel route-map ",
        ]
      ) assertStringIncludes(af, want, `${vrf} ${family}: ${want}`);
    }
  }
  assert(!/^\s*network /m.test(r.stdout), "no network statements");
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(file, r.stdout + "\n");
    const dry = await new Deno.Command("vtysh", {
      args: ["--dryrun", "-f", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(dry.stdout) + new TextDecoder().decode(dry.stderr);
    assertEquals(dry.code, 0, text);
    assert(!/(% |line \d+:|Unknown command)/.test(text), text);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("cli: validate prints allocations and is stable across runs", async () => {
  const a = await cli("validate", "--config", `${EXAMPLES}/vpnv4-agent.yaml`, "--json");
  assertEquals(a.code, 0, a.stderr);
  const parsed = JSON.parse(a.stdout);
  assertEquals(parsed.tenants.map((t: { tenant: string; vrf: string }) => [t.tenant, t.vrf]), [
    ["demo", "demo"],
    ["demo-b", "demo-b"],
  ]);
  const b = await cli("validate", "--config", `${EXAMPLES}/vpnv4-agent.yaml`, "--json");
  assertEquals(b.stdout, a.stdout);
});

const BAD_INPUTS: Array<
  { name: string; config?: (c: string) => string; tenants?: string; want: RegExp }
> = [
  {
    name: "unknown key",
    config: (c) => c.replace("  asn: 65000\n", "  asn: 65000\n  asn_typo: 1\n"),
    want: / 4:3 bgp\.asn_typo: unknown key/,
  },
  {
    name: "wrong type",
    config: (c) => c.replace("remote_asn: 65001", "remote_asn: [1]"),
    want: /bgp\.peers\[0\]\.remote_asn: Invalid input: expected number/,
  },
  {
    name: "4-byte ASN with a table range too wide for type 2",
    config: (c) =>
      c.replace("asn: 65000", "asn: 4200000000").replace("rd_base: 65000", "rd_base: 4200000000")
        .replace("rt_base: 65000", "rt_base: 4200000000")
        .replace("{ min: 1000, max: 1999 }", "{ min: 1000, max: 70000 }"),
    want: /allocation\.table_range\.max/,
  },
  {
    name: "bad CIDR",
    tenants: "tenants:\n  - name: demo\n    prefixes: [10.244.0.0/33]\n",
    want: / 3:16 tenants\[0\]\.prefixes\[0\]: invalid prefix "10\.244\.0\.0\/33"/,
  },
  {
    name: "default route as a tenant prefix",
    tenants: "tenants:\n  - name: demo\n    prefixes: [0.0.0.0/0]\n",
    want: /tenants\[0\]\.prefixes\[0\]: 0\.0\.0\.0\/0: default route is never exported/,
  },
  {
    name: "tenant name with a newline",
    tenants: 'tenants:\n  - name: "demo\\nrouter bgp 1"\n    prefixes: []\n',
    want: /2:11 tenants\[0\]\.name: "demo\\nrouter bgp 1": tenant name must be/,
  },
  {
    name: "tenant name with a semicolon",
    tenants: "tenants:\n  - name: demo;reboot\n    prefixes: []\n",
    want: /tenants\[0\]\.name: "demo;reboot"/,
  },
];

for (const bad of BAD_INPUTS) {
  Deno.test(`cli: ${bad.name} → clear message, exit 2, nothing written`, async () => {
    const ws = await workspace(bad.config ?? ((c) => c), bad.tenants ?? GOOD_TENANTS);
    try {
      for (const cmd of ["render", "validate"]) {
        const r = await cli(cmd, "--config", ws.config, "--tenants", ws.tenants);
        assertEquals(r.code, 2, `${cmd}: ${r.stderr}`);
        assertMatch(r.stderr, bad.want);
        assertEquals(r.stdout, "");
      }
      assertEquals(await exists(`${ws.dir}/state`), false, "state dir must not be created");
    } finally {
      await Deno.remove(ws.dir, { recursive: true });
    }
  });
}

Deno.test("cli: 4-byte ASN renders type-2 RD/RT and FRR accepts it", async () => {
  const ws = await workspace(
    (c) =>
      c.replace("asn: 65000", "asn: 4200000000").replace("rd_base: 65000", "rd_base: 4200000000")
        .replace("rt_base: 65000", "rt_base: 4200000000"),
    GOOD_TENANTS,
  );
  try {
    const r = await cli("render", "--config", ws.config);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "router bgp 4200000000 vrf demo");
    assertMatch(r.stdout, /rd vpn export 4200000000:1\d{3}\n/);
  } finally {
    await Deno.remove(ws.dir, { recursive: true });
  }
});

Deno.test("cli: corrupt state file → exit 2 naming the file, file untouched", async () => {
  const ws = await workspace((c) => c, GOOD_TENANTS);
  try {
    await Deno.mkdir(`${ws.dir}/state`);
    const junk = '{"version": 1, "entries": [ {"tenant": "demo", ';
    await Deno.writeTextFile(ws.state, junk);
    for (const cmd of ["render", "validate"]) {
      const r = await cli(cmd, "--config", ws.config);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, ws.state);
      assertEquals(r.stdout, "");
    }
    assertEquals(await Deno.readTextFile(ws.state), junk);
    assertEquals([...Deno.readDirSync(`${ws.dir}/state`)].length, 1);
  } finally {
    await Deno.remove(ws.dir, { recursive: true });
  }
});
