/**
 * OVSDB remotes: `unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT` and comma-separated lists.
 * @module
 */

/** A parsed remote. */
export type Remote =
  | { kind: "unix"; path: string; text: string }
  | { kind: "tcp" | "ssl"; hostname: string; port: number; text: string };

/** TLS files for `ssl:` remotes, as OVN deployments configure them. */
export interface TlsFiles {
  /** Client private key (PEM file path). */
  key?: string;
  /** Client certificate (PEM file path). */
  cert?: string;
  /** CA certificate(s) (PEM file path). */
  ca?: string;
}

/** Thrown for a remote string that cannot be parsed. */
export class RemoteParseError extends Error {
  override name = "RemoteParseError";
}

/** Parses one remote; throws {@link RemoteParseError} naming the text. */
export function parseRemote(text: string): Remote {
  const t = text.trim();
  const colon = t.indexOf(":");
  const scheme = colon < 0 ? "" : t.slice(0, colon);
  const rest = t.slice(colon + 1);
  if (scheme === "unix") {
    if (rest === "") throw new RemoteParseError(`remote ${JSON.stringify(text)}: empty path`);
    return { kind: "unix", path: rest, text: t };
  }
  if (scheme === "tcp" || scheme === "ssl") {
    let host: string;
    let portText: string;
    if (rest.startsWith("[")) {
      const close = rest.indexOf("]");
      if (close < 0 || rest[close + 1] !== ":") {
        throw new RemoteParseError(`remote ${JSON.stringify(text)}: expected [HOST]:PORT`);
      }
      host = rest.slice(1, close);
      portText = rest.slice(close + 2);
    } else {
      const last = rest.lastIndexOf(":");
      if (last < 0) {
        throw new RemoteParseError(`remote ${JSON.stringify(text)}: expected HOST:PORT`);
      }
      host = rest.slice(0, last);
      portText = rest.slice(last + 1);
    }
    const port = Number(portText);
    if (host === "" || !/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) {
      throw new RemoteParseError(`remote ${JSON.stringify(text)}: bad host or port`);
    }
    return { kind: scheme, hostname: host, port, text: t };
  }
  throw new RemoteParseError(
    `remote ${JSON.stringify(text)}: expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT`,
  );
}

/** Parses a comma-separated list (or an array) of remotes. */
export function parseRemotes(remotes: string | string[]): Remote[] {
  const list = (Array.isArray(remotes) ? remotes : [remotes])
    .flatMap((r) => r.split(","))
    .map((r) => r.trim())
    .filter((r) => r !== "");
  if (list.length === 0) throw new RemoteParseError("no OVSDB remote given");
  return list.map(parseRemote);
}

/** Opens a stream to a remote. TLS files are read at each dial so rotation is picked up. */
export async function dial(remote: Remote, options: { tls?: TlsFiles } = {}): Promise<Deno.Conn> {
  try {
    if (remote.kind === "unix") return await Deno.connect({ transport: "unix", path: remote.path });
    if (remote.kind === "tcp") {
      const conn = await Deno.connect({ hostname: remote.hostname, port: remote.port });
      conn.setNoDelay(true);
      return conn;
    }
    const tls = options.tls ?? {};
    const read = (p: string | undefined) => p === undefined ? undefined : Deno.readTextFile(p);
    const [key, cert, ca] = await Promise.all([read(tls.key), read(tls.cert), read(tls.ca)]);
    if ((key === undefined) !== (cert === undefined)) {
      throw new Error("ssl remote: tls.key and tls.cert must be given together");
    }
    const conn = await Deno.connectTls({
      hostname: remote.hostname,
      port: remote.port,
      caCerts: ca === undefined ? undefined : [ca],
      ...(key !== undefined && cert !== undefined ? { key, cert } : {}),
    });
    await conn.handshake();
    return conn;
  } catch (cause) {
    throw new Error(`cannot connect to ${remote.text}: ${(cause as Error).message}`, { cause });
  }
}
