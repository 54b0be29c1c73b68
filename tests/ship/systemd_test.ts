import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { basename, dirname, join } from "node:path";
import { DEFAULT_PATHS, productEnvironment } from "../../scripts/permissions.ts";
import { configDefaults, hasCommand, parseUnit, repoPath, runCommand } from "./_support.ts";

const unitPath = repoPath("deploy/systemd/vpnv4-agent.service");
const unitText = await Deno.readTextFile(unitPath);
const unit = parseUnit(unitText);
const get = (section: string, key: string) => unit.get(section)?.get(key) ?? [];
const one = (section: string, key: string) => {
  const v = get(section, key);
  assertEquals(v.length, 1, `${section}.${key}`);
  return v[0];
};

Deno.test("systemd unit: ordering with FRR, restart policy, dedicated user", () => {
  assert(one("Unit", "After").split(/\s+/).includes("frr.service"));
  assertEquals(one("Unit", "PartOf"), "frr.service");
  assertEquals(one("Service", "Restart"), "on-failure");
  assertEquals(one("Service", "User"), "vpnv4-agent");
  assertEquals(one("Service", "Group"), "vpnv4-agent");
  assertEquals(one("Install", "WantedBy"), "multi-user.target");
});

Deno.test("systemd unit: only CAP_NET_ADMIN, hardened file system", () => {
  assertEquals(one("Service", "AmbientCapabilities"), "CAP_NET_ADMIN");
  assertEquals(one("Service", "CapabilityBoundingSet"), "CAP_NET_ADMIN");
  assertEquals(one("Service", "NoNewPrivileges"), "yes");
  assertEquals(one("Service", "ProtectSystem"), "strict");
  assertEquals(one("Service", "ProtectHome"), "yes");
  assertEquals(one("Service", "PrivateTmp"), "yes");
  assertEquals(get("Service", "MemoryDenyWriteExecute"), []); // V8 JIT
});

Deno.test("systemd unit: folders and ExecStart match the config defaults", () => {
  const stateDir = dirname(configDefaults().allocation.state_file);
  assertEquals(stateDir, DEFAULT_PATHS.stateDir);
  assert(get("Service", "ReadWritePaths").join(" ").split(/\s+/).includes(stateDir));
  assertEquals(one("Service", "StateDirectory"), basename(stateDir));
  assertEquals(one("Service", "StateDirectoryMode"), "0700");
  assertEquals(one("Service", "RuntimeDirectory"), basename(DEFAULT_PATHS.runtimeDir));
  assertEquals(one("Service", "ConfigurationDirectory"), basename(DEFAULT_PATHS.configDir));
  const exec = one("Service", "ExecStart").split(" ");
  assertEquals(exec.slice(0, 3), ["/usr/local/bin/vpnv4-agent", "run", "--config"]);
  assertEquals(dirname(exec[3]), DEFAULT_PATHS.configDir);
  // The product environment (TMPDIR inside the writable runtime folder).
  const env = Object.fromEntries(
    get("Service", "Environment").flatMap((e) => e.split(/\s+/)).map((
      kv,
    ) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  assertEquals(env, productEnvironment());
});

const analyze = await hasCommand("systemd-analyze");

/** A copy of the unit whose ExecStart names an executable that exists here. */
async function verifiableCopy(): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-unit-" });
  const path = join(dir, "vpnv4-agent.service");
  const rewritten = unitText.replace(
    /^ExecStart=\/usr\/local\/bin\/vpnv4-agent /m,
    "ExecStart=/bin/true ",
  );
  assert(rewritten !== unitText, "ExecStart rewritten");
  await Deno.writeTextFile(path, rewritten);
  return { dir, path };
}

Deno.test({
  name: "systemd unit: systemd-analyze verify is clean",
  ignore: !analyze,
  fn: async () => {
    const { dir, path } = await verifiableCopy();
    try {
      const r = await runCommand("systemd-analyze", ["verify", path]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stderr.trim(), "", "no warnings (unknown keys are only warnings)");
      // the check can fail: a misspelt key is reported
      await Deno.writeTextFile(
        path,
        (await Deno.readTextFile(path)).replace("ProtectSystem=", "ProtectSytem="),
      );
      const bad = await runCommand("systemd-analyze", ["verify", path]);
      assertMatch(bad.stderr, /Unknown key 'ProtectSytem'/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "systemd unit: systemd-analyze security rates the sandbox OK (below 5)",
  ignore: !analyze,
  fn: async () => {
    const { dir, path } = await verifiableCopy();
    try {
      const r = await runCommand("systemd-analyze", ["security", "--offline=true", path]);
      const m = /Overall exposure level for vpnv4-agent\.service: ([0-9.]+)/.exec(r.stdout);
      assert(m, r.stdout.slice(-500) + r.stderr);
      assert(Number(m[1]) < 5, `exposure ${m[1]}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("systemd install.sh: valid sh, same uid as the image, enables the unit", async () => {
  const script = repoPath("deploy/systemd/install.sh");
  const r = await runCommand("sh", ["-n", script]);
  assertEquals(r.code, 0, r.stderr);
  const text = await Deno.readTextFile(script);
  assertMatch(text, /useradd --system --uid 42494/);
  assertMatch(text, /systemctl enable vpnv4-agent\.service/);
  assertMatch(text, /scp -q "\$binary"/);
  assert(((await Deno.stat(script)).mode ?? 0) & 0o100, "install.sh is executable");
  const usage = await runCommand("sh", [script]);
  assertEquals(usage.code, 2);
  assertMatch(usage.stderr, /install\.sh \[-c vpnv4-agent\.yaml\]/);
});
