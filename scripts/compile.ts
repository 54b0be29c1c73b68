/**
 * `deno task compile`: builds `dist/vpnv4-agent-<arch>-linux` for x86_64 and aarch64 with the
 * product permissions ({@link productPermissionFlags}) baked in.
 *
 * `deno compile` needs Deno's `denort` base binary for each target, normally downloaded from
 * Deno's release host. Where that host is unreachable, provide it: `DENORT_BIN_X86_64`,
 * `DENORT_BIN_AARCH64` (or `DENORT_BIN`, used for the architecture its ELF header says) point at
 * an unzipped `denort` of the same Deno version. Without one the script names the download it
 * needs and exits 1 without building anything (`--download` lets `deno compile` fetch it where
 * that host is reachable). The `deno` CLI itself is refused as base binary: the result would be
 * a plain deno that ignores the embedded agent. A host-architecture build is run once as
 * `vpnv4-agent version` before it is reported as built.
 *
 * Usage: `deno task compile [--target x86_64|aarch64|all] [--out-dir dist] [--download]`
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { productPermissionFlags } from "./permissions.ts";

/** CPU architectures the agent ships for. */
export type Arch = "x86_64" | "aarch64";

/** Every architecture, in build order. */
export const ARCHES: readonly Arch[] = ["x86_64", "aarch64"];

/** Rust target triple per architecture. */
export const TARGETS: Readonly<Record<Arch, string>> = {
  x86_64: "x86_64-unknown-linux-gnu",
  aarch64: "aarch64-unknown-linux-gnu",
};

const ELF_MACHINE: Readonly<Record<number, Arch>> = { 62: "x86_64", 183: "aarch64" };

/** The repository root (parent of scripts/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The output file name for an architecture, e.g. `vpnv4-agent-x86_64-linux`. */
export function outputName(arch: Arch): string {
  return `vpnv4-agent-${arch}-linux`;
}

/** Where `deno compile` would download the denort base binary for an architecture. */
export function denortDownload(arch: Arch, denoVersion = Deno.version.deno): string {
  return `https://dl.deno.land/release/v${denoVersion}/denort-${TARGETS[arch]}.zip`;
}

/** The ELF machine of a file, or undefined when it is not a 64-bit little-endian ELF. */
export async function elfArch(path: string): Promise<Arch | undefined> {
  const file = await Deno.open(path, { read: true });
  try {
    const header = new Uint8Array(20);
    let n = 0;
    while (n < header.length) {
      const r = await file.read(header.subarray(n));
      if (r === null) return undefined;
      n += r;
    }
    const magic = header[0] === 0x7f && header[1] === 0x45 && header[2] === 0x4c &&
      header[3] === 0x46;
    if (!magic || header[4] !== 2 || header[5] !== 1) return undefined;
    return ELF_MACHINE[header[18] | (header[19] << 8)];
  } finally {
    file.close();
  }
}

/** Options for {@link findDenort}. */
export interface FindDenortOptions {
  /** Environment to read (default: the process environment). */
  env?: Record<string, string | undefined>;
}

/**
 * The denort binary for an architecture: `DENORT_BIN_<ARCH>`, else `DENORT_BIN` when its ELF
 * header is of that architecture. Throws when a variable names a missing or wrong file.
 */
export async function findDenort(
  arch: Arch,
  options: FindDenortOptions = {},
): Promise<string | undefined> {
  const env = options.env ?? Deno.env.toObject();
  const specific = `DENORT_BIN_${arch.toUpperCase()}`;
  for (const name of [specific, "DENORT_BIN"]) {
    const path = env[name];
    if (!path) continue;
    let found: Arch | undefined;
    try {
      found = await elfArch(path);
    } catch (e) {
      throw new Error(`${name}=${path}: ${(e as Error).message}`, { cause: e });
    }
    if (found === arch) {
      if (await Deno.realPath(path) === await Deno.realPath(Deno.execPath())) {
        throw new Error(`${name}=${path} is the deno CLI, not denort`);
      }
      return path;
    }
    if (name === specific) {
      throw new Error(
        `${name}=${path} is not an ${arch} ELF executable (found ${found ?? "none"})`,
      );
    }
  }
  return undefined;
}

/** Options for {@link compileArgs}. */
export interface CompileArgsOptions {
  /** Output folder (default `dist` in the repository). */
  outDir?: string;
}

/**
 * The `deno compile` arguments for one architecture.
 *
 * `--no-lock`: Deno 2.9.x `deno compile` overflows its stack when a lockfile is in use with npm
 * dependencies (denoland/deno#36746; reproduced here with 2.9.6). The lock is checked by a
 * `deno cache --frozen main.ts` step before compiling instead, so the embedded npm packages are
 * still the locked ones.
 */
