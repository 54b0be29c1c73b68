/**
 * OVSDB / OVN NB benchmark (`deno task bench:ovsdb`).
 *
 * 1. Fills an OVN NB database with 100,000 Logical_Switch_Ports over 2,000 namespaces in one
 *    transaction (through this client).
 * 2. Initial sync to a ready tenant set (the source's first complete view, as handed to the
 *    reconcile loop), each as a fresh process (wall time, median of runs): this client
 *    (`deno run` of this file in `--child` mode), `ovsdb-client dump` of the same columns
 *    (C, the floor) and the Python IDL (python3-openvswitch, what upstream uses, building the
 *    same namespace -> prefixes map). The in-process time of this client is printed too.
 * 3. Latency from an `ovn-nbctl lsp-add` (daemon mode, so ovn-nbctl does not re-download
 *    100k rows per call) to the tenant event of a running source (debounce 0), p50/p99 over
 *    200 changes: from the commit (timestamped by a bare observer connection that receives
 *    the same update) and from spawning ovn-nbctl.
 *
 * Environment: BENCH_PORTS (100000), BENCH_NAMESPACES (2000), BENCH_RUNS (3),
 * BENCH_PY_RUNS (3), BENCH_CHANGES (200).
 * @module
 */
import { startOvnDb } from "../tests/support/ovn_nb.ts";
import { JsonRpcConnection, ops, OvsdbClient } from "../src/ovsdb/mod.ts";
import { type OvnSourceSettings, OvnTenantSource } from "../src/ovn/mod.ts";
import { buildTenantSet, compilePolicy, type SourceUpdate } from "../src/tenants/mod.ts";

const NS_KEY = "k8s.ovn.org/namespace";
const LSP_COLS = ["name", "type", "addresses", "dynamic_addresses", "external_ids"];
const env = (k: string, d: number) => Number(Deno.env.get(k) ?? d);

const policy = compilePolicy({
  allowed: ["10.0.0.0/8", "fd00::/8"],
  deny: [],
  max_prefixes_per_tenant: 100_000,
});

function settings(remote: string): OvnSourceSettings {
  return {
    connection: remote,
    namespace_keys: [NS_KEY],
    prefix_mode: "host",
    subnets: {},
    debounce_ms: 0,
  };
}

/** Initial sync of this client to a validated tenant set; returns ms and tenant count. */
async function syncOnce(
  remote: string,
): Promise<{ ms: number; buildMs: number; tenants: number; prefixes: number }> {
  const t0 = performance.now();
  const source = new OvnTenantSource(settings(remote), { policy });
  let first: SourceUpdate | undefined;
  await source.start({ onUpdate: (u) => (first ??= u) });
  const ms = performance.now() - t0;
  await source.stop();
  const set = buildTenantSet(first!.tenants, policy);
  const buildMs = performance.now() - t0 - ms;
  let prefixes = 0;
  for (const t of set.tenants.values()) prefixes += t.prefixes.length;
  return { ms, buildMs, tenants: set.tenants.size, prefixes };
}

const PY_IDL = `
import sys, time
import ovs.db.idl, ovs.poller
remote, schema = sys.argv[1], sys.argv[2]
helper = ovs.db.idl.SchemaHelper(schema)
helper.register_columns("Logical_Switch_Port", ${JSON.stringify(LSP_COLS)})
idl = ovs.db.idl.Idl(remote, helper)
seq = idl.change_seqno
while True:
    idl.run()
    if idl.change_seqno != seq and idl.has_ever_connected():
        break
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.block()
tenants = {}
for row in idl.tables["Logical_Switch_Port"].rows.values():
    if row.type != "":
        continue
    ns = row.external_ids.get("${NS_KEY}")
    if not ns:
        continue
    s = tenants.setdefault(ns, set())
    for entry in row.addresses:
        for tok in entry.split()[1:]:
            s.add(tok + ("/128" if ":" in tok else "/32"))
print(len(tenants), sum(len(v) for v in tenants.values()))
idl.close()
`;

