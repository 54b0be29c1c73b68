/**
 * The reliability record of the test suite (issue #9 item 6): every fault and bad input that a
 * test injected for real, what the test observed and what was lost. Tests call
 * {@link recordReliability} after their assertions passed; with `VPNV4_RECORD_RELIABILITY=1`
 * the record is written to `tests/reliability/results/<id>.json`, and
 * `deno task reliability` renders those files into the README table.
 *
 * Records hold no timings, ports, temp paths or random ids, so a rerun that observes the same
 * behaviour writes the same bytes.
 * @module
 */

/** One row of the README reliability table. */
export interface ReliabilityRecord {
  /** Stable id, also the file name (`[a-z0-9][a-z0-9-]*`), e.g. `vtysh-hang`. */
  id: string;
  /** Whether this is an injected fault or bad input handed to the agent. */
  kind: "fault" | "bad input";
  /** What was done, e.g. "vtysh hangs on every call (frr.timeout_ms 1500)". */
  what: string;
  /** What the test observed the agent do (derived from the observation). */
  happened: string;
  /** What was lost, derived from what was checked (normally "nothing: …"). */
  lost: string;
}

/** Folder of the committed records. */
export const RELIABILITY_RESULTS = new URL("../reliability/results/", import.meta.url);

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Whether this run records (env `VPNV4_RECORD_RELIABILITY=1`). */
export function recordingReliability(): boolean {
  return Deno.env.get("VPNV4_RECORD_RELIABILITY") === "1";
}

/** Checks a record's fields; throws naming the field. */
export function checkReliabilityRecord(record: ReliabilityRecord): void {
  if (!ID.test(record.id)) throw new Error(`reliability record id ${JSON.stringify(record.id)}`);
  if (record.kind !== "fault" && record.kind !== "bad input") {
    throw new Error(`reliability record ${record.id}: kind ${JSON.stringify(record.kind)}`);
  }
  for (const field of ["what", "happened", "lost"] as const) {
    const v = record[field];
    if (typeof v !== "string" || v.trim() === "") {
      throw new Error(`reliability record ${record.id}: ${field} is empty`);
    }
  }
}

/** The file text of a record: fixed key order, one trailing newline. */
export function serializeReliabilityRecord(record: ReliabilityRecord): string {
  const { id, kind, what, happened, lost } = record;
  const clean = (s: string) => s.replace(/\s+/g, " ").trim();
  return JSON.stringify(
    { id, kind, what: clean(what), happened: clean(happened), lost: clean(lost) },
    null,
    2,
  ) + "\n";
}

/**
 * Writes `record` to `tests/reliability/results/<id>.json` when `VPNV4_RECORD_RELIABILITY=1`;
 * otherwise only checks it. Call it after the test's assertions passed.
 */
export async function recordReliability(record: ReliabilityRecord): Promise<void> {
  checkReliabilityRecord(record);
  if (!recordingReliability()) return;
  await Deno.mkdir(RELIABILITY_RESULTS, { recursive: true });
  await Deno.writeTextFile(
    new URL(`${record.id}.json`, RELIABILITY_RESULTS),
    serializeReliabilityRecord(record),
  );
}

/** Reads every committed record, sorted by kind (faults first) and id. */
export async function readReliabilityRecords(
  dir: URL = RELIABILITY_RESULTS,
): Promise<ReliabilityRecord[]> {
  const out: ReliabilityRecord[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const record = JSON.parse(await Deno.readTextFile(new URL(e.name, dir))) as ReliabilityRecord;
      checkReliabilityRecord(record);
      if (`${record.id}.json` !== e.name) {
        throw new Error(`reliability record ${e.name} holds id ${record.id}`);
      }
      out.push(record);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const rank = (k: ReliabilityRecord["kind"]) => k === "fault" ? 0 : 1;
  return out.sort((a, b) =>
    rank(a.kind) - rank(b.kind) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** Renders the records as the README's Markdown table (pipes in text are escaped). */
export function renderReliabilityTable(records: readonly ReliabilityRecord[]): string {
  const cell = (s: string) => s.replace(/\s+/g, " ").trim().replaceAll("|", "\\|");
  const lines = [
    "| Kind | Id | What was done | What happened | What was lost |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of records) {
    lines.push(
      `| ${cell(r.kind)} | \`${r.id}\` | ${cell(r.what)} | ${cell(r.happened)} | ${cell(r.lost)} |`,
    );
  }
  if (records.length === 0) lines.push("| - | - | no records yet | - | - |");
  return lines.join("\n");
}
