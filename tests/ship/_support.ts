/**
 * Helpers for the ship tests: repository paths, a small Dockerfile parser, systemd unit parsing
 * and running commands.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { configSchema } from "../../src/config/mod.ts";

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A path inside the repository. */
export function repoPath(...parts: string[]): string {
  return join(REPO, ...parts);
}

/** The configuration defaults (a minimal valid file parsed by the schema). */
export function configDefaults() {
  return configSchema.parse({
    bgp: { asn: 65000, router_id: "192.0.2.1" },
    tenants: { sources: [{ type: "file", path: "tenants.yaml" }] },
  });
}

/** The port of a `HOST:PORT` listen address. */
export function listenPort(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(":") + 1));
}

/** One Dockerfile instruction, continuation lines joined, comment lines dropped. */
export interface Instruction {
  /** Upper-case keyword, e.g. `RUN`. */
  keyword: string;
  /** Everything after the keyword. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

/** Parses a Dockerfile into instructions (no variable expansion). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  let current: Instruction | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && !current)) continue;
    const continued = trimmed.endsWith("\\");
    const body = continued ? trimmed.slice(0, -1) : trimmed;
    if (current) {
      current.args += " " + body.trim();
    } else {
      const m = /^([A-Za-z]+)\s*(.*)$/.exec(body);
      if (!m) throw new Error(`line ${i + 1}: cannot parse ${JSON.stringify(raw)}`);
      current = { keyword: m[1].toUpperCase(), args: m[2], line: i + 1 };
    }
    if (!continued) {
      current.args = current.args.replace(/\s+/g, " ").trim();
      out.push(current);
      current = undefined;
    }
  }
  if (current) throw new Error("Dockerfile ends inside a continuation");
  return out;
}

/** A build stage: its FROM and the instructions up to the next FROM. */
export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits instructions into global ARGs and stages, expanding `${ARG}` in FROM lines. */
export function dockerStages(instructions: Instruction[]): {
  args: Map<string, string>;
  stages: Stage[];
} {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(" ").filter((w) => !w.startsWith("--platform="));
      const image = words[0].replace(/\$\{(\w+)\}/g, (_, k) => args.get(k) ?? `\${${k}}`);
      const asIndex = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({
        from: image,
        name: asIndex > 0 ? words[asIndex + 1] : undefined,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (ins.keyword === "ARG") {
        const [k, v] = ins.args.split("=", 2);
        args.set(k, v ?? "");
      }
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { args, stages };
}

/** A systemd unit as section → key → values (keys may repeat). */
export type Unit = Map<string, Map<string, string[]>>;

/** Parses a systemd unit file (no line continuations are used in ours). */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = new Map();
      unit.set(s[1], section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 0) throw new Error(`bad unit line ${JSON.stringify(raw)}`);
    const key = line.slice(0, eq).trim();
    const values = section.get(key) ?? [];
    values.push(line.slice(eq + 1).trim());
    section.set(key, values);
  }
  return unit;
}

/** The output of a finished command. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion. */
export async function runCommand(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean; cwd?: string } = {},
): Promise<Ran> {
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env,
    clearEnv: options.clearEnv,
    cwd: options.cwd ?? REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Whether an executable is on PATH. */
export async function hasCommand(name: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      const st = await Deno.stat(join(dir, name));
      if (st.isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}
