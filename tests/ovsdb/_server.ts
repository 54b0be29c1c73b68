/**
 * Minimal real ovsdb-server with the OVN Northbound schema for the OVSDB/OVN tests
 * (unix socket and optionally a loopback TCP port), plus an ovn-nbctl helper.
 * @module
 */

const NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema";

/** Options for {@link startNbServer}. */
export interface NbServerOptions {
  /** Also listen on 127.0.0.1:PORT (a free port is picked when true). */
  tcp?: boolean;
}

async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function runOk(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${out.code}: ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** A running ovsdb-server serving a fresh OVN_Northbound database. */
export class NbServer {
  readonly dir: string;
  readonly sock: string;
  readonly db: string;
  tcpPort: number | undefined;
  #child: Deno.ChildProcess | undefined;

  private constructor(dir: string) {
    this.dir = dir;
    this.sock = `${dir}/nb.sock`;
    this.db = `${dir}/nb.db`;
  }

  /** `unix:` remote of the server. */
  get remote(): string {
    return `unix:${this.sock}`;
  }

  /** `tcp:` remote (when started with `tcp`). */
  get tcpRemote(): string {
    return `tcp:127.0.0.1:${this.tcpPort}`;
  }

  /** Creates the database and starts the server. */
  static async start(options: NbServerOptions = {}): Promise<NbServer> {
    const dir = await Deno.makeTempDir({ prefix: "vpnv4-ovsdb-" });
    const s = new NbServer(dir);
    await runOk("ovsdb-tool", ["create", s.db, NB_SCHEMA]);
    if (options.tcp) s.tcpPort = await freePort();
    await s.#spawn();
    return s;
  }

  async #spawn(): Promise<void> {
    const args = [
      `--remote=punix:${this.sock}`,
      `--unixctl=${this.dir}/nb.ctl`,
      `--pidfile=${this.dir}/nb.pid`,
      "--no-chdir",
      `--log-file=${this.dir}/nb.log`,
      "-vconsole:off",
    ];
    if (this.tcpPort) args.push(`--remote=ptcp:${this.tcpPort}:127.0.0.1`);
    args.push(this.db);
    this.#child = new Deno.Command("ovsdb-server", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Wait until the socket accepts connections (readiness, not a timing assertion).
    for (let i = 0; i < 500; i++) {
      try {
        const c = await Deno.connect({ transport: "unix", path: this.sock });
        c.close();
        if (this.tcpPort) {
          const t = await Deno.connect({ hostname: "127.0.0.1", port: this.tcpPort });
          t.close();
        }
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    throw new Error(`ovsdb-server did not come up; see ${this.dir}/nb.log`);
  }

  /** Stops the server process (the database file stays). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await Deno.remove(this.sock).catch(() => {});
  }

  /** Stops then starts the server on the same database and sockets. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }

  /** Runs ovn-nbctl against this server; returns stdout. */
  nbctl(...args: string[]): Promise<string> {
    return runOk("ovn-nbctl", ["--no-leader-only", ...args], { OVN_NB_DB: this.remote });
  }

  /** Stops the server and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
