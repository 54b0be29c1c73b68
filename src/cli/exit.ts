/**
 * Exit codes and the mapping from errors to them: 0 success, 2 usage or configuration error,
 * 1 runtime failure.
 */
import { ConfigError } from "../config/mod.ts";
import { errorChain } from "../errors/mod.ts";

/** Process exit codes. */
export const ExitCode = { ok: 0, runtime: 1, usage: 2 } as const;

/** A usage problem (bad flags, conflicting options). Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const CONFIG_ERROR_NAMES = new Set([
  "ConfigError",
  "UsageError",
  "StateFileError",
  "AllocationConfigError",
]);

/** True for errors that mean "your input is wrong" (exit 2) rather than "something failed". */
export function isInputError(error: unknown): boolean {
  return error instanceof ConfigError || error instanceof UsageError ||
    (error instanceof Error && CONFIG_ERROR_NAMES.has(error.name));
}

/** Renders an error with its chain of causes, one per line. */
export function describeErrorLines(error: unknown): string {
  return errorChain(error).map((m, i) => i === 0 ? m : `  caused by: ${m}`).join("\n");
}

/** Prints the error to stderr and returns its exit code. */
export function reportError(error: unknown): number {
  console.error(`vpnv4-agent: ${describeErrorLines(error)}`);
  return isInputError(error) ? ExitCode.usage : ExitCode.runtime;
}
