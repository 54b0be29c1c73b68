/**
 * The one subprocess the product runs: vtysh. Every call has a deadline that kills vtysh
 * (SIGKILL) and reports the command and its stderr; batches go through `vtysh -f FILE` with
 * a private temporary file (mode 0600) that is removed afterwards, and FRR's per-line error
 * output (`line N: % Unknown command…`) becomes errors naming the line and its text.
 *
 * Observed with FRR 8.4.4:
 * - `vtysh -f` goes on after a failing line and exits non-zero (2 for an unknown command);
 *   stderr has `line N: % Unknown command[..]: TEXT` or `line N: Failure to communicate[..]
 *   to bgpd, line: TEXT`, while the daemon's own reason (`% Specify remote-as …`) is on
 *   stdout without a line number.
 * - With bgpd down, `vtysh -f` silently skips BGP lines and exits 0, and `show running-config`
 *   simply omits BGP; {@link Vtysh.runningConfig} therefore checks `show daemons`.
 * @module
 */
import type { Config } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";

const log = getLogger("frr");

/** How vtysh is run: the `frr` section of the configuration. */
export type VtyshSettings = Pick<Config["frr"], "vtysh" | "pathspace" | "timeout_ms">;

/** A failed vtysh run. */
export class VtyshError extends Error {
  override name = "VtyshError";
  /** The command line (vtysh path and arguments). */
  readonly command: readonly string[];
  /** What vtysh wrote to stderr (and stdout, where it puts daemon errors), cut to 4 KiB. */
  readonly stderr: string;
  /** Exit code, when vtysh exited. */
  readonly code?: number;
  constructor(
    message: string,
    details: { command: readonly string[]; stderr: string; code?: number },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.command = details.command;
    this.stderr = details.stderr.slice(0, 4096);
    this.code = details.code;
  }
}

/** vtysh did not finish within `frr.timeout_ms` and was killed. */
export class VtyshTimeoutError extends VtyshError {
  override name = "VtyshTimeoutError";
}

/** One failing line of a `vtysh -f` batch. */
export interface VtyshLineError {
  /** 1-based line number in the batch. */
  readonly line: number;
  /** FRR's message, e.g. `% Unknown command[25]:`. */
  readonly message: string;
  /** The batch line, as sent. */
  readonly text: string;
}

/** A `vtysh -f` batch with failing lines. */
export class VtyshApplyError extends VtyshError {
  override name = "VtyshApplyError";
  /** Every failing line. */
  readonly lines: readonly VtyshLineError[];
  constructor(
    message: string,
    details: { command: readonly string[]; stderr: string; code?: number },
    lines: readonly VtyshLineError[],
  ) {
    super(message, details);
    this.lines = lines;
  }
}

/** Output of one vtysh run. */
export interface VtyshResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link Vtysh.applyLines}. */
export interface ApplyLinesOptions {
  /** Failing lines this predicate accepts are logged instead of thrown. */
  tolerate?: (error: VtyshLineError) => boolean;
  /**
   * Send the batch to this daemon only (`vtysh -d DAEMON`), e.g. `bgpd`: vtysh then neither
   * connects to nor commits in the other daemons (prefix-lists and route-maps otherwise go to
   * zebra too, whose configuration commit costs as much as bgpd's). vtysh fails when that
   * daemon is not running, instead of silently skipping its lines.
   */
  daemon?: string;
}

async function readAll(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sink: Uint8Array[],
): Promise<void> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    sink.push(value);
  }
}

