import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { dirname } from "node:path";
import { AGENT_ENV_VARS, DEFAULT_PATHS, productEnvironment } from "../../scripts/permissions.ts";
import {
  configDefaults,
  dockerStages,
  type Instruction,
  listenPort,
  parseDockerfile,
  REPO,
  repoPath,
  runCommand,
  type Stage,
} from "./_support.ts";

const text = await Deno.readTextFile(repoPath("images/agent/Dockerfile"));
const instructions = parseDockerfile(text);
const { args, stages } = dockerStages(instructions);
const final = stages[stages.length - 1];
const defaults = configDefaults();

function only(stage: Stage, keyword: string): Instruction {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  assertEquals(found.length, 1, `${keyword} instructions in stage ${stage.name ?? stage.from}`);
  return found[0];
}

function stage(name: string): Stage {
  const s = stages.find((st) => st.name === name);
  assert(s, `stage ${name}`);
  return s;
}

function runText(s: Stage): string {
  return s.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args).join("\n");
}

Deno.test("Dockerfile: multi-stage from the pinned Deno to distroless cc", () => {
  assertEquals(args.get("DENO_VERSION"), Deno.version.deno);
  assertEquals(stage("build").from, `denoland/deno:${Deno.version.deno}`);
  assertEquals(final.from, "gcr.io/distroless/cc-debian12");
  assertEquals(final.name, undefined);
  // every stage the final image copies from exists
  for (const ins of final.instructions.filter((i) => i.keyword === "COPY")) {
    const from = /--from=(\S+)/.exec(ins.args)?.[1];
    if (from) assert(stages.some((s) => s.name === from), `COPY --from=${from}`);
  }
});

Deno.test("Dockerfile: runs as 42494:42494 with supplementary group 42424 (openvswitch)", () => {
  assertEquals(only(final, "USER").args, "42494:42494");
  const run = runText(stage("rootfs"));
  assertStringIncludes(run, "vpnv4-agent:x:42494:42494:");
  assertMatch(run, /openvswitch:x:42424:vpnv4-agent/);
  assertStringIncludes(run, "/rootfs/etc/passwd");
  assertStringIncludes(run, "/rootfs/etc/group");
  assertMatch(text, /supplementalGroups: \[42424\]/);
  assertMatch(text, /--group-add 42424/);
});

Deno.test("Dockerfile: NET_ADMIN is the only capability, as a file capability", () => {
  const run = runText(stage("rootfs"));
  const setcap = /setcap (\S+) (\S+)/.exec(run);
  assert(setcap, "setcap in the rootfs stage");
  assertEquals(setcap[1], "cap_net_admin+ep");
  assertEquals(setcap[2], "/rootfs/usr/bin/vpnv4-agent");
  const caps = new Set([...text.matchAll(/\bcap_[a-z_]+/g)].map((m) => m[0]));
  assertEquals([...caps], ["cap_net_admin"]);
  const added = [...text.matchAll(/--cap-add (\S+)/g)].map((m) => m[1]);
  assertEquals([...new Set(added)], ["NET_ADMIN"]);
  assertMatch(text, /--cap-drop ALL/);
});

Deno.test("Dockerfile: entrypoint, config path and folders match the config defaults", () => {
  const entrypoint = JSON.parse(only(final, "ENTRYPOINT").args) as string[];
  assertEquals(entrypoint, ["/usr/bin/vpnv4-agent"]);
  const cmd = JSON.parse(only(final, "CMD").args) as string[];
  assertEquals(cmd.slice(0, 2), ["run", "--config"]);
  assertEquals(dirname(cmd[2]), DEFAULT_PATHS.configDir);
  const stateDir = dirname(defaults.allocation.state_file);
  assertEquals(stateDir, DEFAULT_PATHS.stateDir);
  assertEquals(only(final, "WORKDIR").args, stateDir);
  assertEquals(JSON.parse(only(final, "VOLUME").args), [stateDir]);
  const run = runText(stage("rootfs"));
  assertMatch(run, new RegExp(`install -d -m 0755 /rootfs${DEFAULT_PATHS.configDir}\\b`));
  assertMatch(
    run,
    new RegExp(
      `install -d -m 0700 -o 42494 -g 42494 /rootfs${stateDir} /rootfs${DEFAULT_PATHS.runtimeDir}`,
    ),
  );
  assertEquals(only(final, "COPY").args, "--from=rootfs /rootfs/ /");
});

Deno.test("Dockerfile: HEALTHCHECK runs the binary's health command on the default port", () => {
  const hc = only(final, "HEALTHCHECK").args;
  const cmd = JSON.parse(hc.slice(hc.indexOf("CMD ") + 4)) as string[];
  const port = listenPort(defaults.http.listen);
  assertEquals(cmd, [
    "/usr/bin/vpnv4-agent",
    "health",
    "--url",
    `http://127.0.0.1:${port}/healthz`,
  ]);
  assertEquals(only(final, "EXPOSE").args, String(port));
});

Deno.test("Dockerfile: environment, labels and vtysh", () => {
  const env = new Map(
    only(final, "ENV").args.split(" ").map((kv) =>
      [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as [string, string]
    ),
  );
  assertEquals(env.get("VPNV4_LIBMNL_PATH"), "/usr/lib/vpnv4-agent/libmnl.so.0");
  assert(AGENT_ENV_VARS.includes("VPNV4_LIBMNL_PATH"));
  const product = productEnvironment();
  assertEquals(Object.fromEntries([...env].filter(([k]) => k in product)), product);
  assertEquals([...env.keys()].sort(), [...Object.keys(product), "VPNV4_LIBMNL_PATH"].sort());
  const labels = only(final, "LABEL").args;
  for (const key of ["title", "description", "version", "revision", "source", "base.name"]) {
    assertStringIncludes(labels, `org.opencontainers.image.${key}=`);
  }
  const run = runText(stage("rootfs"));
  assertStringIncludes(run, `install -D -m 0755 /usr/bin/vtysh /rootfs${DEFAULT_PATHS.vtysh}`);
  assertStringIncludes(run, "libmnl.so.0 /rootfs/usr/lib/vpnv4-agent/libmnl.so.0");
  assert(!/--allow-all|\s-A\s/.test(final.instructions.map((i) => i.args).join(" ")));
});

Deno.test("Dockerfile: the build stage compiles through scripts/compile.ts with every source", async () => {
  const build = stage("build");
  assertMatch(runText(build), /deno run --allow-all scripts\/compile\.ts --target "\$\{arch\}"/);
  const copied = build.instructions.filter((i) => i.keyword === "COPY")
    .flatMap((i) => i.args.split(" ").slice(0, -1))
    .map((p) => p.replace(/\/$/, ""));
  // every local module main.ts loads lives in something the build stage copies
  const info = await runCommand(Deno.execPath(), ["info", "--json", "main.ts"]);
  assertEquals(info.code, 0, info.stderr);
  const modules = (JSON.parse(info.stdout).modules as { specifier: string }[])
    .map((m) => m.specifier)
    .filter((s) => s.startsWith(`file://${REPO}/`))
    .map((s) => s.slice(`file://${REPO}/`.length));
  assert(modules.length > 10, `only ${modules.length} local modules`);
  for (const m of modules) {
    const top = m.split("/")[0];
    assert(copied.includes(top), `${m} is not copied into the build stage (COPY ${top})`);
  }
  for (const f of ["deno.json", "deno.lock", "scripts"]) assert(copied.includes(f), f);
});
