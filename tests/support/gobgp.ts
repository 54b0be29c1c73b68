/**
 * Real GoBGP (Debian `gobgpd`) for tests, e.g. as the FortiGate simulator receiving VPNv4.
 *
 * ```ts
 * await using bgp = await startGobgp({
 *   netns: "fgt",
 *   config: {
 *     global: { config: { as: 65001, "router-id": "172.30.0.2", port: 179 } },
 *     neighbors: [{
 *       config: { "neighbor-address": "172.30.0.1", "peer-as": 65000 },
 *       "afi-safis": [{ config: { "afi-safi-name": "l3vpn-ipv4-unicast" } }],
 *     }],
 *   },
 * });
 * const paths = await bgp.rib("vpnv4");
 * ```
 * @module
 */
import { Daemon, freePort, inNetns, run, waitFor } from "./proc.ts";
import { type TomlTable, toToml } from "./toml.ts";

/** Options of {@link startGobgp}. */
export interface GobgpOptions {
  /** gobgpd configuration: TOML text, or an object serialized to TOML (GoBGP's key names). */
  config: string | TomlTable;
  /** Network namespace (must exist) to run gobgpd in; the CLI is then run there too. */
  netns?: string;
  /** gRPC API port on 127.0.0.1 (default: a free port). */
  apiPort?: number;
  /** How long to wait for the API to answer (default 20000 ms). */
  startTimeoutMs?: number;
}

/** A running gobgpd. `stop()` (or `await using`) kills it and removes its temp dir. */
export interface GobgpInstance extends AsyncDisposable {
  /** gRPC API port on 127.0.0.1 (inside `netns` when given). */
  readonly apiPort: number;
  /** Network namespace of gobgpd, if any. */
  readonly netns?: string;
  /** Path of the TOML config file. */
  readonly configPath: string;
  /**
   * Runs `gobgp -u 127.0.0.1 -p PORT ARGS…` and returns stdout; throws on a non-zero exit.
   * Add `-j` yourself for JSON.
   */
  cli(args: string[]): Promise<string>;
  /**
   * Parsed `gobgp global rib -a FAMILY -j` (or `gobgp vrf VRF rib -a FAMILY -j` when `vrf` is
   * given): an object keyed by prefix (GoBGP 3.x shape), each an array of paths.
   * Families: `ipv4`, `ipv6`, `vpnv4`, `vpnv6`, … (for a VRF RIB use `ipv4`/`ipv6`).
   */
  rib(family: string, vrf?: string): Promise<Record<string, GobgpPath[]>>;
  /** Parsed `gobgp neighbor -j`. */
  neighbors(): Promise<unknown[]>;
  /** Kills gobgpd (SIGTERM, then SIGKILL) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** One path of {@link GobgpInstance.rib} (only the commonly used fields are typed). */
export interface GobgpPath {
  /** e.g. `{ prefix: "10.1.0.0/24", labels: [16], rd: { type: 0, admin: 65000, assigned: 1 } }`. */
  nlri: {
    prefix?: string;
    rd?: { type: number; admin: number | string; assigned: number };
    labels?: number[];
    [k: string]: unknown;
  };
  /** Path attributes; type 16 = extended communities (`value: [{ value: "65000:1" }]`). */
  attrs: { type: number; [k: string]: unknown }[];
  age?: number;
  best?: boolean;
  "source-id"?: string;
  "neighbor-ip"?: string;
  [k: string]: unknown;
}

/** Starts gobgpd with `config` and waits until `gobgp global` answers. */
export async function startGobgp(options: GobgpOptions): Promise<GobgpInstance> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-gobgp-" });
  const configPath = `${dir}/gobgpd.toml`;
  const apiPort = options.apiPort ?? freePort();
  const netns = options.netns;
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

  const cli = async (args: string[]): Promise<string> => {
    const [cmd, full] = inNetns(netns, "gobgp", [
      "-u",
      "127.0.0.1",
      "-p",
      String(apiPort),
      ...args,
    ]);
    const r = await run(cmd, full);
    if (r.code !== 0) {
      throw new Error(`gobgp ${args.join(" ")} exited ${r.code}: ${(r.stderr + r.stdout).trim()}`);
    }
    return r.stdout;
  };

  try {
    const text = typeof options.config === "string" ? options.config : toToml(options.config);
    await Deno.writeTextFile(configPath, text);
    const [cmd, full] = inNetns(netns, "gobgpd", [
      ...["-f", configPath, "-t", "toml", "-p", "--pprof-disable"],
      `--api-hosts=127.0.0.1:${apiPort}`,
    ]);
    const d = new Daemon("gobgpd", cmd, full);
    daemon = d;
    await waitFor(async () => {
      if (d.exited) throw new Error(`gobgpd exited during start:\n${d.output}`);
      const [c, a] = inNetns(netns, "gobgp", ["-u", "127.0.0.1", "-p", String(apiPort), "global"]);
      return (await run(c, a)).code === 0;
    }, {
      timeoutMs: options.startTimeoutMs ?? 20_000,
      describe: () => `gobgpd API on 127.0.0.1:${apiPort} did not answer:\n${d.output}`,
    });
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    apiPort,
    netns,
    configPath,
    cli,
    async rib(family: string, vrf?: string) {
      const args = vrf
        ? ["vrf", vrf, "rib", "-a", family, "-j"]
        : ["global", "rib", "-a", family, "-j"];
      const out = (await cli(args)).trim();
      return out === "" || out === "null" ? {} : JSON.parse(out);
    },
    async neighbors() {
      const out = (await cli(["neighbor", "-j"])).trim();
      return out === "" || out === "null" ? [] : JSON.parse(out);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
