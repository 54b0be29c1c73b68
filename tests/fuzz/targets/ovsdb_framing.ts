/**
 * OVSDB framing target: byte streams of back-to-back JSON-RPC messages (real captures, split,
 * merged, truncated, oversized, mutated) through {@link JsonFramer} under two different
 * chunkings. Expected error: FramingError. Invariants: both chunkings yield the same values
 * (or both fail), buffered bytes never exceed the cap, the framer stays poisoned after an error.
 * @module
 */
import { FramingError, JsonFramer } from "../../../src/ovsdb/framing.ts";
import { hashBytes, Rng } from "../prng.ts";
import { type FuzzTarget, invariant } from "../harness.ts";
import { concat, mutateBytes, mutateJson } from "../mutate.ts";
import { utf8 } from "./corpus.ts";
import { ovsdbMessages, parseJsonBytes } from "./ovsdb_corpus.ts";

/** Cap used by the target (small, so oversized messages are reachable). */
const MAX = 64 * 1024;
const DEPTH = 64;

/** Feeds `input` in chunks chosen by `rng` (0 = whole). Returns values and the error, if any. */
function feed(input: Uint8Array, rng: Rng | undefined): { values: unknown[]; error?: unknown } {
  const framer = new JsonFramer({ maxMessageBytes: MAX, maxDepth: DEPTH });
  const values: unknown[] = [];
  let off = 0;
  try {
    while (off < input.length) {
      const step = rng ? rng.range(1, rng.chance(0.5) ? 7 : 4096) : input.length;
      const chunk = input.subarray(off, off + step);
      off += chunk.length;
      values.push(...framer.push(chunk));
      invariant(framer.bufferedBytes <= MAX, `framer buffers ${framer.bufferedBytes} > ${MAX}`);
    }
    return { values };
  } catch (error) {
    if (error instanceof FramingError) {
      // Poisoned: every later push throws the same error.
      let again: unknown;
      try {
        framer.push(utf8("{}"));
      } catch (e) {
        again = e;
      }
      invariant(again === error, "framer accepted bytes after a FramingError");
    }
    return { values, error };
  }
}

/** The OVSDB framing target. */
export const ovsdbFramingTarget: FuzzTarget = {
  name: "ovsdb-framing",
  description: "JSON-RPC stream framing: split, merged, truncated, oversized, deep, invalid UTF-8",
  async corpus() {
    const msgs = (await ovsdbMessages()).map((m) => m.bytes);
    return [...msgs, concat(...msgs), concat(msgs[0], utf8("\n \t"), msgs[6], msgs[3])];
  },
  maxInputBytes: 160 * 1024,
  mutate(input, rng, corpus) {
    const r = rng.int(10);
    if (r < 4) {
      const value = parseJsonBytes(input);
      if (value !== undefined) return utf8(JSON.stringify(mutateJson(value, rng)));
    }
    if (r === 4) { // oversize: repeat a message past the cap
      return concat(
        ...Array.from({ length: Math.ceil(MAX / Math.max(1, input.length)) + 1 }, () => input),
      );
    }
    if (r === 5) { // deep nesting
      const d = rng.range(DEPTH - 2, DEPTH + 2);
      return concat(utf8("[".repeat(d)), input, utf8("]".repeat(d)));
    }
    return mutateBytes(input, rng, corpus);
  },
  run(input) {
    const whole = feed(input, undefined);
    const split = feed(input, new Rng(hashBytes(input)));
    for (const r of [whole, split]) {
      if (r.error !== undefined && !(r.error instanceof FramingError)) throw r.error;
    }
    invariant(
      (whole.error === undefined) === (split.error === undefined),
      `chunking changed the outcome: whole ${whole.error ?? "ok"}, split ${split.error ?? "ok"}`,
    );
    // Values completed before an error are returned by earlier pushes only when split.
    invariant(
      whole.error !== undefined || JSON.stringify(whole.values) === JSON.stringify(split.values),
      "chunking changed the decoded values",
    );
    if (whole.error) throw whole.error;
  },
  expected(error) {
    return error instanceof FramingError;
  },
};
