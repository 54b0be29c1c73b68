/**
 * The fuzz loop of one target: seeded mutation, per-case classification (ok / expected error /
 * FINDING), per-case time check, heap bound, finding minimisation. Runs inside a worker (see
 * worker.ts) so the parent can also catch a true hang; usable in-process for replays.
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";
import { mixSeed, Rng } from "./prng.ts";
import { mutateBytes } from "./mutate.ts";

/** An invariant of a target was violated: always a FINDING, never an expected error. */
export class InvariantError extends Error {
  override name = "InvariantError";
}

/** Throws {@link InvariantError} when `condition` is false. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** A fuzz target: seeds, a mutator and a run function whose errors are classified. */
export interface FuzzTarget {
  /** Short name used with `--target`. */
  readonly name: string;
  /** What is fuzzed (for the summary). */
  readonly description: string;
  /** Seed inputs (real data). */
  corpus(): Promise<Uint8Array[]>;
  /** Structure-aware mutation; defaults to {@link mutateBytes}. */
  mutate?(input: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]): Uint8Array;
  /** Runs one input; throws on error. */
  run(input: Uint8Array): void | Promise<void>;
  /** True for the module's own, documented errors. */
  expected(error: unknown): boolean;
  /** Per-case time above which the case is a FINDING (default 500 ms). */
  readonly slowMs?: number;
  /** Largest mutated input (default 256 KiB). */
  readonly maxInputBytes?: number;
  /** Called once before the first case (e.g. open a listener). */
  setup?(): Promise<void>;
  /** Called once after the last case. */
  teardown?(): Promise<void>;
}

/** How one case ended. */
export type Outcome =
  | { kind: "ok" }
  | { kind: "expected"; error: string }
  | { kind: "finding"; finding: FindingKind; signature: string; message: string };

/** What kind of FINDING. */
export type FindingKind = "crash" | "invariant" | "slow" | "hang" | "memory" | "unhandled";

/** A FINDING with its (minimised) reproducing input. */
export interface Finding {
  target: string;
  kind: FindingKind;
  signature: string;
  message: string;
  seed: number;
  caseIndex: number;
  /** The minimised input, base64. */
  input: string;
  /** Length of the input before minimisation. */
  originalBytes: number;
}

/** Per-target result. */
export interface TargetResult {
  target: string;
  cases: number;
  ok: number;
  expected: number;
  elapsedMs: number;
  casesPerSecond: number;
  maxCaseMs: number;
  heapGrowthMb: number;
  findings: Finding[];
}

/** Budget and bounds of one target run. */
export interface RunOptions {
  seed: number;
  iterations: number;
  timeBudgetMs: number;
  /** Heap growth (MiB over the baseline, lower envelope) that is a FINDING. Default 64. */
  heapLimitMb?: number;
  /** Unique findings after which the target stops. Default 5. */
  maxFindings?: number;
  /** Called before each case with the input (the watchdog's copy). */
  onCase?: (input: Uint8Array, index: number) => void;
}

function signatureOf(kind: FindingKind, error: unknown): { signature: string; message: string } {
  const e = error instanceof Error ? error : new Error(String(error));
  const message = `${e.name}: ${e.message}`.slice(0, 2000);
  const frame = (e.stack ?? "").split("\n").find((l) => l.includes("/src/")) ?? "";
  const where = frame.replace(/^.*\/src\//, "src/").replace(/:\d+\)?$/, "").replace(/\)$/, "");
  const norm = `${e.name}: ${e.message}`.replace(/[0-9]+/g, "N").replace(/"[^"]*"/g, '"…"')
    .slice(0, 100);
  return { signature: `${kind} ${norm}${where ? ` @ ${where}` : ""}`, message };
}

/** V8's gc(), made available at run time, so heap samples measure what is really retained. */
function gcFunction(): (() => void) | undefined {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    return typeof gc === "function" ? gc : undefined;
  } catch {
    return undefined;
  }
}

let unhandled: unknown[] = [];
let listening = false;
function listenUnhandled(): void {
  if (listening) return;
  listening = true;
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    unhandled.push(ev.reason);
  });
}

/** Runs one input and classifies the outcome (no hang detection beyond the time check). */
export async function runCase(target: FuzzTarget, input: Uint8Array): Promise<Outcome> {
  listenUnhandled();
  unhandled = [];
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    await target.run(input);
    outcome = { kind: "ok" };
  } catch (error) {
    if (error instanceof InvariantError) {
      outcome = { kind: "finding", finding: "invariant", ...signatureOf("invariant", error) };
    } else if (target.expected(error)) {
      outcome = { kind: "expected", error: (error as Error).name };
    } else {
      outcome = { kind: "finding", finding: "crash", ...signatureOf("crash", error) };
    }
  }
  const dt = performance.now() - t0;
  if (outcome.kind !== "finding" && dt > (target.slowMs ?? 500)) {
    const e = new Error(`case took ${Math.round(dt)} ms (limit ${target.slowMs ?? 500} ms)`);
    e.name = "Slow";
    e.stack = "";
    outcome = {
      kind: "finding",
      finding: "slow",
      signature: `slow ${input.length > 4096 ? "large" : "small"} input`,
      message: `${e.name}: ${e.message}`,
    };
  }
  if (outcome.kind !== "finding" && unhandled.length > 0) {
    // Give late rejections of this case a chance to surface.
    outcome = { kind: "finding", finding: "unhandled", ...signatureOf("unhandled", unhandled[0]) };
  }
  return outcome;
}

