/**
 * Real FRR (Debian `frr`) instances for tests: zebra, bgpd and staticd under a private
 * pathspace (`-N NAME`, `-F traditional`), optionally inside a network namespace.
 *
 * ```ts
 * await using frr = await startFrr({ netns: "ns1", config: "router bgp 65000\n" });
 * console.log(await frr.vtysh("show bgp summary"));
 * ```
 * @module
 */
import { Daemon, inNetns, run, shortId, waitFor } from "./proc.ts";

/** FRR daemons this fixture can run. zebra always runs and starts first. */
export type FrrDaemon = "zebra" | "bgpd" | "staticd";

/** Options of {@link startFrr}. */
export interface FrrOptions {
  /** Configuration text (`frr.conf` syntax), read by every daemon at start. Default: empty. */
  config?: string;
  /** Pathspace name (`-N`); default `t` + random hex. Keep it short (socket path limits). */
  name?: string;
  /** Network namespace (must exist) to run the daemons in; default: the caller's. */
  netns?: string;
  /** Daemons to run (default zebra, bgpd, staticd). */
  daemons?: FrrDaemon[];
  /** bgpd TCP listen port (`-p`); default 179. Use `0` to not listen (outbound sessions only). */
  bgpPort?: number;
  /** How long to wait for the daemons to answer vtysh (default 20000 ms). */
  startTimeoutMs?: number;
}

/** A running FRR instance. `stop()` (or `await using`) kills the daemons and removes its dirs. */
export interface FrrInstance extends AsyncDisposable {
  /** Pathspace name, for `vtysh -N`. */
  readonly name: string;
  /** Network namespace of the daemons, if any. */
  readonly netns?: string;
  /** `/etc/frr/NAME`, holding frr.conf and vtysh.conf. */
  readonly configDir: string;
  /** `/var/run/frr/NAME`, holding pid files and vty sockets. */
  readonly runDir: string;
  /**
   * Runs `vtysh -N NAME -c CMD…` (one `-c` per command, e.g. `["configure", "router bgp 1"]`)
   * and returns stdout. Throws with stdout/stderr when vtysh exits non-zero.
   */
  vtysh(cmds: string | string[]): Promise<string>;
  /** Runs one `show … json` command and parses its output. */
  vtyshJson<T = unknown>(cmd: string): Promise<T>;
  /** Stops and starts the daemons again (same name and netns); `config` replaces frr.conf. */
  restart(options?: { config?: string }): Promise<void>;
  /** Kills the daemons (SIGTERM, then SIGKILL) and removes configDir and runDir. Idempotent. */
  stop(): Promise<void>;
}

const FRR_BIN = "/usr/lib/frr";
const VTYSH_CONF = "! written by tests/support/frr.ts\n";