function decode(chunks: Uint8Array[]): string {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

/** Hides neighbor passwords in text that may reach logs or errors. */
export function redact(text: string): string {
  return text.replace(/(\spassword\s+)\S+/g, "$1***");
}

/** Parses `line N: MESSAGE` lines of vtysh's stderr. */
export function parseVtyshLineErrors(
  output: string,
  batch: readonly string[],
): VtyshLineError[] {
  const errors: VtyshLineError[] = [];
  for (const raw of output.split("\n")) {
    const m = /^line ([0-9]{1,9}): (.*)$/.exec(raw.trimEnd());
    if (!m) continue;
    const line = Number(m[1]);
    // vtysh appends the offending text after the message; keep only the message.
    const message = m[2].replace(/(\[[0-9]+\])?:\s.*$|, line:.*$/, "$1").trim() || m[2];
    errors.push({ line, message, text: redact(batch[line - 1] ?? "") });
  }
  return errors;
}

/** Runs vtysh for one FRR instance. */
export class Vtysh {
  readonly #settings: VtyshSettings;

  /** Settings are the `frr` section of the configuration. */
  constructor(settings: VtyshSettings) {
    this.#settings = settings;
  }

  /** The arguments that select the instance (`-N NAME`), if any. */
  get baseArgs(): string[] {
    return this.#settings.pathspace ? ["-N", this.#settings.pathspace] : [];
  }

  /**
   * Runs vtysh with `args` (after the pathspace). Resolves with any exit code; rejects with
   * {@link VtyshTimeoutError} after `timeout_ms` (vtysh is killed) or {@link VtyshError} when
   * it cannot be started.
   */
  async run(args: readonly string[]): Promise<VtyshResult> {
    const argv = [...this.baseArgs, ...args];
    const command = [this.#settings.vtysh, ...argv];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#settings.vtysh, {
        args: argv,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { LANG: "C" },
      }).spawn();
    } catch (cause) {
      throw new VtyshError(
        `cannot start ${this.#settings.vtysh}: ${(cause as Error).message}`,
        { command, stderr: "" },
        { cause },
      );
    }
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const readers = [child.stdout.getReader(), child.stderr.getReader()];
    const reading = Promise.all([readAll(readers[0], out), readAll(readers[1], err)])
      .catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#settings.timeout_ms);
    });
    try {
      // Wait for the exit *and* the end of both streams (a grandchild may hold them open).
      const done = await Promise.race([
        Promise.all([child.status, reading]).then(([s]) => s),
        timedOut,
      ]);
      if (done === "timeout") {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
        await child.status;
        // A grandchild (e.g. a wrapper script's `sleep`) may still hold the pipes: stop reading.
        await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
        const stderr = decode(err);
        throw new VtyshTimeoutError(
          `${command.join(" ")} did not finish within ${this.#settings.timeout_ms} ms ` +
            `and was killed${stderr.trim() ? `: ${stderr.trim().slice(0, 500)}` : ""}`,
          { command, stderr },
        );
      }
      return { code: done.code, stdout: decode(out), stderr: decode(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `-c CMD` and returns stdout; throws {@link VtyshError} on a non-zero exit. */
  async show(cmd: string): Promise<string> {
    const r = await this.run(["-c", cmd]);
    if (r.code !== 0) {
      throw new VtyshError(
        `vtysh -c '${cmd}' exited ${r.code}: ${(r.stderr + r.stdout).trim().slice(0, 500)}`,
        {
          command: [this.#settings.vtysh, ...this.baseArgs, "-c", cmd],
          stderr: r.stderr,
          code: r.code,
        },
      );
    }
    return r.stdout;
  }

  /**
   * `show running-config bgpd` (everything the agent writes lives in bgpd: BGP instances,
   * route-maps, prefix-lists; asking bgpd alone spares vtysh merging every daemon's copy),
   * after checking with `show daemons` (same vtysh call) that zebra and bgpd are connected:
   * without bgpd FRR would show, and accept, a configuration without BGP.
   */
  async runningConfig(): Promise<string> {
    const args = ["-c", "show daemons", "-c", "show running-config bgpd"];
    const r = await this.run(args);
    const command = [this.#settings.vtysh, ...this.baseArgs, ...args];
    if (r.code !== 0) {
      throw new VtyshError(
        `show running-config failed (exit ${r.code}): ${
          (r.stderr + r.stdout).trim().slice(0, 500)
        }`,
        { command, stderr: r.stderr + r.stdout, code: r.code },
      );
    }
    const nl = r.stdout.indexOf("\n");
    const daemons = (nl < 0 ? r.stdout : r.stdout.slice(0, nl)).trim().split(/\s+/);
    if (!daemons.includes("bgpd") || !daemons.includes("zebra")) {
      throw new VtyshError(
        `FRR daemons connected: ${daemons.join(" ") || "none"}; zebra and bgpd are needed`,
        { command, stderr: r.stderr, code: r.code },
      );
    }
    return nl < 0 ? "" : r.stdout.slice(nl + 1);
  }

  /**
   * Applies configuration lines in one `vtysh -f` batch (a 0600 temporary file, removed
   * afterwards). Throws {@link VtyshApplyError} listing every failing line (unless tolerated).
   */
  async applyLines(
    lines: readonly string[],
    options: ApplyLinesOptions = {},
  ): Promise<VtyshResult> {
    const file = await Deno.makeTempFile({ prefix: "vpnv4-agent-frr-", suffix: ".conf" });
    try {
      await Deno.chmod(file, 0o600);
      await Deno.writeTextFile(file, lines.join("\n") + "\n");
      const args = [...(options.daemon ? ["-d", options.daemon] : []), "-f", file];
      const r = await this.run(args);
      const command = [this.#settings.vtysh, ...this.baseArgs, ...args];
      const errors = parseVtyshLineErrors(r.stderr, lines);
      const fatal = errors.filter((e) => !(options.tolerate?.(e) ?? false));
      for (const e of errors) {
        if (!fatal.includes(e)) {
          log.warn("vtysh: tolerated error on line {line} ({text}): {message}", { ...e });
        }
      }
      if (fatal.length > 0 || (r.code !== 0 && errors.length === 0)) {
        const what = fatal.length > 0
          ? fatal.slice(0, 5).map((e) => `line ${e.line} (${e.text.trim()}): ${e.message}`)
            .join("; ")
          : (r.stderr + r.stdout).trim().slice(0, 500);
        const details = r.stdout.split("\n").filter((l) => l.startsWith("%")).join("; ");
        throw new VtyshApplyError(
          redact(`vtysh -f failed (exit ${r.code}): ${what}${details ? ` [FRR: ${details}]` : ""}`),
          { command, stderr: redact(r.stderr + r.stdout), code: r.code },
          fatal,
        );
      }
      return r;
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  }

  /** Checks text with FRR's parser (`vtysh --dryrun -f`); returns the failing lines. */
  async dryrun(lines: readonly string[]): Promise<VtyshLineError[]> {
    const file = await Deno.makeTempFile({ prefix: "vpnv4-agent-frr-", suffix: ".conf" });
    try {
      await Deno.chmod(file, 0o600);
      await Deno.writeTextFile(file, lines.join("\n") + "\n");
      const r = await this.run(["--dryrun", "-f", file]);
      const errors = parseVtyshLineErrors(r.stderr + "\n" + r.stdout, lines);
      if (r.code !== 0 && errors.length === 0) {
        throw new VtyshError(`vtysh --dryrun exited ${r.code}: ${(r.stderr + r.stdout).trim()}`, {
          command: [this.#settings.vtysh, ...this.baseArgs, "--dryrun", "-f", file],
          stderr: r.stderr,
          code: r.code,
        });
      }
      return errors;
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  }
}