async function wall(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  const o = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const ms = performance.now() - t0;
  if (o.code !== 0) {
    throw new Error(`${cmd} exited ${o.code}: ${new TextDecoder().decode(o.stderr).slice(0, 500)}`);
  }
  return { ms, out: new TextDecoder().decode(o.stdout) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function fill(remote: string, ports: number, namespaces: number): Promise<number> {
  const client = new OvsdbClient({ remotes: remote, database: "OVN_Northbound", reconnect: false });
  await client.connect();
  const t0 = performance.now();
  const switches = Math.max(1, Math.ceil(ports / 5000));
  const txn: ReturnType<typeof ops.insert>[] = [];
  const members: ReturnType<typeof ops.namedUuid>[][] = Array.from({ length: switches }, () => []);
  for (let i = 0; i < ports; i++) {
    const mac = `0a:58:${
      [(i >> 16) & 255, (i >> 8) & 255, i & 255, 1]
        .map((b) => b.toString(16).padStart(2, "0")).join(":")
    }`;
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    txn.push(ops.insert("Logical_Switch_Port", {
      name: `ns${i % namespaces}_pod${i}`,
      addresses: [`${mac} ${ip}`],
      external_ids: new Map([[NS_KEY, `ns${i % namespaces}`], ["pod", "true"]]),
    }, { uuidName: `p${i}` }));
    members[i % switches].push(ops.namedUuid(`p${i}`));
  }
  members.forEach((m, s) => txn.push(ops.insert("Logical_Switch", { name: `node${s}`, ports: m })));
  await client.transact(txn);
  const ms = performance.now() - t0;
  await client.close();
  return ms;
}

async function child(remote: string): Promise<void> {
  const r = await syncOnce(remote);
  console.log(JSON.stringify(r));
}

async function main(): Promise<void> {
  const PORTS = env("BENCH_PORTS", 100_000);
  const NAMESPACES = env("BENCH_NAMESPACES", 2000);
  const RUNS = env("BENCH_RUNS", 3);
  const PY_RUNS = env("BENCH_PY_RUNS", 3);
  const CHANGES = env("BENCH_CHANGES", 200);
  await using nb = await startOvnDb({ schema: "nb" });
  const remote = nb.unixRemote;

  const fillMs = await fill(remote, PORTS, NAMESPACES);
  console.log(
    `fill: ${PORTS} ports / ${NAMESPACES} namespaces in one transact: ${fillMs.toFixed(0)} ms`,
  );

  // This client, in-process (warm-up run first, then RUNS runs).
  const inproc: number[] = [];
  const builds: number[] = [];
  let check = { tenants: 0, prefixes: 0 };
  for (let i = 0; i <= RUNS; i++) {
    const r = await syncOnce(remote);
    if (i > 0) {
      inproc.push(r.ms);
      builds.push(r.buildMs);
    }
    check = r;
  }
  console.log(
    `this client in-process, connect to source view: median ${median(inproc).toFixed(0)} ms ` +
      `(${check.tenants} tenants, ${check.prefixes} prefixes; then buildTenantSet ` +
      `${median(builds).toFixed(0)} ms, not counted)`,
  );

  // This client as a fresh process, like the anchors; rounds interleave the three clients so
  // they share whatever load the machine has.
  const self = new URL(import.meta.url).pathname;
  const pyFile = await Deno.makeTempFile({ suffix: ".py" });
  await Deno.writeTextFile(pyFile, PY_IDL);
  const ours: number[] = [];
  const dump: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < Math.max(RUNS, PY_RUNS); i++) {
    if (i < RUNS) {
      const r = await wall(Deno.execPath(), ["run", "--allow-all", self, "--child", remote]);
      const parsed = JSON.parse(r.out.trim().split("\n").pop()!);
      if (parsed.prefixes !== check.prefixes) throw new Error("child saw another tenant set");
      ours.push(r.ms);
      const d = await wall("ovsdb-client", [
        "dump",
        "-f",
        "json",
        remote,
        "OVN_Northbound",
        "Logical_Switch_Port",
        ...LSP_COLS,
      ]);
      dump.push(d.ms);
    }
    if (i < PY_RUNS) {
      const r = await wall("/usr/bin/python3", [pyFile, remote, "/usr/share/ovn/ovn-nb.ovsschema"]);
      const [t, p] = r.out.trim().split(/\s+/).map(Number);
      if (t !== check.tenants || p !== check.prefixes) {
        throw new Error(`python IDL saw ${t} tenants / ${p} prefixes`);
      }
      py.push(r.ms);
    }
  }
  await Deno.remove(pyFile);
  const fmt = (xs: number[]) =>
    `median ${median(xs).toFixed(0)} ms [${xs.map((x) => x.toFixed(0)).join(", ")}]`;
  console.log(`this client (fresh deno process): ${fmt(ours)}`);
  console.log(`ovsdb-client dump -f json (C): ${fmt(dump)}`);
  console.log(`python IDL (python3-openvswitch): ${fmt(py)}`);

  // Change-to-event latency.
  const ctl = await Deno.makeTempDir({ prefix: "vpnv4-nbctl-" });
  await wall("ovn-nbctl", [
    `--db=${remote}`,
    "--detach",
    "--no-chdir",
    `--pidfile=${ctl}/nbctl.pid`,
    `--unixctl=${ctl}/nbctl.ctl`,
    `--log-file=${ctl}/nbctl.log`,
  ]);
  const source = new OvnTenantSource(settings(remote), { policy });
  let waiting: { tenant: string; resolve: (t: number) => void } | undefined;
  await source.start({
    onUpdate: (u) => {
      if (waiting && u.changed?.has(waiting.tenant)) waiting.resolve(performance.now());
    },
  });
  // A bare observer connection (inserts only, no initial rows) timestamps the server's
  // fan-out of each commit, so the source's own delay can be told from ovn-nbctl's.
  let observed: ((t: number) => void) | undefined;
  const path = remote.slice("unix:".length);
  const observer = new JsonRpcConnection(await Deno.connect({ transport: "unix", path }), {
    probeIntervalMs: 0,
    onNotification: () => observed?.(performance.now()),
  });
  await observer.request("monitor_cond", ["OVN_Northbound", "obs", {
    Logical_Switch_Port: [{
      columns: ["name"],
      select: { initial: false, insert: true, delete: false, modify: false },
    }],
  }]);
  const lat: number[] = [];
  const fromCommit: number[] = [];
  const nbctlOnly: number[] = [];
  try {
    for (let i = 0; i < CHANGES; i++) {
      const tenant = `lat${i}`;
      const name = `lat-port-${i}`;
      const ev = new Promise<number>((resolve) => (waiting = { tenant, resolve }));
      const seen = new Promise<number>((resolve) => (observed = resolve));
      const mac = `0a:59:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${
        (i & 255).toString(16).padStart(2, "0")
      }`;
      const t0 = performance.now();
      const r = await wall("ovn-nbctl", [
        "--",
        "lsp-add",
        "node0",
        name,
        "--",
        "lsp-set-addresses",
        name,
        `${mac} 10.250.${i >> 8}.${i & 255}`,
        "--",
        "set",
        "logical_switch_port",
        name,
        `external_ids:"${NS_KEY}"=${tenant}`,
      ], { OVN_NB_DAEMON: `${ctl}/nbctl.ctl` });
      const [t1, tc] = await Promise.all([ev, seen]);
      lat.push(t1 - t0);
      fromCommit.push(t1 - tc);
      nbctlOnly.push(r.ms);
    }
  } finally {
    observer.close();
    await source.stop();
    const pid = Number((await Deno.readTextFile(`${ctl}/nbctl.pid`)).trim());
    Deno.kill(pid, "SIGTERM");
    await Deno.remove(ctl, { recursive: true }).catch(() => {});
  }
  console.log(
    `change-to-event, ${CHANGES} ovn-nbctl port adds: commit fan-out -> tenant event ` +
      `p50 ${pct(fromCommit, 50).toFixed(1)} ms p99 ${pct(fromCommit, 99).toFixed(1)} ms; ` +
      `nbctl spawn -> tenant event p50 ${pct(lat, 50).toFixed(1)} ms p99 ${
        pct(lat, 99).toFixed(1)
      } ms (the ovn-nbctl call alone: p50 ${pct(nbctlOnly, 50).toFixed(1)} ms)`,
  );
  const oursMs = median(ours);
  console.log(
    `ratio_vs_ovsdb_client=${(median(dump) / oursMs).toFixed(2)} ratio_vs_python_idl=${
      (median(py) / oursMs).toFixed(2)
    }`,
  );
}

if (Deno.args[0] === "--child") await child(Deno.args[1]);
else await main();
