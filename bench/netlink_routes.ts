/**
 * Route programming benchmark: in a fresh network namespace, install then delete
 * N blackhole /24 routes (default 100,000) in one table three ways — this agent's
 * netlink plane (KernelPlane.syncRoutes: dump, then batched sendto), `ip -batch`,
 * and pyroute2 one request at a time — and print routes/s for each. The last line is
 * `ratio_vs_ip_batch=X.XX`: ours over ip -batch, install+delete throughput.
 *
 * Run as root: `deno task bench:netlink [--routes N] [--pyroute2-routes N]`.
 */
import { parseArgs } from "node:util";
import { KernelPlane } from "../src/kernel/mod.ts";
import type { IpPrefix } from "../src/net/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    routes: { type: "string", default: "100000" },
    "pyroute2-routes": { type: "string" },
    table: { type: "string", default: "1000" },
  },
});
const N = Number(values.routes);
const NPY = Number(values["pyroute2-routes"] ?? values.routes);
const TABLE = Number(values.table);
const PROTO = 245;
const PYTHON = "/usr/bin/python3"; // Debian's python3-pyroute2 lives there

function prefixOf(i: number): IpPrefix {
  const v = ((10 << 24) + i * 256) >>> 0;
  return {
    family: 4,
    bytes: new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, 0]),
    length: 24,
  };
}
function cidrOf(i: number): string {
  const v = ((10 << 24) + i * 256) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.0/24`;
}

async function sh(cmd: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (out.code !== 0) {
    throw new Error(`${cmd.join(" ")}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function countRoutes(ns: string): Promise<number> {
  const out = await sh(["ip", "-n", ns, "route", "show", "table", String(TABLE)]);
  return out === "" ? 0 : out.trimEnd().split("\n").length;
}

async function expectCount(ns: string, want: number, what: string): Promise<void> {
  const got = await countRoutes(ns);
  if (got !== want) {
    throw new Error(`${what}: expected ${want} routes in table ${TABLE}, found ${got}`);
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString("en-US")} routes/s (${
    (ms / 1000).toFixed(2)
  } s)`;
}

const PY = `
import sys, time
from pyroute2 import IPRoute
op, n, table, proto = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ipr = IPRoute()
t = time.monotonic()
for i in range(n):
    v = (10 << 24) + i * 256
    dst = "%d.%d.%d.0/24" % (v >> 24, (v >> 16) & 255, (v >> 8) & 255)
    ipr.route(op, dst=dst, table=table, type="blackhole", proto=proto)
print(time.monotonic() - t)
`;

const ns = `vpnv4-bench-${crypto.randomUUID().slice(0, 8)}`;
await sh(["ip", "netns", "add", ns]);
try {
  console.log(`routes=${N} table=${TABLE} netns=${ns} (pyroute2: ${NPY} routes)`);

  // 1. This agent's netlink plane.
  const prefixes = Array.from({ length: N }, (_, i) => prefixOf(i));
  const plane = KernelPlane.open({ netns: ns });
  let oursAdd: number, oursDel: number;
  let rssGrowth: number;
  try {
    const rss0 = Deno.memoryUsage().rss;
    let t = performance.now();
    const add = await plane.syncRoutes(TABLE, prefixes);
    oursAdd = performance.now() - t;
    if (add.added !== N || add.failures.length) throw new Error(`ours: ${add.failures[0]?.error}`);
    await expectCount(ns, N, "ours install");
    t = performance.now();
    const del = await plane.syncRoutes(TABLE, []);
    oursDel = performance.now() - t;
    if (del.removed !== N) throw new Error(`ours delete: removed ${del.removed}`);
    await expectCount(ns, 0, "ours delete");
    const rss1 = Deno.memoryUsage().rss;
    rssGrowth = rss1 - rss0;
    // Second, untimed round: memory must plateau (nothing per route is retained).
    await plane.syncRoutes(TABLE, prefixes);
    await plane.syncRoutes(TABLE, []);
    const rss2 = Deno.memoryUsage().rss;
    console.log(
      `ours (${plane.transport.socket.backend}, batched sendto): install ${rate(N, oursAdd)}, ` +
        `delete ${rate(N, oursDel)}; rss +${mib(rssGrowth)} MiB in round 1, ` +
        `+${mib(rss2 - rss1)} MiB in an identical round 2`,
    );
  } finally {
    await plane.close();
  }

  // 2. ip -batch (one request per route, ACK each, from one process).
  const file = await Deno.makeTempFile({ suffix: ".batch" });
  let ipAdd: number, ipDel: number;
  try {
    const lines = (op: string) =>
      Array.from(
        { length: N },
        (_, i) => `route ${op} blackhole ${cidrOf(i)} table ${TABLE} proto ${PROTO}`,
      )
        .join("\n") + "\n";
    await Deno.writeTextFile(file, lines("add"));
    let t = performance.now();
    await sh(["ip", "-n", ns, "-batch", file]);
    ipAdd = performance.now() - t;
    await expectCount(ns, N, "ip -batch install");
    await Deno.writeTextFile(file, lines("del"));
    t = performance.now();
    await sh(["ip", "-n", ns, "-batch", file]);
    ipDel = performance.now() - t;
    await expectCount(ns, 0, "ip -batch delete");
  } finally {
    await Deno.remove(file);
  }
  console.log(`ip -batch: install ${rate(N, ipAdd)}, delete ${rate(N, ipDel)}`);

  // 3. pyroute2, one request at a time (as the upstream agent does).
  let pyLine: string;
  try {
    const py = async (op: "add" | "del") =>
      Number(
        await sh([
          "ip",
          "netns",
          "exec",
          ns,
          PYTHON,
          "-c",
          PY,
          op,
          String(NPY),
          String(TABLE),
          String(PROTO),
        ]),
      ) * 1000;
    const pyAdd = await py("add");
    await expectCount(ns, NPY, "pyroute2 install");
    const pyDel = await py("del");
    await expectCount(ns, 0, "pyroute2 delete");
    pyLine = `pyroute2 (one request at a time): install ${rate(NPY, pyAdd)}, delete ${
      rate(NPY, pyDel)
    }`;
  } catch (e) {
    pyLine = `pyroute2: not run (${(e as Error).message.split("\n")[0]})`;
  }
  console.log(pyLine);

  console.log(
    `install ratio ours/ip-batch=${(ipAdd / oursAdd).toFixed(2)}, delete ratio=${
      (ipDel / oursDel).toFixed(2)
    }`,
  );
  console.log(`ratio_vs_ip_batch=${((ipAdd + ipDel) / (oursAdd + oursDel)).toFixed(2)}`);
} finally {
  await sh(["ip", "netns", "del", ns]).catch(() => {});
}
