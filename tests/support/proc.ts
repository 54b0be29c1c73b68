/**
 * Small process helpers shared by the real-component fixtures.
 * @module
 */

/** Result of {@link run}. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its exit code and text output (never throws on exit codes). */
export async function run(cmd: string, args: string[]): Promise<RunResult> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a command and returns stdout; throws with the command line, exit code and stderr on failure. */
export async function runOk(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

/** Prefix that runs a command inside `netns` (empty when undefined). */
export function inNetns(
  netns: string | undefined,
  cmd: string,
  args: string[],
): [string, string[]] {
  return netns ? ["ip", ["netns", "exec", netns, cmd, ...args]] : [cmd, args];
}

/** A spawned long-running process whose output is kept (last 200 lines) for error messages. */
export class Daemon {
  readonly child: Deno.ChildProcess;
  readonly status: Promise<Deno.CommandStatus>;
  #tail: string[] = [];
  #exited = false;

  constructor(readonly label: string, cmd: string, args: string[]) {
    this.child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
    this.status = this.child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.#drain(this.child.stdout);
    this.#drain(this.child.stderr);
  }

  async #drain(stream: ReadableStream<Uint8Array>) {
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        for (const line of chunk.split("\n")) {
          if (!line) continue;
          this.#tail.push(line);
          if (this.#tail.length > 200) this.#tail.shift();
        }
      }
    } catch {
      // stream closed
    }
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The last lines the process wrote to stdout/stderr. */
  get output(): string {
    return this.#tail.join("\n");
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exited) return;
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = await Promise.race([
      this.status.then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), graceMs)),
    ]);
    clearTimeout(timer);
    if (killed) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await this.status;
    }
  }
}

/** Polls `check` every `intervalMs` until it returns true; throws `describe()` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  options: { timeoutMs?: number; intervalMs?: number; describe: () => string },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (true) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(options.describe());
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** Returns a free TCP port on 127.0.0.1 (bound briefly and released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A short random identifier (lowercase hex) for names of instances, namespaces and links. */
export function shortId(len = 6): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(len / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, len);
}
