/**
 * Runs fuzz targets, each in its own worker with a watchdog: a case whose heartbeat does not
 * advance within `hangMs` is a hang FINDING (the worker is terminated, the input it was on is
 * reported). Shared by `deno task fuzz` (run.ts) and the smoke test.
 * @module
 */
import { type Finding, type TargetResult, toBase64 } from "./harness.ts";
import { TARGETS } from "./targets/mod.ts";
import type { WorkerStart } from "./worker.ts";

/** Options of {@link runFuzz}. */
export interface FuzzRunOptions {
  seed: number;
  /** Cases per target (upper bound). */
  iterations: number;
  /** Time per target in ms. */
  timeBudgetMs: number;
  /** Targets to run (default all). */
  targets?: readonly string[];
  /** A case that does not return within this is a hang (default 10 s). */
  hangMs?: number;
  /** Heap growth bound in MiB (default 64). */
  heapLimitMb?: number;
  /** Progress output (default none). */
  log?: (line: string) => void;
}

/** Largest input the watchdog can report. */
const SHARED_INPUT_BYTES = 2 * 1024 * 1024;

/** Runs one target in a worker under the watchdog. */
export async function runTargetInWorker(
  name: string,
  options: FuzzRunOptions,
): Promise<TargetResult> {
  const shared = new SharedArrayBuffer(16 + SHARED_INPUT_BYTES);
  const header = new Int32Array(shared, 0, 4);
  const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  const hangMs = options.hangMs ?? 10_000;
  const started = performance.now();
  try {
    return await new Promise<TargetResult>((resolve, reject) => {
      let beat = -1;
      let lastChange = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        const b = Atomics.load(header, 0);
        if (b !== beat) {
          beat = b;
          lastChange = now;
          return;
        }
        // Loading modules and the corpus comes before the first heartbeat: allow more then.
        if (now - lastChange < (b === 0 ? Math.max(hangMs, 60_000) : hangMs)) return;
        clearInterval(timer);
        const n = Atomics.load(header, 1);
        const input = new Uint8Array(shared, 16, n).slice();
        const finding: Finding = {
          target: name,
          kind: "hang",
          signature: "hang",
          message: `a case did not return within ${hangMs} ms`,
          seed: options.seed,
          caseIndex: Atomics.load(header, 2),
          input: toBase64(input),
          originalBytes: input.length,
        };
        const elapsedMs = now - started;
        resolve({
          target: name,
          cases: Math.max(0, b),
          ok: 0,
          expected: 0,
          elapsedMs,
          casesPerSecond: b / (elapsedMs / 1000),
          maxCaseMs: now - lastChange,
          heapGrowthMb: 0,
          findings: [finding],
        });
      }, Math.min(250, hangMs / 4));
      worker.onmessage = (ev) => {
        clearInterval(timer);
        if (ev.data.ok) resolve(ev.data.result as TargetResult);
        else reject(new Error(`fuzz worker for ${name} failed: ${ev.data.error}`));
      };
      worker.onerror = (ev) => {
        clearInterval(timer);
        ev.preventDefault();
        reject(new Error(`fuzz worker for ${name} crashed: ${ev.message}`));
      };
      const start: WorkerStart = {
        target: name,
        options: {
          seed: options.seed,
          iterations: options.iterations,
          timeBudgetMs: options.timeBudgetMs,
          heapLimitMb: options.heapLimitMb,
        },
        shared,
      };
      worker.postMessage(start);
    });
  } finally {
    worker.terminate();
  }
}

/** Runs every selected target in turn; returns their results. */
export async function runFuzz(options: FuzzRunOptions): Promise<TargetResult[]> {
  const names = options.targets && options.targets.length > 0
    ? options.targets
    : TARGETS.map((t) => t.name);
  for (const n of names) {
    if (!TARGETS.some((t) => t.name === n)) {
      throw new Error(`unknown target ${n} (known: ${TARGETS.map((t) => t.name).join(", ")})`);
    }
  }
  const results: TargetResult[] = [];
  for (const name of names) {
    const r = await runTargetInWorker(name, options);
    options.log?.(formatResult(r));
    results.push(r);
  }
  return results;
}

/** One summary line for a target. */
export function formatResult(r: TargetResult): string {
  return `${r.target.padEnd(20)} ${String(r.cases).padStart(8)} cases ` +
    `${
      r.casesPerSecond.toFixed(0).padStart(7)
    } cases/s  ok ${r.ok}  expected-errors ${r.expected}  ` +
    `max-case ${r.maxCaseMs.toFixed(1)} ms  heap+ ${r.heapGrowthMb.toFixed(1)} MiB  ` +
    `findings ${r.findings.length}`;
}
