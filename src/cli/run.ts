/** `vpnv4-agent run`: the long-running agent. */
import { Agent } from "../agent/agent.ts";
import { getLogger } from "../log/mod.ts";
import { ExitCode } from "./exit.ts";

/** Flags of `run`. */
export interface RunFlags {
  config: string;
  withdrawOnExit?: boolean;
  netns?: string;
}

/**
 * Runs until SIGTERM/SIGINT. SIGHUP reloads the configuration. Routes and FRR configuration are
 * left in place on exit unless `--withdraw-on-exit`.
 */
export async function runCommand(flags: RunFlags): Promise<number> {
  const agent = await Agent.start({ configPath: flags.config, netns: flags.netns });
  const log = getLogger("agent");
  const { promise: stopped, resolve } = Promise.withResolvers<string>();
  const onStop = (signal: string) => () => resolve(signal);
  const onHup = () => void agent.reload();
  const listeners: Array<[Deno.Signal, () => void]> = [
    ["SIGTERM", onStop("SIGTERM")],
    ["SIGINT", onStop("SIGINT")],
    ["SIGHUP", onHup],
  ];
  for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);
  const signal = await stopped;
  log.info("{signal}: stopping ({mode})", {
    signal,
    mode: flags.withdrawOnExit ? "withdrawing everything" : "leaving routes in place",
  });
  await agent.stop({ withdraw: flags.withdrawOnExit });
  for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
  return ExitCode.ok;
}
