/**
 * Least privilege (#9 item 5), on the real kernel: the agent as a non-root user (`nobody`,
 * supplementary group frrvty only, as install.sh sets up the service user) with CAP_NET_ADMIN as its
 * only capability (setpriv: inheritable + ambient + bounding set), under exactly the product
 * permission flags, inside a fresh netns (`kernel.vrf_mode: table`) with FRR and an OVN NB
 * ovsdb-server reached over `ssl:` with client certificates.
 *
 * Checked: it programs routes and FRR and becomes ready; the HTTP server binds 127.0.0.1:9183
 * when `http` is not configured and it listens on no other TCP or unix socket; the BGP password
 * and the TLS private key never appear in its logs (JSON and text), /status, /metrics or the
 * `status` command; the state file is 0600 in a folder that is not group/world-writable. Without
 * CAP_NET_ADMIN the start fails (exit 1) with a message naming the capability and nothing is
 * programmed.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { isRoot, run, withNetns } from "../support/netns.ts";
import { startFrr } from "../support/frr.ts";
import { shortId, waitFor } from "../support/proc.ts";
import {
  agentConfigText,
  agentRouteLines,
  httpGet,
  reap,
  stopAgent,
  waitReady,
} from "../support/agent_proc.ts";
import {
  type AgentLayout,
  layoutFlags,
  makeLayout,
  PERMISSION_DENIED,
  removeLayout,
  spawnShippedAgent,
  writeConfigFile,
} from "../ship/_agent.ts";
import {
  groupId,
  makeCerts,
  SERVICE_ID,
  serviceDenoDir,
  setprivArgs,
  startSslOvsdb,
  type TestCerts,
} from "./_support.ts";

const NS_KEY = "k8s.ovn.org/namespace";
const PASSWORD = "Bgp-Md5-s3cret-7f3a9c";
const DEFAULT_URL = "http://127.0.0.1:9183";

const hasTools = await Promise.all(
  ["setpriv", "openssl", "curl", "ss"].map((c) =>
    run(["sh", "-c", `command -v ${c}`], { allowFail: true }).then((r) => r.code === 0)
  ),
).then((all) => all.every(Boolean));

interface Fixture {
  layout: AgentLayout;
  flags: string[];
  env: Record<string, string>;
  frrvty: number;
  keyLines: string[];
  frrVtysh: (cmd: string) => Promise<string>;
}

function configText(
  f: { layout: AgentLayout; certs: TestCerts; sslRemote: string; frrName: string },
  log: { format: "json" | "text"; level: string },
): string {
  return agentConfigText({
    pathspace: f.frrName,
    sources: [
      {
        type: "ovn",
        connection: f.sslRemote,
        tls: { key: f.certs.clientKey, cert: f.certs.clientCert, ca: f.certs.ca },
        prefix_mode: "host",
        debounce_ms: 50,
      },
      { type: "file", path: f.layout.tenants },
    ],
    stateFile: `${f.layout.stateDir}/node/state.json`,
    sections: {
      bgp: { peers: [{ address: "192.0.2.254", remote_asn: 65001, password: PASSWORD }] },
      tenants: { policy: { allowed: ["10.0.0.0/8"] } },
      allocation: { table_range: { min: 3000, max: 3999 } },
      kernel: { mpls: "auto" },
      log,
    },
  });
}

/** Asserts that no secret (password, any line of the private key's PEM body) is in `text`. */
function assertNoSecret(where: string, text: string, keyLines: string[]): void {
  assert(text.length > 0, `${where} is empty`);
  assert(!text.includes(PASSWORD), `${where} shows the BGP password`);
  for (const line of keyLines) assert(!text.includes(line), `${where} shows the TLS private key`);
  assert(!text.includes("PRIVATE KEY"), `${where} shows a private key`);
}

/** The TCP and unix sockets `pid` listens on, as `ss` reports them inside `ns`. */
async function listeners(ns: string, pid: number): Promise<{ tcp: string[]; unix: string[] }> {
  const list = async (flag: string) =>
    (await run(["ip", "netns", "exec", ns, "ss", "-H", "-l", "-n", "-p", flag])).stdout
      .split("\n").filter((l) => l.includes(`pid=${pid},`))
      .map((l) => l.trim().split(/\s+/)[flag === "-x" ? 4 : 3]);
  return { tcp: [...await list("-t"), ...await list("-u")], unix: await list("-x") };
}

