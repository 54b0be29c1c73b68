/**
 * `vpnv4-agent health`: exit 0 when `/healthz` answers 200, else 1. The container HEALTHCHECK
 * (distroless images have no curl).
 */
import { ExitCode } from "./exit.ts";
import { DEFAULT_AGENT_URL, describeFetchError, endpointUrl } from "./status.ts";

/** Default URL checked by `vpnv4-agent health`. */
export const DEFAULT_HEALTH_URL = `${DEFAULT_AGENT_URL}/healthz`;

/** Options of {@link healthCommand}. */
export interface HealthOptions {
  /** The `/healthz` URL (a base URL gets `/healthz` appended). */
  url?: string;
  /** Unhealthy after this long without an answer (default 5000 ms). */
  timeoutMs?: number;
  /** Receives the one-line reason when unhealthy (default: stderr). */
  report?: (line: string) => void;
}

/** Runs `vpnv4-agent health` and returns the exit code: 0 healthy, 1 otherwise. */
export async function healthCommand(options: HealthOptions = {}): Promise<number> {
  const report = options.report ?? ((line: string) => console.error(line));
  let url: string;
  try {
    url = endpointUrl(options.url ?? DEFAULT_HEALTH_URL, "/healthz");
  } catch (error) {
    report(`unhealthy: ${(error as Error).message}`);
    return ExitCode.runtime;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 5_000);
  try {
    const response = await fetch(url, { signal: controller.signal });
    await response.body?.cancel();
    if (response.status === 200) return ExitCode.ok;
    report(`unhealthy: ${url} answered HTTP ${response.status}`);
    return ExitCode.runtime;
  } catch (error) {
    report(`unhealthy: ${url}: ${describeFetchError(error)}`);
    return ExitCode.runtime;
  } finally {
    clearTimeout(timer);
  }
}
