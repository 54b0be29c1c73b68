/**
 * Conversion findings (errors, warnings, notes) located as `file:line: section.key: message`.
 */
import { ConfigError } from "../config/mod.ts";

/** How serious a finding is: errors stop the conversion, warnings and notes do not. */
export type UpstreamSeverity = "error" | "warning" | "note";

/** One finding about the upstream INI. */
export interface UpstreamIssue {
  severity: UpstreamSeverity;
  /** The INI file. */
  file: string;
  /** 1-based line of the option, when it is in the file. */
  line?: number;
  /** `section.key` of the option (e.g. `DEFAULT.driver`), or a converted-config path. */
  key?: string;
  message: string;
}

/** Formats a finding as `file:line: section.key: message` (parts that are unknown left out). */
export function formatUpstreamIssue(issue: UpstreamIssue): string {
  const where = issue.line ? `${issue.file}:${issue.line}` : issue.file;
  return `${where}: ${issue.key ? `${issue.key}: ` : ""}${issue.message}`;
}

/**
 * An upstream INI that cannot be converted. A {@link ConfigError} (exit code 2) whose message
 * lists every problem as `file:line: section.key: message`, one per line.
 */
export class UpstreamConfigError extends ConfigError {
  override name = "ConfigError";
  /** The problems in file order. */
  readonly problems: UpstreamIssue[];

  constructor(file: string, problems: UpstreamIssue[], options?: ErrorOptions) {
    super(
      file,
      problems.map((p) => ({ path: p.key ?? "", line: p.line, message: p.message })),
      options,
    );
    this.problems = problems;
    const n = problems.length;
    this.message = `cannot convert upstream ovn-bgp-agent config (${n} problem${
      n === 1 ? "" : "s"
    }):\n${problems.map((p) => `  ${formatUpstreamIssue(p)}`).join("\n")}`;
  }
}
