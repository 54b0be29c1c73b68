/**
 * `vpnv4-agent status`: fetches `/status` from a running agent and prints a table (or the raw
 * JSON with `--json`).
 */
import type {
  AgentStatus,
  PeerStatus,
  PlaneStatus,
  SourceStatus,
  TenantStatus,
} from "../status/model.ts";

/** Default base URL of the agent (the default `http.listen`). */
export const DEFAULT_AGENT_URL = "http://127.0.0.1:9183";

/** Options of {@link statusCommand}. */
export interface StatusOptions {
  /** Base URL of the agent (`/status` is appended) or the full `/status` URL. */
  url?: string;
  /** Print the raw status JSON instead of the table. */
  json?: boolean;
  /** Give up after this long (default 10000 ms). */
  timeoutMs?: number;
}

/** The agent could not be asked (connection refused, timeout, bad answer). Exit code 1. */
export class AgentUnreachableError extends Error {
  override name = "AgentUnreachableError";
}

/** `base` with `path` as its path, unless `base` already names a path other than `/`. */
export function endpointUrl(base: string, path: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new AgentUnreachableError(`--url: not a URL: "${base}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AgentUnreachableError(`--url: expected http:// or https://, got "${base}"`);
  }
  if (url.pathname === "/" || url.pathname === "") url.pathname = path;
  return url.toString();
}

