/**
 * `vpnv4-agent convert-config`: upstream ovn-bgp-agent INI → vpnv4-agent.yaml. The converted
 * configuration goes to stdout (or `--out`), warnings and notes to stderr.
 */
import type { Config } from "../config/mod.ts";
import {
  formatFinding,
  loadUpstreamConfig,
  renderConversion,
  upstreamConfigLoader,
} from "../upstream/mod.ts";
import { UsageError } from "./exit.ts";

/** Flags of `convert-config`. */
export interface ConvertFlags {
  upstreamConfig: string;
  out?: string;
  format?: string;
  routerId?: string;
}

/** Converts; returns the text for stdout (empty when written to `--out`). */
export async function convertCommand(
  flags: ConvertFlags,
  options: { warn?: (line: string) => void } = {},
): Promise<string> {
  const format = flags.format ?? "yaml";
  if (format !== "yaml" && format !== "json") {
    throw new UsageError(`--format must be yaml or json, got ${JSON.stringify(format)}`);
  }
  const warn = options.warn ?? ((line: string) => console.error(line));
  const conversion = await loadUpstreamConfig(flags.upstreamConfig, { routerId: flags.routerId });
  for (const f of conversion.findings) warn(formatFinding(f));
  const text = renderConversion(conversion, { format, source: flags.upstreamConfig });
  if (!flags.out) return text.trimEnd();
  await Deno.writeTextFile(flags.out, text);
  warn(`wrote ${flags.out}`);
  return "";
}

/** The config flags of `run`: exactly one of `--config` and `--upstream-config`. */
export interface RunConfigFlags {
  config?: string;
  upstreamConfig?: string;
  routerId?: string;
}

/**
 * Where `run` reads its configuration: the YAML path, or the upstream INI path with the
 * loader that converts it on every (re)load (SIGHUP re-reads the INI).
 */
export function runConfigSource(
  flags: RunConfigFlags,
): { configPath: string; loadConfig?: (path: string) => Promise<Config> } {
  if (flags.config && flags.upstreamConfig) {
    throw new UsageError("give either --config or --upstream-config, not both");
  }
  if (flags.upstreamConfig) {
    return {
      configPath: flags.upstreamConfig,
      loadConfig: upstreamConfigLoader({ routerId: flags.routerId }),
    };
  }
  if (!flags.config) {
    throw new UsageError("--config <file> or --upstream-config <file> is required");
  }
  if (flags.routerId) throw new UsageError("--router-id only applies to --upstream-config");
  return { configPath: flags.config };
}
