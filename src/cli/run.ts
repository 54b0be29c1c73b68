/** `vpnv4-agent run`: the long-running agent with its HTTP server. */
import { Agent } from "../agent/agent.ts";
import { getLogger } from "../log/mod.ts";
import { AgentMetrics } from "../metrics/mod.ts";
import { createApp, serveHttp } from "../http/mod.ts";
import { VERSION } from "./version.ts";
import { createImportPlane, type ImportPlane } from "../import/mod.ts";
import { ExitCode } from "./exit.ts";
import { type RunConfigFlags, runConfigSource } from "./convert.ts";

/** Flags of `run`. */
export interface RunFlags extends RunConfigFlags {
  withdrawOnExit?: boolean;
  netns?: string;
}

/**
 * Runs until SIGTERM/SIGINT. SIGHUP reloads the configuration. Routes and FRR configuration are
 * left in place on exit unless `--withdraw-on-exit`.
 */
export async function runCommand(flags: RunFlags): Promise<number> {
  const ref: { agent?: Agent } = {};
  // Signal handlers first: a SIGTERM during a long startup must still end in a clean stop that
  // leaves routes in place (not the default action, exit 143), and a SIGHUP is not lost.
  const { promise: stopped, resolve } = Promise.withResolvers<string>();
  let hupDuringStart = false;
  const onStop = (signal: string) => () => resolve(signal);
  const onHup = () => ref.agent ? void ref.agent.reload() : (hupDuringStart = true);
  const listeners: Array<[Deno.Signal, () => void]> = [
    ["SIGTERM", onStop("SIGTERM")],
    ["SIGINT", onStop("SIGINT")],
    ["SIGHUP", onHup],
  ];
  for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);
  const removeListeners = () => {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
  };
  try {
    return await runUntilStopped(flags, { ref, stopped, hupDuringStart: () => hupDuringStart });
  } finally {
    removeListeners();
  }
}

interface RunState {
  ref: { agent?: Agent };
  stopped: Promise<string>;
  hupDuringStart: () => boolean;
}

async function runUntilStopped(flags: RunFlags, state: RunState): Promise<number> {
  const log = getLogger("agent");
  const metrics = new AgentMetrics({ version: VERSION });
  let importPlane: ImportPlane | undefined;
  const { ref, stopped } = state;
  let peersShown = false;
  const agent = await Agent.start({
    ...runConfigSource(flags),
    netns: flags.netns,
    extraPlanes: async (config) => {
      importPlane = await createImportPlane(config, {
        netns: flags.netns,
        onChange: () => void ref.agent?.reconciler.trigger({ full: false, planes: ["import"] }),
        onOverflow: () => metrics.recordMonitorOverflow(),
      });
      return importPlane ? [importPlane] : [];
    },
    onPlaneRun: (plane, run) => {
      metrics.recordReconcile(plane, run);
      if (plane === "kernel") metrics.recordKernelCounts(run.outcome?.counts ?? {});
      const failed = (run.outcome?.tenantErrors.size ?? 0) + (run.ok ? 0 : 1);
      if (!run.ok) metrics.recordApplyError(plane, Math.max(1, failed));
      // Peers appear in FRR with the first apply: show them without waiting for the timer.
      if (plane === "frr" && run.ok && ref.agent && !peersShown) {
        peersShown = true;
        void ref.agent.refreshPeers();
      }
    },
    onAllocationError: () => metrics.recordAllocationError(),
    onPeerTransition: (t) => metrics.recordPeerTransition(t.peer, t.to),
    onSourceEvent: (event) => {
      if (event.kind === "update") metrics.recordSourceUpdate(event.source);
      else if (event.kind === "reconnect") metrics.recordOvsdbReconnect();
      else metrics.recordRejected(event.rejection);
    },
  });
  ref.agent = agent;
  if (state.hupDuringStart()) void agent.reload();
  const imported = (tenant: string) => importPlane?.importedRoutes(tenant) ?? 0;
  metrics.setConfiguredPeers(agent.config.bgp.peers.map((p) => p.address));
  metrics.observeReconcileBacklog(() => agent.reconciler.backlog);
  const abort = new AbortController();
  let server;
  try {
    server = await serveHttp(createApp({ status: () => agent.status(imported), metrics }), {
      listen: agent.config.http.listen,
      signal: abort.signal,
    });
  } catch (e) {
    await agent.stop();
    throw e;
  }
  log.info("http: serving /healthz /readyz /status /metrics on {url}", { url: server.url });
  // The peers (/status, transition logs) are read by the agent's peer watcher (one read at a
  // time, every reconcile.frr_check_s: src/agent/peer_watch.ts).

  const signal = await stopped;
  log.info("{signal}: stopping ({mode})", {
    signal,
    mode: flags.withdrawOnExit ? "withdrawing everything" : "leaving routes in place",
  });
  await agent.stop({ withdraw: flags.withdrawOnExit });
  abort.abort();
  await server.finished;
  return ExitCode.ok;
}
