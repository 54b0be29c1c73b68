/**
 * The one logging module: @logtape/logtape configured for text or JSON lines on stderr.
 * @module
 */
import {
  configure,
  getConsoleSink,
  getJsonLinesFormatter,
  getLogger as ltGetLogger,
  getTextFormatter,
  type Logger,
  reset,
} from "@logtape/logtape";

/** Log levels accepted in the configuration. */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** Options for {@link setupLogging}. */
export interface LoggingOptions {
  level?: LogLevel;
  format?: "text" | "json";
}

let configured = false;

/**
 * Configures logging once per process (calling again reconfigures).
 * Records go to stderr so stdout stays clean for command output.
 */
export async function setupLogging(options: LoggingOptions = {}): Promise<void> {
  const formatter = options.format === "json" ? getJsonLinesFormatter() : getTextFormatter();
  if (configured) await reset();
  await configure({
    reset: true,
    sinks: {
      stderr: getConsoleSink({
        formatter,
        console: {
          debug: (m: string) => console.error(m),
          info: (m: string) => console.error(m),
          log: (m: string) => console.error(m),
          warn: (m: string) => console.error(m),
          error: (m: string) => console.error(m),
          // deno-lint-ignore no-explicit-any
        } as any,
      }),
    },
    loggers: [
      { category: ["vpnv4"], lowestLevel: options.level ?? "info", sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
  configured = true;
}

/** Returns a logger under the `vpnv4` category, e.g. `getLogger("kernel")`. */
export function getLogger(...category: string[]): Logger {
  return ltGetLogger(["vpnv4", ...category]);
}

export type { Logger };