/** One line describing why a fetch failed (connection refused, timeout, …). */
export function describeFetchError(error: unknown): string {
  const chain: string[] = [];
  for (let e: unknown = error, i = 0; e !== undefined && i < 5; i++) {
    chain.push(e instanceof Error ? `${e.name} ${e.message}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const all = chain.join(" ");
  if (/ConnectionRefused|Connection refused|ECONNREFUSED/i.test(all)) return "connection refused";
  if (/TimeoutError|AbortError|timed out/i.test(all)) return "timed out";
  if (/ConnectionReset|reset by peer/i.test(all)) return "connection reset";
  if (/dns error|failed to lookup|Name or service not known/i.test(all)) {
    return "host name not resolved";
  }
  const first = error instanceof Error ? error.message : String(error);
  return first.split("\n")[0].slice(0, 200);
}

/**
 * GETs `url` with a timeout; throws {@link AgentUnreachableError} with a one-line message
 * naming the URL when the agent can't be reached.
 */
export async function fetchAgent(
  url: string,
  options: { timeoutMs?: number; accept?: string } = {},
): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  try {
    return await fetch(url, {
      signal: controller.signal,
      headers: { accept: options.accept ?? "*/*" },
    });
  } catch (error) {
    throw new AgentUnreachableError(
      `cannot reach the agent at ${url}: ${describeFetchError(error)}` +
        " (is it running, and is http.listen this address?)",
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `vpnv4-agent status` and returns the text to print. */
export async function statusCommand(options: StatusOptions = {}): Promise<string> {
  const url = endpointUrl(options.url ?? DEFAULT_AGENT_URL, "/status");
  const response = await fetchAgent(url, {
    timeoutMs: options.timeoutMs,
    accept: "application/json",
  });
  const body = await response.text();
  if (!response.ok) {
    throw new AgentUnreachableError(
      `${url} answered HTTP ${response.status}: ${body.split("\n")[0].slice(0, 200)}`,
    );
  }
  let status: unknown;
  try {
    status = JSON.parse(body);
  } catch {
    throw new AgentUnreachableError(`${url} did not answer JSON: ${body.slice(0, 80)}`);
  }
  if (typeof status !== "object" || status === null || Array.isArray(status)) {
    throw new AgentUnreachableError(`${url} did not answer a status object`);
  }
  if (options.json) return JSON.stringify(status, null, 2);
  return renderStatus(status as AgentStatus);
}

/** Options of {@link renderStatus}. */
export interface RenderStatusOptions {
  /** Reference time for "ago" columns (default: now). */
  now?: Date;
}

/** Left-aligned columns separated by two spaces; `-` for empty cells. */
function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows.map((r) => r.map((c) => (c === "" ? "-" : c)))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
}

/** Seconds as `45s`, `12m03s`, `3h05m`, `2d04h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`;
}

function ago(iso: string | undefined, now: Date): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = (now.getTime() - t) / 1000;
  return d >= 0 ? `${formatDuration(d)} ago` : iso;
}

function str(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}

function list<T>(v: T[] | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

function errorsText(errors: TenantStatus["errors"] | undefined): string {
  return Object.entries(errors ?? {})
    .filter(([, e]) => e)
    .map(([plane, e]) => `${plane}: ${String(e).split("\n")[0]}`)
    .join("; ");
}

const FAMILY_SHORT: Record<string, string> = {
  ipv4Vpn: "vpnv4",
  ipv6Vpn: "vpnv6",
  ipv4Unicast: "ipv4",
  ipv6Unicast: "ipv6",
};

function peerFamilies(peer: PeerStatus): string {
  return Object.entries(peer.families ?? {})
    .map(([f, c]) => `${FAMILY_SHORT[f] ?? f} ${str(c?.sent) || "?"}/${str(c?.received) || "?"}`)
    .join(", ");
}

function planeRow(p: PlaneStatus, now: Date): string[] {
  const state = !p.usable ? "unusable" : p.ok ? "ok" : "error";
  const notes = [p.error?.split("\n")[0], ...list(p.warnings)].filter(Boolean).join("; ");
  const took = p.lastDurationMs === undefined ? "" : `${Math.round(p.lastDurationMs)} ms`;
  return [str(p.name), state, ago(p.lastRun, now), took, notes];
}

function sourceRow(s: SourceStatus, now: Date): string[] {
  return [str(s.id), s.synced ? "yes" : "no", ago(s.lastUpdate, now), str(s.error)];
}

/** Renders a status document as readable tables (what `vpnv4-agent status` prints). */
export function renderStatus(status: AgentStatus, options: RenderStatusOptions = {}): string {
  const now = options.now ?? new Date();
  const out: string[] = [];
  const tenants = list(status.tenants);
  const peers = list(status.peers);
  out.push(
    `vpnv4-agent ${str(status.version)}, started ${str(status.startedAt)}` +
      (status.startedAt ? ` (${ago(status.startedAt, now).replace(/ ago$/, "")} up)` : ""),
  );
  out.push(status.ready ? "ready: yes" : "ready: NO");
  for (const reason of list(status.notReady)) out.push(`  - ${reason}`);

  out.push("", `Tenants (${tenants.length})`);
  if (tenants.length > 0) {
    out.push(...table(
      ["NAME", "VRF", "TABLE", "RD", "RT", "V4", "V6", "IMPORTED", "LAST APPLY", "ERRORS"],
      tenants.map((t) => [
        str(t.name),
        str(t.vrf),
        str(t.table),
        str(t.rd),
        str(t.rt),
        str(t.prefixes?.ipv4 ?? 0),
        str(t.prefixes?.ipv6 ?? 0),
        str(t.importedRoutes ?? 0),
        ago(t.lastApply, now) || "never",
        errorsText(t.errors),
      ]),
    ));
  }

  out.push("", `Peers (${peers.length})`);
  if (peers.length > 0) {
    out.push(...table(
      ["ADDRESS", "AS", "STATE", "UP", "SENT/RECEIVED", "DESCRIPTION"],
      peers.map((p) => [
        str(p.address),
        str(p.remoteAsn),
        str(p.state),
        p.uptimeSeconds === undefined ? "" : formatDuration(p.uptimeSeconds),
        peerFamilies(p),
        str(p.description),
      ]),
    ));
  }

  const planes = list(status.planes);
  out.push("", `Planes (${planes.length})`);
  if (planes.length > 0) {
    out.push(
      ...table(
        ["PLANE", "STATE", "LAST RUN", "TOOK", "NOTES"],
        planes.map((p) => planeRow(p, now)),
      ),
    );
  }

  const sources = list(status.sources);
  out.push("", `Sources (${sources.length})`);
  if (sources.length > 0) {
    out.push(
      ...table(["SOURCE", "SYNCED", "LAST UPDATE", "ERROR"], sources.map((s) => sourceRow(s, now))),
    );
  }

  const rejected = list(status.rejected);
  if (rejected.length > 0) {
    out.push("", `Rejected source entries (${rejected.length}, newest first)`);
    for (const r of rejected.slice(0, 10)) {
      out.push(`  ${str(r.tenant)}${r.prefix ? ` ${r.prefix}` : ""}: ${str(r.reason)}`);
    }
    if (rejected.length > 10) out.push(`  … ${rejected.length - 10} more (see --json)`);
  }
  return out.join("\n");
}
