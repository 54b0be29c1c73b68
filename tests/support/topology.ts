/**
 * Two fresh network namespaces joined by a veth pair with addresses, for tests that need
 * real peers (FRR ⇄ GoBGP). Traffic never leaves these namespaces.
 *
 * ```ts
 * await using topo = await createTopology();
 * // topo.a.netns / topo.a.address ("172.30.0.1"), topo.b.netns / topo.b.address ("172.30.0.2")
 * ```
 * @module
 */
import { run, runOk, shortId } from "./proc.ts";

/** One side of the link. */
export interface TopologyNode {
  /** Network namespace name. */
  netns: string;
  /** veth interface name inside `netns`. */
  ifname: string;
  /** IPv4 address on `ifname` (without prefix length). */
  address: string;
}

/** Options of {@link createTopology}. */
export interface TopologyOptions {
  /** IPv4 /30 (or shorter) network; `.1` goes to a, `.2` to b. Default `172.30.0.0/30`. */
  subnet?: string;
  /** Namespace name prefix (default `vt`); names are `PREFIX-ID-a` / `PREFIX-ID-b`. */
  prefix?: string;
}

/** Two namespaces joined by a veth pair. `destroy()` (or `await using`) deletes both. */
export interface Topology extends AsyncDisposable {
  readonly a: TopologyNode;
  readonly b: TopologyNode;
  /** Prefix length of the link addresses. */
  readonly prefixLength: number;
  /** Runs `ip netns exec NETNS CMD ARGS…` for side `a` or `b` and returns stdout (throws on failure). */
  exec(side: "a" | "b", cmd: string[]): Promise<string>;
  /** Deletes both namespaces (and so the veth pair). Idempotent. */
  destroy(): Promise<void>;
}

function addOffset(ip: string, n: number): string {
  const v = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0) + n;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join(".");
}

/** Creates namespaces a and b, a veth pair between them, addresses, and brings links (and lo) up. */
export async function createTopology(options: TopologyOptions = {}): Promise<Topology> {
  const [base, lenText] = (options.subnet ?? "172.30.0.0/30").split("/");
  const prefixLength = Number(lenText);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(base) || !(prefixLength >= 8 && prefixLength <= 30)) {
    throw new Error(`topology: subnet must be an IPv4 network of length 8..30: ${options.subnet}`);
  }
  const id = `${options.prefix ?? "vt"}-${shortId()}`;
  const a: TopologyNode = { netns: `${id}-a`, ifname: "veth-a", address: addOffset(base, 1) };
  const b: TopologyNode = { netns: `${id}-b`, ifname: "veth-b", address: addOffset(base, 2) };
  const created: string[] = [];
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of created) await run("ip", ["netns", "del", ns]);
  };
  try {
    for (const n of [a, b]) {
      await runOk("ip", ["netns", "add", n.netns]);
      created.push(n.netns);
      await runOk("ip", ["-n", n.netns, "link", "set", "lo", "up"]);
    }
    await runOk("ip", [
      ...["-n", a.netns, "link", "add", a.ifname, "type", "veth"],
      ...["peer", "name", b.ifname, "netns", b.netns],
    ]);
    for (const n of [a, b]) {
      await runOk("ip", [
        "-n",
        n.netns,
        "addr",
        "add",
        `${n.address}/${prefixLength}`,
        "dev",
        n.ifname,
      ]);
      await runOk("ip", ["-n", n.netns, "link", "set", n.ifname, "up"]);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    a,
    b,
    prefixLength,
    exec: (side, cmd) => runOk("ip", ["netns", "exec", (side === "a" ? a : b).netns, ...cmd]),
    destroy,
    [Symbol.asyncDispose]: destroy,
  };
}