async function frrIds(): Promise<{ uid: number; gid: number }> {
  const passwd = await Deno.readTextFile("/etc/passwd");
  const line = passwd.split("\n").find((l) => l.startsWith("frr:"));
  if (!line) throw new Error("user frr not found (apt-get install frr)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Checks a configuration with FRR's own parser: `vtysh --dryrun -f FILE` (no daemon needed).
 *
 * Observed with FRR 8.4.4: exit 0 when every line parses; otherwise vtysh prints
 * `line N: % Unknown command[..]: TEXT` (or `% Command incomplete`, …) on stderr for each bad
 * line and exits with the CMD_ERR code of the *last* bad line: 2 = unknown command,
 * 3 = ambiguous, 4 = incomplete; a missing file gives a non-zero code as well. Only syntax
 * is checked, not semantics (e.g. a nonexistent route-map name passes).
 */
export async function validateFrrConfig(
  config: string,
): Promise<{ ok: boolean; code: number; errors: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-frr-dryrun-" });
  try {
    await Deno.writeTextFile(`${dir}/frr.conf`, config);
    const r = await run("vtysh", ["--dryrun", "-f", `${dir}/frr.conf`]);
    const errors = (r.stderr + r.stdout).split("\n").filter((l) => /^line \d+:/.test(l));
    return { ok: r.code === 0, code: r.code, errors };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Starts an FRR instance and waits until every daemon answers `vtysh -N NAME`. */
export async function startFrr(options: FrrOptions = {}): Promise<FrrInstance> {
  const name = options.name ?? `t${shortId()}`;
  const netns = options.netns;
  const daemons: FrrDaemon[] = [
    "zebra",
    ...(options.daemons ?? ["bgpd", "staticd"])
      .filter((d) => d !== "zebra"),
  ];
  const configDir = `/etc/frr/${name}`;
  const runDir = `/var/run/frr/${name}`;
  const { uid, gid } = await frrIds();
  let procs: Daemon[] = [];
  let stopped = false;

  for (const dir of [configDir, runDir]) {
    try {
      await Deno.stat(dir);
      throw new Error(`FRR pathspace ${name} is in use (${dir} exists)`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  const writeConfig = async (config: string) => {
    await Deno.writeTextFile(`${configDir}/frr.conf`, config);
    await Deno.chown(`${configDir}/frr.conf`, uid, gid);
  };

  const vtysh = async (cmds: string | string[]): Promise<string> => {
    const list = typeof cmds === "string" ? [cmds] : cmds;
    const r = await run("vtysh", ["-N", name, ...list.flatMap((c) => ["-c", c])]);
    if (r.code !== 0) {
      throw new Error(
        `vtysh -N ${name} ${list.map((c) => `-c '${c}'`).join(" ")} exited ${r.code}: ` +
          (r.stderr + r.stdout).trim(),
      );
    }
    return r.stdout;
  };

  const killAll = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
  };

  const launch = async () => {
    for (const d of daemons) {
      const args = ["-N", name, "-F", "traditional", "-f", `${configDir}/frr.conf`, "-P", "0"];
      if (d === "bgpd" && options.bgpPort !== undefined) {
        args.push(
          ...(options.bgpPort === 0 ? ["-n", "-l", "127.0.0.1", "-p", "0"] : [
            "-p",
            String(options.bgpPort),
          ]),
        );
      }
      const [cmd, full] = inNetns(netns, `${FRR_BIN}/${d}`, args);
      const proc = new Daemon(`${name}/${d}`, cmd, full);
      procs.push(proc);
      if (d === "zebra") {
        // bgpd/staticd connect to zebra's zserv socket; start them once it exists.
        await waitFor(async () => {
          if (proc.exited) return true;
          try {
            await Deno.stat(`${runDir}/zserv.api`);
            return true;
          } catch {
            return false;
          }
        }, {
          timeoutMs: options.startTimeoutMs ?? 20_000,
          describe: () => `FRR ${name}: zebra did not create zserv.api\n${proc.output}`,
        });
      }
    }
    const describe = () =>
      `FRR ${name}: daemons did not come up\n` +
      procs.map((p) => `--- ${p.label}${p.exited ? " (exited)" : ""}\n${p.output}`).join("\n");
    await waitFor(async () => {
      if (procs.some((p) => p.exited)) throw new Error(describe());
      for (const d of daemons) {
        try {
          await Deno.stat(`${runDir}/${d}.vty`);
        } catch {
          return false;
        }
      }
      const r = await run("vtysh", ["-N", name, "-c", "show version"]);
      return r.code === 0 && !/is not running/.test(r.stderr + r.stdout);
    }, { timeoutMs: options.startTimeoutMs ?? 20_000, describe });
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await killAll();
    } finally {
      await Deno.remove(configDir, { recursive: true }).catch(() => {});
      await Deno.remove(runDir, { recursive: true }).catch(() => {});
    }
  };

  try {
    for (const dir of [configDir, runDir]) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
      await Deno.chown(dir, uid, gid);
    }
    await Deno.writeTextFile(`${configDir}/vtysh.conf`, VTYSH_CONF);
    await Deno.chown(`${configDir}/vtysh.conf`, uid, gid);
    await writeConfig(options.config ?? "");
    await launch();
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    name,
    netns,
    configDir,
    runDir,
    vtysh,
    async vtyshJson<T>(cmd: string): Promise<T> {
      const out = await vtysh(cmd);
      try {
        return JSON.parse(out) as T;
      } catch (cause) {
        throw new Error(`vtysh -N ${name} -c '${cmd}': output is not JSON: ${out.slice(0, 200)}`, {
          cause,
        });
      }
    },
    async restart(opts: { config?: string } = {}) {
      if (stopped) throw new Error(`FRR ${name} is stopped`);
      await killAll();
      if (opts.config !== undefined) await writeConfig(opts.config);
      // Remove stale sockets so the readiness check waits for the new daemons.
      for await (const e of Deno.readDir(runDir)) {
        if (e.name.endsWith(".vty") || e.name === "zserv.api") {
          await Deno.remove(`${runDir}/${e.name}`).catch(() => {});
        }
      }
      try {
        await launch();
      } catch (e) {
        await stop();
        throw e;
      }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
