/**
 * Worker side of the fuzz runner: fuzzes one target and reports back. Before each case it
 * copies the input into the shared buffer and bumps the heartbeat, so the parent can name the
 * input of a case that never returns (a hang) after terminating the worker.
 * @module
 */
/// <reference lib="deno.worker" />
import { fuzzTarget, type RunOptions } from "./harness.ts";
import { TARGETS } from "./targets/mod.ts";

/** The message that starts the worker. */
export interface WorkerStart {
  target: string;
  options: Omit<RunOptions, "onCase">;
  shared: SharedArrayBuffer;
}

self.onmessage = async (ev: MessageEvent<WorkerStart>) => {
  const { target: name, options, shared } = ev.data;
  const header = new Int32Array(shared, 0, 4);
  const data = new Uint8Array(shared, 16);
  const target = TARGETS.find((t) => t.name === name);
  try {
    if (!target) throw new Error(`unknown target ${name}`);
    const result = await fuzzTarget(target, {
      ...options,
      onCase: (input, index) => {
        const n = Math.min(input.length, data.length);
        data.set(input.subarray(0, n));
        Atomics.store(header, 1, n);
        Atomics.store(header, 2, index);
        Atomics.add(header, 0, 1);
      },
    });
    self.postMessage({ ok: true, result });
  } catch (e) {
    self.postMessage({ ok: false, error: (e as Error).stack ?? String(e) });
  }
};
