/**
 * A real OVSDB server holding the OVN Northbound (or Southbound) schema, without OVN itself:
 * `ovsdb-server` in a temp dir on a unix socket, optionally also on 127.0.0.1:PORT.
 *
 * ```ts
 * await using nb = await startOvnDb();
 * await nb.nbctl(["ls-add", "sw0"]);
 * // connect the code under test to nb.unixRemote ("unix:/tmp/…/db.sock")
 * ```
 * @module
 */
import { Daemon, freePort, run, runOk, waitFor } from "./proc.ts";

/** Paths of the schemas shipped by Debian `ovn-common`. */
export const OVN_SCHEMAS = {
  nb: "/usr/share/ovn/ovn-nb.ovsschema",
  sb: "/usr/share/ovn/ovn-sb.ovsschema",
} as const;

/** Options of {@link startOvnDb}. */
export interface OvnDbOptions {
  /** `nb` (default), `sb`, or a path to another `.ovsschema`. */
  schema?: "nb" | "sb" | string;
  /** Also listen on `ptcp:PORT:127.0.0.1`; `true` picks a free port. */
  tcp?: boolean | number;
  /** How long to wait for the server to answer (default 15000 ms). */
  startTimeoutMs?: number;
}

/** A running ovsdb-server. `stop()` (or `await using`) kills it and removes its temp dir. */
export interface OvnDbInstance extends AsyncDisposable {
  /** Database name from the schema, e.g. `OVN_Northbound`. */
  readonly database: string;
  /** Temp dir holding the db file, socket, control socket and pid file. */
  readonly dir: string;
  /** The database file (kept across {@link OvnDbInstance.restart}). */
  readonly dbPath: string;
  /** Path of the unix socket. */
  readonly socketPath: string;
  /** `unix:SOCKET`, usable as `--db=` / OVN_NB_DB and by OVSDB clients. */
  readonly unixRemote: string;
  /** `tcp:127.0.0.1:PORT` when the TCP remote is enabled. */
  readonly tcpRemote?: string;
  /** TCP port when enabled. */
  readonly tcpPort?: number;
  /**
   * Runs `ovn-nbctl --db=unix:SOCKET ARGS…` (`ovn-sbctl` for the SB schema) and returns stdout.
   * Throws with stderr on a non-zero exit.
   */
  nbctl(args: string[]): Promise<string>;
  /** Runs `ovsdb-client ARGS… unix:SOCKET …`; `args` must place the remote via `{remote}`. */
  client(args: string[]): Promise<string>;
  /** Kills and restarts ovsdb-server on the same db file, socket and TCP port. */
  restart(): Promise<void>;
  /** Kills ovsdb-server (SIGTERM, then SIGKILL) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Creates a database from the schema and starts ovsdb-server on it. */
export async function startOvnDb(options: OvnDbOptions = {}): Promise<OvnDbInstance> {
  const schemaOpt = options.schema ?? "nb";
  const schema = schemaOpt === "nb" || schemaOpt === "sb" ? OVN_SCHEMAS[schemaOpt] : schemaOpt;
  const ctl = schemaOpt === "sb" ? "ovn-sbctl" : "ovn-nbctl";
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-ovsdb-" });
  const dbPath = `${dir}/db.db`;
  const socketPath = `${dir}/db.sock`;
  const unixRemote = `unix:${socketPath}`;
  const tcpPort = options.tcp === true ? freePort() : options.tcp || undefined;
  const tcpRemote = tcpPort ? `tcp:127.0.0.1:${tcpPort}` : undefined;
  let daemon: Daemon | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await daemon?.stop();
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };

  const launch = async () => {
    await Deno.remove(socketPath).catch(() => {});
    const d = new Daemon("ovsdb-server", "ovsdb-server", [
      `--remote=punix:${socketPath}`,
      ...(tcpPort ? [`--remote=ptcp:${tcpPort}:127.0.0.1`] : []),
      `--unixctl=${socketPath}.ctl`,
      `--pidfile=${dir}/ovsdb-server.pid`,
      `--log-file=${dir}/ovsdb-server.log`,
      "-vconsole:off",
      dbPath,
    ]);
    daemon = d;
    await waitFor(async () => {
      if (d.exited) {
        const log = await Deno.readTextFile(`${dir}/ovsdb-server.log`).catch(() => "");
        throw new Error(`ovsdb-server exited during start:\n${d.output}\n${log}`);
      }
      return (await run("ovsdb-client", ["list-dbs", unixRemote])).code === 0;
    }, {
      timeoutMs: options.startTimeoutMs ?? 15_000,
      describe: () => `ovsdb-server on ${socketPath} did not answer:\n${d.output}`,
    });
  };

  let database = "";
  try {
    await runOk("ovsdb-tool", ["create", dbPath, schema]);
    database = (await runOk("ovsdb-tool", ["schema-name", schema])).trim();
    await launch();
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    database,
    dir,
    dbPath,
    socketPath,
    unixRemote,
    tcpRemote,
    tcpPort,
    nbctl: (args) => runOk(ctl, [`--db=${unixRemote}`, ...args]),
    client: (args) => runOk("ovsdb-client", args.map((a) => a === "{remote}" ? unixRemote : a)),
    async restart() {
      if (stopped) throw new Error("ovsdb-server is stopped");
      await daemon?.stop();
      await launch();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
