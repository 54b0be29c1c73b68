/**
 * The allocation state file: every tenant's VRF name and table id, active or retired, so that
 * allocations survive restarts and a collision resolved once never reshuffles later.
 *
 * ```json
 * { "version": 1,
 *   "allocations": [
 *     { "tenant": "demo", "vrf": "demo", "table": 1234, "allocated_at": "2026-…Z" },
 *     { "tenant": "gone", "vrf": "gone", "table": 1100, "allocated_at": "…",
 *       "retired_at": "2026-…Z" } ] }
 * ```
 *
 * RD and RT are not stored: they follow from the table id and the configuration.
 * Writes are atomic (temp file in the same folder, fsync, rename, fsync folder; mode 0600).
 */
import { z } from "zod";
import { basename, dirname, join } from "node:path";
import { TENANT_NAME } from "../tenants/model.ts";
import { StateFileError } from "./errors.ts";
import { RESERVED_TABLES } from "./config.ts";
import { isValidIfName } from "./vrf_name.ts";

/** The state file format this agent reads and writes. */
export const STATE_VERSION = 1;

/** One tenant's persisted allocation. */
export interface StateEntry {
  readonly tenant: string;
  readonly vrf: string;
  readonly table: number;
  /** ISO 8601 time the allocation was first made. */
  readonly allocated_at: string;
  /** ISO 8601 time the tenant disappeared; absent while it is active. */
  readonly retired_at?: string;
}

/** The whole persisted state, by tenant name. */
export interface AllocationState {
  readonly entries: ReadonlyMap<string, StateEntry>;
}

/** A state with no allocations (first start). */
export function emptyState(): AllocationState {
  return { entries: new Map() };
}

const timestamp = z.iso.datetime({ offset: true });

const entrySchema = z.strictObject({
  tenant: z.string().regex(TENANT_NAME, { message: "is not a valid tenant name" }),
  vrf: z.string().refine(isValidIfName, { message: "is not a valid interface name" }),
  table: z.number().int().min(1).max(0xffffffff).refine((t) => !RESERVED_TABLES.has(t), {
    message: "is a reserved table id (253-255)",
  }),
  allocated_at: timestamp,
  retired_at: timestamp.optional(),
});

const fileSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  allocations: z.array(entrySchema),
});

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || "(root)";
}

/** Whether `prefix` could still be the start of a valid JSON text. */
function viableJsonPrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (e) {
    const message = (e as Error).message;
    if (/Unexpected end of JSON input/.test(message)) return true;
    const m = /position (\d+)/.exec(message);
    return m !== null && Number(m[1]) >= prefix.length;
  }
}

