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
  /** Also listen with TLS on 127.0.0.1:PORT with a fresh CA, server and client certificate. */
  ssl?: boolean;
}

/** PEM files made for an SSL test server. */
export interface TlsFixture {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

/** Makes a CA, a server certificate for 127.0.0.1 and a client certificate in `dir`. */
export async function makeTlsFixture(dir: string): Promise<TlsFixture> {
  const f: TlsFixture = {
    ca: `${dir}/ca.pem`,
    serverKey: `${dir}/server-key.pem`,
    serverCert: `${dir}/server-cert.pem`,
    clientKey: `${dir}/client-key.pem`,
    clientCert: `${dir}/client-cert.pem`,
  };
  const caKey = `${dir}/ca-key.pem`;
  await runOk("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    caKey,
    "-out",
    f.ca,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  for (
    const [who, key, cert, ext] of [
      ["server", f.serverKey, f.serverCert, "subjectAltName=IP:127.0.0.1"],
      ["client", f.clientKey, f.clientCert, "extendedKeyUsage=clientAuth"],
    ] as const
  ) {
    const csr = `${dir}/${who}.csr`;
    const extFile = `${dir}/${who}.ext`;
    await Deno.writeTextFile(extFile, `${ext}\nbasicConstraints=CA:FALSE\n`);
    await runOk("openssl", [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${who}`,
      "-keyout",
      key,
      "-out",
      csr,
    ]);
    await runOk("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      f.ca,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      cert,
      "-extfile",
      extFile,
    ]);
  }
  return f;
}

function freePort(): number {
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
  sslPort: number | undefined;
  tls: TlsFixture | undefined;
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

  /** `ssl:` remote (when started with `ssl`). */
  get sslRemote(): string {
    return `ssl:127.0.0.1:${this.sslPort}`;
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
    if (options.tcp) s.tcpPort = freePort();
    if (options.ssl) {
      s.sslPort = freePort();
      s.tls = await makeTlsFixture(dir);
    }
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
    if (this.sslPort && this.tls) {
      args.push(
        `--remote=pssl:${this.sslPort}:127.0.0.1`,
        `--private-key=${this.tls.serverKey}`,
        `--certificate=${this.tls.serverCert}`,
        `--ca-cert=${this.tls.ca}`,
      );
    }
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

/** A Raft cluster of OVN_Northbound members on loopback, each with its own unix socket. */
export class NbCluster {
  readonly dir: string;
  readonly size: number;
  readonly #children: (Deno.ChildProcess | undefined)[] = [];
  readonly #raftPorts: number[] = [];

  private constructor(dir: string, size: number) {
    this.dir = dir;
    this.size = size;
  }

  /** `unix:` remote of member `i` (member 0 created the cluster and starts as leader). */
  remote(i: number): string {
    return `unix:${this.dir}/s${i}.sock`;
  }

  /** Creates the cluster and starts every member; resolves when all have joined. */
  static async start(size: number): Promise<NbCluster> {
    const dir = await Deno.makeTempDir({ prefix: "vpnv4-ovsdb-cluster-" });
    const c = new NbCluster(dir, size);
    for (let i = 0; i < size; i++) c.#raftPorts.push(freePort());
    const raft = (i: number) => `tcp:127.0.0.1:${c.#raftPorts[i]}`;
    await runOk("ovsdb-tool", ["create-cluster", `${dir}/db0`, NB_SCHEMA, raft(0)]);
    for (let i = 1; i < size; i++) {
      await runOk("ovsdb-tool", [
        "join-cluster",
        `${dir}/db${i}`,
        "OVN_Northbound",
        raft(i),
        raft(0),
      ]);
    }
    for (let i = 0; i < size; i++) await c.startMember(i);
    return c;
  }

  /** Starts member `i` and waits until it is connected to the cluster. */
  async startMember(i: number): Promise<void> {
    const sock = `${this.dir}/s${i}.sock`;
    this.#children[i] = new Deno.Command("ovsdb-server", {
      args: [
        `--remote=punix:${sock}`,
        `--unixctl=${this.dir}/s${i}.ctl`,
        `--pidfile=${this.dir}/s${i}.pid`,
        "--no-chdir",
        `--log-file=${this.dir}/s${i}.log`,
        "-vconsole:off",
        `${this.dir}/db${i}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const query = JSON.stringify(["_Server", {
      op: "select",
      table: "Database",
      where: [["name", "==", "OVN_Northbound"]],
      columns: ["connected"],
    }]);
    for (let k = 0; k < 1000; k++) {
      try {
        const out = await runOk("ovsdb-client", ["query", `unix:${sock}`, query]);
        if (out.includes('"connected":true')) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`cluster member ${i} did not join; see ${this.dir}/s${i}.log`);
  }

  /** Stops member `i`. */
  async stopMember(i: number): Promise<void> {
    const child = this.#children[i];
    this.#children[i] = undefined;
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    await child.status;
  }

  /** Runs ovs-appctl against member `i`'s control socket. */
  appctl(i: number, ...args: string[]): Promise<string> {
    return runOk("ovs-appctl", ["-t", `${this.dir}/s${i}.ctl`, ...args]);
  }

  /** Runs ovn-nbctl against member `i`. */
  nbctl(i: number, ...args: string[]): Promise<string> {
    return runOk("ovn-nbctl", ["--no-leader-only", ...args], { OVN_NB_DB: this.remote(i) });
  }

  /** Stops every member and removes the directory. */
  async dispose(): Promise<void> {
    for (let i = 0; i < this.size; i++) await this.stopMember(i);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
