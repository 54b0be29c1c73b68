/**
 * The command-line program: `render`, `validate`, `version` (and later `run`, `status`).
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { setupLogging } from "../log/mod.ts";
import { ExitCode, reportError } from "./exit.ts";
import { versionText } from "./version.ts";
import { renderCommand } from "./render.ts";
import { validateCommand } from "./validate.ts";
import { runCommand } from "./run.ts";
import { convertCommand } from "./convert.ts";
import { DEFAULT_AGENT_URL, statusCommand } from "./status.ts";
import { DEFAULT_HEALTH_URL, healthCommand } from "./health.ts";

let exitCode: number = ExitCode.ok;

/** Builds the commander program; `write` receives stdout text (tests capture it). */
export function buildProgram(write: (text: string) => void = (t) => console.log(t)) {
  const program = new Command("vpnv4-agent")
    .description(
      "Exports OVN tenants as BGP VPNv4/VPNv6 (RD, RT, MPLS label) through FRR, with Linux VRFs.",
    )
    .showHelpAfterError()
    .exitOverride();

  program.command("render")
    .description("Print the FRR configuration for the tenants (dry run: touches nothing).")
    .requiredOption("-c, --config <file>", "vpnv4-agent.yaml")
    .option("-t, --tenants <file>", "tenants file to use instead of the configured sources")
    .action(async (opts) => write(await renderCommand(opts)));

  program.command("validate")
    .description("Check the config and tenants and print what would be allocated (dry run).")
    .requiredOption("-c, --config <file>", "vpnv4-agent.yaml")
    .option("-t, --tenants <file>", "tenants file to use instead of the configured sources")
    .option("--json", "print JSON")
    .action(async (opts) => write(await validateCommand(opts)));

  program.command("run")
    .description("Run the agent: watch the sources, program the kernel and FRR, serve HTTP.")
    .option("-c, --config <file>", "vpnv4-agent.yaml")
    .option("--upstream-config <file>", "convert an ovn-bgp-agent INI and run with it")
    .option("--router-id <ipv4>", "with --upstream-config: router id when the INI has none")
    .option("--withdraw-on-exit", "on SIGTERM/SIGINT remove everything the agent owns")
    .option("--netns <name>", "program the kernel of this network namespace")
    .action(async (opts) => {
      exitCode = await runCommand(opts);
    });

  program.command("convert-config")
    .description("Convert an upstream ovn-bgp-agent INI to vpnv4-agent.yaml (warnings on stderr).")
    .requiredOption("--upstream-config <file>", "ovn-bgp-agent config, e.g. bgp-agent.conf")
    .option("-o, --out <file>", "write the converted config here instead of stdout")
    .option("--format <format>", "yaml or json", "yaml")
    .option("--router-id <ipv4>", "BGP router id when the INI has no bgp_router_id")
    .action(async (opts) => {
      const text = await convertCommand(opts);
      if (text) write(text);
    });

  program.command("status")
    .description("Show the running agent's tenants, peers and planes (from its /status).")
    .option("--url <url>", "agent base URL", DEFAULT_AGENT_URL)
    .option("--json", "print the raw JSON")
    .action(async (opts) => write(await statusCommand(opts)));

  program.command("health")
    .description("Exit 0 when the agent's /healthz answers 200 (container HEALTHCHECK).")
    .option("--url <url>", "the /healthz URL", DEFAULT_HEALTH_URL)
    .action(async (opts) => {
      exitCode = await healthCommand(opts);
    });

  program.command("version")
    .description("Print the version.")
    .action(() => write(versionText()));

  return program;
}

/** Runs the CLI and returns the exit code (0 ok, 1 runtime failure, 2 usage/config error). */
export async function main(args: string[]): Promise<number> {
  await setupLogging({ level: "warning", format: "text" });
  const program = buildProgram();
  try {
    exitCode = ExitCode.ok;
    await program.parseAsync(args, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") {
        return ExitCode.ok;
      }
      if (error.code === "commander.help") return ExitCode.ok;
      return ExitCode.usage;
    }
    return reportError(error);
  }
}
