/**
 * Helpers for the least-privilege tests: the service identity, a Deno cache the service user can
 * read, throwaway TLS certificates, and an ovsdb-server with an `ssl:` remote inside a netns.
 * @module
 */
import { join } from "node:path";
import { OVN_SCHEMAS } from "../support/ovn_nb.ts";
import { Daemon, freePort, run, runOk, waitFor } from "../support/proc.ts";

/**
 * The identity the tests run the agent as: `nobody`/`nogroup`. vtysh refuses a uid without a
 * passwd entry ("could not lookup user ID"), so the deploy units' 42494 (a dedicated user
 * created by install.sh / the image) cannot be borrowed here without adding a user to this
 * machine; `nobody` stands in for it: unprivileged, in no group, owning nothing.
 */
export const SERVICE_ID = { uid: 65534, gid: 65534 } as const;

/** The gid of a group in /etc/group (throws when absent). */
export async function groupId(name: string): Promise<number> {
  const line = (await Deno.readTextFile("/etc/group")).split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`group ${name} not found`);
  return Number(line.split(":")[2]);
}

/**
 * `setpriv` arguments that drop root to the service uid/gid with `groups`, keeping only the
 * capabilities in `caps` (e.g. `["net_admin"]`; empty: none at all).
 */
export function setprivArgs(groups: number[], caps: string[]): string[] {
  const list = caps.map((c) => `+${c}`).join(",");
  return [
    "setpriv",
    `--reuid=${SERVICE_ID.uid}`,
    `--regid=${SERVICE_ID.gid}`,
    groups.length ? `--groups=${groups.join(",")}` : "--clear-groups",
    ...(caps.length ? [`--inh-caps=${list}`, `--ambient-caps=${list}`] : ["--inh-caps=-all"]),
    `--bounding-set=-all${caps.length ? `,${list}` : ""}`,
    "--",
  ];
}

/**
 * A copy of this machine's Deno cache (npm packages, compiled modules) owned by the service user,
 * so that `deno run` works as that user without network access. Returns its path.
 */
export async function serviceDenoDir(parent: string): Promise<string> {
  const info = JSON.parse(
    (await runOk(Deno.execPath(), ["info", "--json"])).trim(),
  ) as { denoDir: string };
  const dir = join(parent, "deno-dir");
  await runOk("cp", ["-a", info.denoDir, dir]);
  await runOk("chown", ["-R", `${SERVICE_ID.uid}:${SERVICE_ID.gid}`, dir]);
  return dir;
}

/** PEM files of a throwaway CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface TestCerts {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

/** Creates the certificates with openssl (EC P-256) in `dir`. */
export async function makeCerts(dir: string): Promise<TestCerts> {
  const p = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await runOk("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=vpnv4-test-ca",
  ]);
  for (
    const [name, cn, ext] of [
      ["server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"],
      ["client", "vpnv4-agent", "basicConstraints=CA:FALSE\n"],
    ]
  ) {
    await Deno.writeTextFile(p(`${name}.ext`), ext);
    await runOk("openssl", [
      "req",
      ...ec,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
      "-subj",
      `/CN=${cn}`,
    ]);
    await runOk("openssl", [
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("ca.pem"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      p(`${name}.ext`),
      "-out",
      p(`${name}.pem`),
    ]);
  }
  return {
    ca: p("ca.pem"),
    serverKey: p("server.key"),
    serverCert: p("server.pem"),
    clientKey: p("client.key"),
    clientCert: p("client.pem"),
  };
}

/** A running ovsdb-server (OVN NB schema) inside a netns with `ssl:` and unix remotes. */
export interface SslOvsdb {
  /** `ssl:127.0.0.1:PORT` (reachable inside the netns). */
  sslRemote: string;
  /** Runs ovn-nbctl over the unix socket. */
  nbctl(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Starts ovsdb-server in `netns` with a pssl remote using `certs` (files go to `dir`). */
export async function startSslOvsdb(
  netns: string,
  dir: string,
  certs: TestCerts,
): Promise<SslOvsdb> {
  const db = join(dir, "nb.db");
  const sock = join(dir, "nb.sock");
  const port = freePort();
  await runOk("ovsdb-tool", ["create", db, OVN_SCHEMAS.nb]);
  const daemon = new Daemon("ovsdb-server", "ip", [
    "netns",
    "exec",
    netns,
    "ovsdb-server",
    `--remote=punix:${sock}`,
    `--remote=pssl:${port}:127.0.0.1`,
    `--private-key=${certs.serverKey}`,
    `--certificate=${certs.serverCert}`,
    `--ca-cert=${certs.ca}`,
    `--unixctl=${sock}.ctl`,
    `--log-file=${dir}/ovsdb-server.log`,
    "-vconsole:off",
    db,
  ]);
  try {
    await waitFor(async () => {
      if (daemon.exited) throw new Error(`ovsdb-server exited:\n${daemon.output}`);
      return (await run("ovsdb-client", ["list-dbs", `unix:${sock}`])).code === 0;
    }, { timeoutMs: 15_000, describe: () => `ovsdb-server did not answer:\n${daemon.output}` });
  } catch (e) {
    await daemon.stop();
    throw e;
  }
  return {
    sslRemote: `ssl:127.0.0.1:${port}`,
    nbctl: (args) => runOk("ovn-nbctl", [`--db=unix:${sock}`, ...args]),
    stop: () => daemon.stop(),
  };
}