export function compileArgs(arch: Arch, options: CompileArgsOptions = {}): string[] {
  const outDir = options.outDir ?? join(REPO_ROOT, "dist");
  return [
    "compile",
    "--no-lock",
    "--no-prompt",
    ...productPermissionFlags(),
    "--target",
    TARGETS[arch],
    "--output",
    join(outDir, outputName(arch)),
    join(REPO_ROOT, "main.ts"),
  ];
}

interface Cli {
  arches: Arch[];
  outDir: string;
  download: boolean;
}

function parseCli(args: string[]): Cli {
  let target = "all";
  let download = false;
  let outDir = join(REPO_ROOT, "dist");
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    const value = () => inline ?? args[++i];
    if (flag === "--target") target = value();
    else if (flag === "--out-dir") outDir = resolve(value());
    else if (flag === "--download") download = true;
    else {
      throw new Error(
        `unknown argument ${args[i]} (use --target x86_64|aarch64|all, --out-dir DIR, --download)`,
      );
    }
  }
  if (target === "all") return { arches: [...ARCHES], outDir, download };
  if ((ARCHES as readonly string[]).includes(target)) {
    return { arches: [target as Arch], outDir, download };
  }
  throw new Error(`--target must be x86_64, aarch64 or all, not ${target}`);
}

/** Removes an output and the `<out>.tmp-*` file an aborted `deno compile` leaves behind. */
async function removeOutput(out: string): Promise<void> {
  await Deno.remove(out).catch(() => {});
  const base = out.slice(out.lastIndexOf("/") + 1);
  for await (const e of Deno.readDir(dirname(out))) {
    if (e.name.startsWith(`${base}.tmp-`)) await Deno.remove(join(dirname(out), e.name));
  }
}

/** Runs a host-architecture binary as `version`; returns what is wrong, if anything. */
async function smokeProblem(out: string, arch: Arch): Promise<string | undefined> {
  const host: Arch | undefined = Deno.build.arch === "x86_64"
    ? "x86_64"
    : Deno.build.arch === "aarch64"
    ? "aarch64"
    : undefined;
  if (host !== arch) return undefined;
  const child = new Deno.Command(out, {
    args: ["version"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const result = await child.output().finally(() => clearTimeout(timer));
  const text = new TextDecoder().decode(result.stdout).trim();
  if (!result.success || !text.startsWith("vpnv4-agent ")) {
    return `the built binary does not run: \`${out} version\` exited ${result.code} printing ` +
      `${JSON.stringify(text.slice(0, 80))} (is DENORT_BIN a denort of Deno ${Deno.version.deno}?)`;
  }
  return undefined;
}

async function main(args: string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(args);
  } catch (e) {
    console.error(`compile: ${(e as Error).message}`);
    return 2;
  }
  try {
    await Deno.stat(join(REPO_ROOT, "main.ts"));
  } catch {
    console.error(`compile: ${join(REPO_ROOT, "main.ts")} not found; nothing was built`);
    return 1;
  }
  const denorts = new Map<Arch, string>();
  const missing: string[] = [];
  for (const arch of cli.arches) {
    try {
      const path = await findDenort(arch);
      if (path) denorts.set(arch, path);
      else if (!cli.download) {
        missing.push(
          `compile: cannot build ${outputName(arch)}: deno compile needs the denort base binary ` +
            `${denortDownload(arch)} and this script does not download it, so unzip it and set ` +
            `DENORT_BIN_${arch.toUpperCase()}=/path/to/denort (or pass --download where that ` +
            `host is reachable).`,
        );
      }
    } catch (e) {
      missing.push(`compile: cannot build ${outputName(arch)}: ${(e as Error).message}.`);
    }
  }
  if (missing.length > 0) {
    for (const line of missing) console.error(line);
    console.error("compile: nothing was built.");
    return 1;
  }
  const locked = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--frozen", join(REPO_ROOT, "main.ts")],
    cwd: REPO_ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!locked.success) {
    console.error("compile: deno cache --frozen main.ts failed (deno.lock); nothing was built.");
    return 1;
  }
  await Deno.mkdir(cli.outDir, { recursive: true });
  const built: string[] = [];
  for (const arch of cli.arches) {
    const out = join(cli.outDir, outputName(arch));
    const env: Record<string, string> = Deno.env.toObject();
    delete env.DENORT_BIN;
    const denort = denorts.get(arch);
    if (denort) env.DENORT_BIN = denort;
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(arch, { outDir: cli.outDir }),
      env,
      cwd: REPO_ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const madeArch = code === 0 ? await elfArch(out).catch(() => undefined) : undefined;
    const problem = madeArch !== arch
      ? `deno compile for ${TARGETS[arch]} failed (exit ${code})`
      : await smokeProblem(out, arch);
    if (problem) {
      await removeOutput(out);
      console.error(
        `compile: ${problem}; ${outputName(arch)} was not built` +
          (built.length ? ` (built: ${built.join(", ")})` : "") + ".",
      );
      return 1;
    }
    const size = (await Deno.stat(out)).size;
    built.push(out);
    console.log(`compile: built ${out} (${size} bytes, ${TARGETS[arch]})`);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
