import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import {
  ARCHES,
  compileArgs,
  denortDownload,
  elfArch,
  findDenort,
  outputName,
  TARGETS,
} from "../../scripts/compile.ts";
import { productPermissionFlags } from "../../scripts/permissions.ts";
import { repoPath, runCommand } from "./_support.ts";

/** The environment without any DENORT_BIN* variable. */
function envWithoutDenort(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  for (const k of Object.keys(env)) if (k.startsWith("DENORT_BIN")) delete env[k];
  return { ...env, ...extra };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

async function compileInto(
  outDir: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await runCommand(
    Deno.execPath(),
    ["run", "--allow-all", repoPath("scripts/compile.ts"), "--out-dir", outDir, ...args],
    { env, clearEnv: true },
  );
}

const hostArch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";

Deno.test("compile: without DENORT_BIN it names the download, exits 1, builds nothing", async () => {
  const out = await Deno.makeTempDir({ prefix: "vpnv4-dist-" });
  try {
    const r = await compileInto(out, envWithoutDenort());
    assertEquals(r.code, 1, r.stderr);
    for (const arch of ARCHES) {
      assertStringIncludes(r.stderr, `cannot build ${outputName(arch)}`);
      assertStringIncludes(r.stderr, denortDownload(arch));
      assertStringIncludes(r.stderr, `DENORT_BIN_${arch.toUpperCase()}=/path/to/denort`);
    }
    assertStringIncludes(r.stderr, "nothing was built");
    assert(!/built \//.test(r.stdout + r.stderr), "never claims a binary was built");
    assertEquals(await listDir(out), []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile: refuses the deno CLI and wrong-architecture base binaries", async () => {
  const out = await Deno.makeTempDir({ prefix: "vpnv4-dist-" });
  try {
    const other = hostArch === "x86_64" ? "aarch64" : "x86_64";
    const wrong = await compileInto(
      out,
      envWithoutDenort({ [`DENORT_BIN_${other.toUpperCase()}`]: Deno.execPath() }),
      ["--target", other],
    );
    assertEquals(wrong.code, 1);
    assertStringIncludes(wrong.stderr, `is not an ${other} ELF executable (found ${hostArch})`);
    const cli = await compileInto(out, envWithoutDenort({ DENORT_BIN: Deno.execPath() }), [
      "--target",
      hostArch,
    ]);
    assertEquals(cli.code, 1);
    assertStringIncludes(cli.stderr, "is the deno CLI, not denort");
    assertEquals(await listDir(out), []);
    const usage = await compileInto(out, envWithoutDenort(), ["--target", "mips"]);
    assertEquals(usage.code, 2);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile: a base binary that does not run the agent is not reported as built", async () => {
  // a copy of the deno CLI passes the ELF checks but ignores the embedded agent: the
  // `version` smoke run must catch it and remove the output
  const work = await Deno.makeTempDir({ prefix: "vpnv4-dist-" });
  try {
    const fake = join(work, "denort");
    await Deno.copyFile(Deno.execPath(), fake);
    const out = join(work, "dist");
    const r = await compileInto(
      out,
      envWithoutDenort({ [`DENORT_BIN_${hostArch.toUpperCase()}`]: fake }),
      ["--target", hostArch],
    );
    assertEquals(r.code, 1, r.stderr);
    assertMatch(r.stderr, /was not built/);
    assert(!/compile: built /.test(r.stdout), r.stdout);
    assertEquals(await listDir(out).catch(() => []), []);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("compile: deno compile arguments carry the product permissions", () => {
  for (const arch of ARCHES) {
    const args = compileArgs(arch, { outDir: "/x" });
    assertEquals(args[0], "compile");
    const flags = productPermissionFlags();
    const at = args.indexOf(flags[0]);
    assert(at > 0);
    assertEquals(args.slice(at, at + flags.length), flags);
    assert(!args.includes("--allow-all") && !args.includes("-A"));
    assertEquals(args[args.indexOf("--target") + 1], TARGETS[arch]);
    assertEquals(args[args.indexOf("--output") + 1], `/x/vpnv4-agent-${arch}-linux`);
    assert(args.includes("--no-lock")); // denoland/deno#36746; the lock is checked separately
    assertEquals(args[args.length - 1], repoPath("main.ts"));
  }
});

Deno.test("compile: ELF architecture detection and DENORT_BIN selection", async () => {
  assertEquals(await elfArch(Deno.execPath()), hostArch);
  assertEquals(await elfArch(repoPath("deno.json")), undefined);
  // the generic variable is used only for the architecture its ELF header names
  const generic = { DENORT_BIN: Deno.execPath() };
  await findDenort(hostArch, { env: generic }).then(
    () => {
      throw new Error("the deno CLI must be refused");
    },
    (e) => assertStringIncludes(e.message, "is the deno CLI"),
  );
  const other = hostArch === "x86_64" ? "aarch64" : "x86_64";
  assertEquals(await findDenort(other, { env: generic }), undefined);
  assertEquals(await findDenort(other, { env: {} }), undefined);
});
