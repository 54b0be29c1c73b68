/**
 * Reading an upstream INI from disk, rendering the converted configuration (YAML or JSON) and
 * the loader `run --upstream-config` hands to the agent.
 */
import { stringify } from "yaml";
import { type Config, ConfigError, readConfigText } from "../config/mod.ts";
import { validateAllocationConfig } from "../allocate/mod.ts";
import { getLogger } from "../log/mod.ts";
import { type Conversion, convertUpstream } from "./convert.ts";
import { formatUpstreamIssue, type UpstreamIssue } from "./issues.ts";

/** Options of {@link loadUpstreamConfig}. */
export interface LoadUpstreamOptions {
  /** BGP router id when the INI has none (or to override it). */
  routerId?: string;
}

/** Reads and converts an upstream INI file (ConfigError, exit code 2, on any problem). */
export async function loadUpstreamConfig(
  path: string,
  options: LoadUpstreamOptions = {},
): Promise<Conversion> {
  const text = await readConfigText(path);
  const conversion = convertUpstream(text, { file: path, routerId: options.routerId });
  const issues = validateAllocationConfig(conversion.config);
  if (issues.length > 0) throw new ConfigError(path, issues);
  return conversion;
}

/** `warning: file:line: section.key: message` (or `note: …`). */
export function formatFinding(finding: UpstreamIssue): string {
  return `${finding.severity}: ${formatUpstreamIssue(finding)}`;
}

/** Renders the converted configuration; YAML carries the findings as a comment header. */
export function renderConversion(
  conversion: Conversion,
  options: { format: "yaml" | "json"; source: string },
): string {
  if (options.format === "json") return JSON.stringify(conversion.document, null, 2) + "\n";
  const header = [
    `# vpnv4-agent configuration converted from the ovn-bgp-agent INI ${options.source}`,
    "# by `vpnv4-agent convert-config`. Review the findings below before using it.",
    ...conversion.findings.map((f) => `# ${formatFinding(f).replaceAll("\n", " ")}`),
  ];
  return `${header.join("\n")}\n${stringify(conversion.document, { lineWidth: 0 })}`;
}

/**
 * The configuration loader of `run --upstream-config`: converts the INI on every (re)load and
 * logs its warnings and notes.
 */
export function upstreamConfigLoader(
  options: LoadUpstreamOptions = {},
): (path: string) => Promise<Config> {
  const log = getLogger("upstream");
  return async (path) => {
    const conversion = await loadUpstreamConfig(path, options);
    for (const f of conversion.findings) {
      const text = formatUpstreamIssue(f);
      if (f.severity === "warning") log.warn("{finding}", { finding: text });
      else log.info("{finding}", { finding: text });
    }
    return conversion.config;
  };
}