/** Where a JSON text goes wrong: V8's position when it tells, else the longest viable prefix. */
function jsonErrorPosition(text: string, error: Error): number {
  const m = /position (\d+)/.exec(error.message);
  if (m) return Number(m[1]);
  let lo = 0; // viable
  let hi = text.length; // not viable (the whole text failed)
  if (/Unexpected end of JSON input/.test(error.message)) return text.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (viableJsonPrefix(text.slice(0, mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}

function jsonProblem(text: string, error: Error): string {
  const pos = jsonErrorPosition(text, error);
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  const reason = error.message.replace(/\s*\(line \d+ column \d+\)/, "");
  return `bad JSON at position ${pos} (line ${line} column ${column}): ${reason}`;
}

/**
 * Parses and checks state file text. Every problem is a {@link StateFileError} naming the file
 * and the entry: bad JSON (with its position), wrong version, unknown or invalid fields,
 * duplicate tenants, VRF names or tables.
 */
export function parseState(text: string, path: string): AllocationState {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new StateFileError(path, jsonProblem(text, cause as Error), { cause });
  }
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    const version = (data as Record<string, unknown>).version;
    if (version !== STATE_VERSION) {
      throw new StateFileError(
        path,
        version === undefined
          ? `no "version" field (expected ${STATE_VERSION})`
          : `unsupported version ${
            JSON.stringify(version)
          } (this agent reads version ${STATE_VERSION})`,
      );
    }
  }
  const result = fileSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 5).map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return `${formatPath(issue.path)}: unknown field${issue.keys.length > 1 ? "s" : ""} ${
          issue.keys.map((k) => JSON.stringify(k)).join(", ")
        }`;
      }
      return `${formatPath(issue.path)}: ${issue.message}`;
    });
    const more = result.error.issues.length > 5
      ? ` (and ${result.error.issues.length - 5} more)`
      : "";
    throw new StateFileError(path, `invalid entry: ${problems.join("; ")}${more}`);
  }
  const entries = new Map<string, StateEntry>();
  const byVrf = new Map<string, string>();
  const byTable = new Map<number, string>();
  result.data.allocations.forEach((e, i) => {
    const at = `allocations[${i}]`;
    if (entries.has(e.tenant)) {
      throw new StateFileError(path, `${at}.tenant: duplicate tenant ${e.tenant}`);
    }
    const vrfOwner = byVrf.get(e.vrf);
    if (vrfOwner !== undefined) {
      throw new StateFileError(
        path,
        `${at}.vrf: duplicate VRF name ${e.vrf} (tenants ${vrfOwner} and ${e.tenant})`,
      );
    }
    const tableOwner = byTable.get(e.table);
    if (tableOwner !== undefined) {
      throw new StateFileError(
        path,
        `${at}.table: duplicate table ${e.table} (tenants ${tableOwner} and ${e.tenant})`,
      );
    }
    entries.set(e.tenant, e);
    byVrf.set(e.vrf, e.tenant);
    byTable.set(e.table, e.tenant);
  });
  return { entries };
}

/** Serializes a state as stable, sorted, human-readable JSON. */
export function serializeState(state: AllocationState): string {
  const allocations = [...state.entries.values()]
    .sort((a, b) => a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0)
    .map((e) => {
      const out: Record<string, unknown> = {
        tenant: e.tenant,
        vrf: e.vrf,
        table: e.table,
        allocated_at: e.allocated_at,
      };
      if (e.retired_at !== undefined) out.retired_at = e.retired_at;
      return out;
    });
  return JSON.stringify({ version: STATE_VERSION, allocations }, null, 2) + "\n";
}

/**
 * Reads the state file. A missing file is an empty state (first start); anything else that
 * prevents reading or parsing it is a {@link StateFileError}.
 */
export async function readStateFile(path: string): Promise<AllocationState> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return emptyState();
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new StateFileError(path, `cannot read: ${reason}`, { cause });
  }
  return parseState(text, path);
}

/**
 * Writes the state file atomically: a temp file in the same folder (mode 0600), fsync, rename
 * over the file, fsync of the folder. The folder is created with mode 0700 when missing; a
 * world-writable folder without the sticky bit is refused.
 * On failure the previous file is intact and the temp file removed.
 */
export async function writeStateFile(path: string, state: AllocationState): Promise<void> {
  const dir = dirname(path);
  const data = new TextEncoder().encode(serializeState(state));
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new StateFileError(path, `cannot create folder ${dir}: ${reason}`, { cause });
  }
  // Anyone who may rename entries in the folder could swap the state file: refuse a folder that
  // is world-writable without the sticky bit.
  const dirMode = (await Deno.stat(dir).catch(() => undefined))?.mode;
  if (dirMode !== undefined && dirMode !== null && (dirMode & 0o002) && !(dirMode & 0o1000)) {
    throw new StateFileError(
      path,
      `folder ${dir} is world-writable (mode ${(dirMode & 0o7777).toString(8)}); ` +
        `chmod o-w ${dir} (the agent creates it 0700)`,
    );
  }
  const suffix = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  const tmp = join(dir, `.${basename(path)}.${Deno.pid}.${suffix}.tmp`);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      await Deno.chmod(tmp, 0o600);
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (cause) {
    await Deno.remove(tmp).catch(() => {});
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new StateFileError(path, `cannot write: ${reason}`, { cause });
  }
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new StateFileError(path, `written, but fsync of folder ${dir} failed: ${reason}`, {
      cause,
    });
  }
}