/** Shrinks an input while it still produces the same signature (bounded in attempts and time). */
export async function minimize(
  target: FuzzTarget,
  input: Uint8Array,
  signature: string,
  budget: { attempts?: number; ms?: number } = {},
): Promise<Uint8Array> {
  const deadline = performance.now() + (budget.ms ?? 5000);
  let attempts = budget.attempts ?? 4000;
  let best = input;
  const fails = async (candidate: Uint8Array) => {
    if (attempts-- <= 0 || performance.now() > deadline) return false;
    const o = await runCase(target, candidate);
    return o.kind === "finding" && o.signature === signature;
  };
  // Shortest failing prefix (halving), then chunk removal.
  let lo = 0;
  let hi = best.length;
  while (lo < hi && attempts > 0 && performance.now() < deadline) {
    const mid = (lo + hi) >> 1;
    if (await fails(best.subarray(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  if (hi < best.length && await fails(best.subarray(0, hi))) best = best.slice(0, hi);
  for (let chunk = best.length >> 1; chunk >= 1; chunk >>= 1) {
    for (let off = 0; off + chunk <= best.length;) {
      if (attempts <= 0 || performance.now() > deadline) return best;
      const candidate = new Uint8Array(best.length - chunk);
      candidate.set(best.subarray(0, off));
      candidate.set(best.subarray(off + chunk), off);
      if (await fails(candidate)) best = candidate;
      else off += chunk;
    }
  }
  return best;
}

/** Base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of base64. */
export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Fuzzes one target within the budget. Case `i` is generated from `mixSeed(seed, i)` applied to
 * a seed input, so `--seed` reproduces the whole run.
 */
export async function fuzzTarget(target: FuzzTarget, options: RunOptions): Promise<TargetResult> {
  const corpus = await target.corpus();
  if (corpus.length === 0) throw new Error(`target ${target.name}: empty corpus`);
  await target.setup?.();
  const maxBytes = target.maxInputBytes ?? 256 * 1024;
  const findings = new Map<string, Finding>();
  const heapLimit = (options.heapLimitMb ?? 64) * 1024 * 1024;
  const maxFindings = options.maxFindings ?? 5;
  const pool: Uint8Array[] = [...corpus];
  const gc = gcFunction();
  let ok = 0;
  let expected = 0;
  let maxCaseMs = 0;
  let baseline: number | undefined;
  let windowMin = Infinity;
  let heapGrowth = 0;
  const t0 = performance.now();
  let i = 0;
  try {
    for (; i < options.iterations; i++) {
      if (performance.now() - t0 > options.timeBudgetMs) break;
      if (findings.size >= maxFindings) break;
      const rng = new Rng(mixSeed(options.seed, i));
      let input: Uint8Array;
      if (i < corpus.length) input = corpus[i];
      else {
        input = rng.pick(pool);
        for (let k = rng.range(1, 4); k > 0; k--) {
          input = target.mutate
            ? target.mutate(input, rng, corpus)
            : mutateBytes(input, rng, corpus);
          if (input.length > maxBytes) input = input.slice(0, maxBytes); // no view: drop the big buffer
        }
      }
      options.onCase?.(input, i);
      const c0 = performance.now();
      let outcome = await runCase(target, input);
      let caseMs = performance.now() - c0;
      // A slow case is a FINDING only when it is slow every time (not a GC pause or a
      // neighbour's load on a shared machine).
      for (
        let retry = 0;
        retry < 2 && outcome.kind === "finding" && outcome.finding === "slow";
        retry++
      ) {
        const r0 = performance.now();
        outcome = await runCase(target, input);
        caseMs = Math.min(caseMs, performance.now() - r0);
      }
      maxCaseMs = Math.max(maxCaseMs, caseMs);
      if (outcome.kind === "ok") {
        ok++;
        // Inputs that parse are good material for further mutation (bounded pool).
        if (i >= corpus.length && input.length <= 65536 && rng.chance(0.05)) {
          if (pool.length < 256) pool.push(input);
          else pool[corpus.length + rng.int(256 - corpus.length)] = input;
        }
      } else if (outcome.kind === "expected") expected++;
      else if (!findings.has(outcome.signature)) {
        const small = outcome.finding === "slow"
          ? input
          : await minimize(target, input, outcome.signature);
        findings.set(outcome.signature, {
          target: target.name,
          kind: outcome.finding,
          signature: outcome.signature,
          message: outcome.message,
          seed: options.seed,
          caseIndex: i,
          input: toBase64(small),
          originalBytes: input.length,
        });
      }
      if ((i & 127) === 127) {
        if ((i & 1023) === 1023) gc?.();
        const used = Deno.memoryUsage().heapUsed;
        windowMin = Math.min(windowMin, used);
        if ((i & 1023) === 1023) {
          // After a full GC heapUsed is what survives; without gc() the lower envelope of a
          // window approximates it.
          if (baseline === undefined) baseline = windowMin;
          heapGrowth = Math.max(heapGrowth, windowMin - baseline);
          if (windowMin - baseline > heapLimit) {
            const sig = "memory heap growth";
            findings.set(sig, {
              target: target.name,
              kind: "memory",
              signature: sig,
              message: `heap grew by ${Math.round((windowMin - baseline) / 1048576)} MiB`,
              seed: options.seed,
              caseIndex: i,
              input: toBase64(input),
              originalBytes: input.length,
            });
            break;
          }
          windowMin = Infinity;
        }
      }
    }
  } finally {
    await target.teardown?.();
  }
  const elapsedMs = performance.now() - t0;
  return {
    target: target.name,
    cases: i,
    ok,
    expected,
    elapsedMs,
    casesPerSecond: i / (elapsedMs / 1000),
    maxCaseMs,
    heapGrowthMb: heapGrowth / 1048576,
    findings: [...findings.values()],
  };
}