Deno.test({
  name: "privilege: non-root with only CAP_NET_ADMIN; loopback HTTP; no secrets; private files",
  ignore: !isRoot || !hasTools,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const owner = { uid: SERVICE_ID.uid, gid: SERVICE_ID.gid };
    const layout = await makeLayout("vpnv4-priv-", { owner });
    try {
      await withNetns(async (ns) => {
        const frr = await startFrr({ name: `v${shortId(6)}`, netns: ns, bgpPort: 0 });
        const tlsDir = `${layout.configDir}/tls`;
        await Deno.mkdir(tlsDir, { mode: 0o750 });
        await Deno.chown(tlsDir, 0, owner.gid);
        const certs = await makeCerts(tlsDir);
        for (const file of [certs.clientKey, certs.clientCert, certs.ca]) {
          await Deno.chmod(file, 0o640);
          await Deno.chown(file, 0, owner.gid);
        }
        const ovsdb = await startSslOvsdb(ns, layout.root, certs);
        try {
          await ovsdb.nbctl([
            "ls-add",
            "sw0",
            "--",
            "lsp-add",
            "sw0",
            "pod1",
            "--",
            "lsp-set-addresses",
            "pod1",
            "0a:00:00:00:00:01 10.244.9.5",
            "--",
            "set",
            "logical_switch_port",
            "pod1",
            `external_ids:"${NS_KEY}"=tls-demo`,
          ]);
          await writeConfigFile(
            layout.tenants,
            "tenants:\n  - name: file-demo\n    prefixes: [10.245.9.0/24]\n",
            { gid: owner.gid },
          );
          const keyText = await Deno.readTextFile(certs.clientKey);
          const f: Fixture = {
            layout,
            flags: layoutFlags(layout, { tlsDirs: [tlsDir] }),
            env: { DENO_DIR: await serviceDenoDir(layout.root), HOME: layout.runtimeDir },
            frrvty: await groupId("frrvty"),
            keyLines: keyText.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-")),
            frrVtysh: (cmd) => frr.vtysh(cmd),
          };
          assert(f.keyLines.length > 0);
          const cfg = { layout, certs, sslRemote: ovsdb.sslRemote, frrName: frr.name };
          const http = { url: DEFAULT_URL, netns: ns };
          const spawn = (args: string[], prefix: string[]) =>
            spawnShippedAgent(args, {
              netns: ns,
              flags: f.flags,
              prefix,
              env: f.env,
              runtimeDir: layout.runtimeDir,
            });
          /** Writes the configuration with `log` and starts the agent with only `caps`. */
          const start = async (caps: string[], log: { format: "json" | "text"; level: string }) => {
            await writeConfigFile(layout.config, configText(cfg, log), { gid: owner.gid });
            return spawn(["run", "--config", layout.config], setprivArgs([f.frrvty], caps));
          };
          const routesV4 = async () => (await agentRouteLines(ns, { family: "-4" })).join("\n");

          await t.step(
            "without CAP_NET_ADMIN: the start fails naming the capability, nothing programmed",
            async () => {
              const agent = await start([], { format: "text", level: "info" });
              try {
                const code = await agent.finished;
                assertEquals(code, 1, agent.log().slice(-3000));
                assertMatch(agent.log(), /needs CAP_NET_ADMIN/);
                assertEquals(await routesV4(), "");
                const running = await f.frrVtysh("show running-config");
                assert(!/^router bgp 65000 vrf /m.test(running), running);
              } finally {
                await reap(agent);
              }
            },
          );

          await t.step("with CAP_NET_ADMIN only, JSON logs at trace", async () => {
            const agent = await start(["net_admin"], { format: "json", level: "trace" });
            try {
              await waitReady(http, agent, { timeoutMs: 90_000 });
              await waitFor(async () => {
                const r = await routesV4();
                return r.includes("10.244.9.5 ") && r.includes("10.245.9.0/24");
              }, {
                timeoutMs: 30_000,
                describe: () => `routes missing; agent output:\n${agent.log().slice(-3000)}`,
              });
              const state = JSON.parse(
                await Deno.readTextFile(`${layout.stateDir}/node/state.json`),
              );
              const vrfs = state.allocations.map((a: { vrf: string }) => a.vrf);
              assertEquals(vrfs.length, 2);
              let running = "";
              await waitFor(async () => {
                running = await f.frrVtysh("show running-config");
                return vrfs.every((v: string) => running.includes(`router bgp 65000 vrf ${v}\n`));
              }, { timeoutMs: 30_000, describe: () => `FRR blocks missing:\n${running}` });
              // FRR got the password (that is where it belongs)…
              assertStringIncludes(running, `neighbor 192.0.2.254 password ${PASSWORD}`);

              // The process: the service uid, CAP_NET_ADMIN (bit 12) and nothing else.
              const proc = await Deno.readTextFile(`/proc/${agent.child.pid}/status`);
              assertMatch(proc, new RegExp(`^Uid:\\s+${SERVICE_ID.uid}\\s`, "m"));
              for (const set of ["CapEff", "CapPrm", "CapBnd"]) {
                assertMatch(proc, new RegExp(`^${set}:\\s+0+1000$`, "m"));
              }

              // HTTP on loopback only (no `http` section), no unix listener.
              const sockets = await listeners(ns, agent.child.pid);
              assertEquals(sockets, { tcp: ["127.0.0.1:9183"], unix: [] });

              // State file 0600, owned by the service user; its folder (created by the agent)
              // is not writable by group or others, nor is the state root.
              const st = await Deno.stat(`${layout.stateDir}/node/state.json`);
              assertEquals([st.mode! & 0o777, st.uid], [0o600, SERVICE_ID.uid]);
              for (const dir of [`${layout.stateDir}/node`, layout.stateDir]) {
                const d = await Deno.stat(dir);
                assertEquals(d.mode! & 0o022, 0, `${dir} mode ${(d.mode! & 0o777).toString(8)}`);
              }

              // No secret in /status, /metrics or the status command.
              const status = await httpGet(http, "/status");
              assertEquals(status.status, 200);
              assertStringIncludes(status.body, "192.0.2.254");
              assertNoSecret("/status", status.body, f.keyLines);
              const metrics = await httpGet(http, "/metrics");
              assertNoSecret("/metrics", metrics.body, f.keyLines);
              for (const extra of [[], ["--json"]]) {
                const cli = spawn(["status", ...extra], setprivArgs([], []));
                assertEquals(await cli.finished, 0, cli.log());
                assertNoSecret(`status ${extra.join(" ")}`, cli.log(), f.keyLines);
              }
              const stopped = await stopAgent(agent);
              assertEquals(stopped.code, 0, stopped.stderr.slice(-2000));
              assert(!PERMISSION_DENIED.test(agent.log()), agent.log().slice(-3000));
              assertMatch(agent.log(), /"level":"TRACE"|"level":"DEBUG"/);
              assertNoSecret("JSON log", agent.log(), f.keyLines);
            } finally {
              await reap(agent);
            }
          });

          await t.step("with CAP_NET_ADMIN only, text logs, config reload", async () => {
            const agent = await start(["net_admin"], { format: "text", level: "trace" });
            try {
              await waitReady(http, agent, { timeoutMs: 90_000 });
              agent.child.kill("SIGHUP");
              await waitFor(() => agent.log().includes("configuration reloaded"), {
                timeoutMs: 30_000,
                describe: () => `no reload; agent output:\n${agent.log().slice(-3000)}`,
              });
              const stopped = await stopAgent(agent);
              assertEquals(stopped.code, 0, stopped.stderr.slice(-2000));
              assertNoSecret("text log", agent.log(), f.keyLines);
            } finally {
              await reap(agent);
            }
          });
        } finally {
          await ovsdb.stop();
          await frr.stop();
        }
      });
    } finally {
      await removeLayout(layout);
    }
  },
});
