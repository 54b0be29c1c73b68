/**
 * Incremental framing of back-to-back JSON values, as ovsdb-server sends them
 * (no delimiter between messages). Pure: no I/O.
 * @module
 */

/** Default cap on one JSON message: 256 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

import { FramingError } from "./framing_error.ts";
import { DEFAULT_LAZY_VALUE_CHARS, LazyJson } from "./lazy_json.ts";

export { FramingError };

/** Options for {@link JsonFramer}. */
export interface JsonFramerOptions {
  /** Largest accepted message in bytes (default {@link DEFAULT_MAX_MESSAGE_BYTES}). */
  maxMessageBytes?: number;
  /** Maximum nesting depth (default 1024). */
  maxDepth?: number;
  /**
   * Messages of at least this many bytes come out as {@link LazyJson} (parsed member by member
   * by whoever reads them) instead of parsed values. Default: never.
   */
  lazyFromBytes?: number;
  /** Within a lazy message, objects and arrays of at least this many characters stay lazy. */
  lazyValueChars?: number;
}

const OPEN_OBJ = 0x7b; // {
const CLOSE_OBJ = 0x7d; // }
const OPEN_ARR = 0x5b; // [
const CLOSE_ARR = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Splits a byte stream into complete top-level JSON objects or arrays and parses them.
 *
 * Only the structure is scanned (brackets, strings, escapes) so the cost is one pass over
 * the bytes plus `JSON.parse`. Bytes of a message still incomplete are kept, bounded by
 * `maxMessageBytes`. After a {@link FramingError} the framer is poisoned: every later
 * `push` throws, because the stream cannot be resynchronised.
 */
export class JsonFramer {
  readonly #max: number;
  readonly #maxDepth: number;
  readonly #lazyFrom: number;
  readonly #lazyValue: number;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  /**
   * The message in progress, decoded chunk by chunk as it arrives: a 100k-row monitor reply
   * (tens of MB) then never exists as bytes and text at once, and no large buffer goes through
   * malloc (where glibc raises its mmap threshold after freeing one and keeps what follows).
   */
  #pending: string[] = [];
  #pendingBytes = 0;
  #depth = 0;
  #inString = false;
  #escape = false;
  #closers: number[] = [];
  #error: FramingError | undefined;

  constructor(options: JsonFramerOptions = {}) {
    this.#max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxDepth = options.maxDepth ?? 1024;
    this.#lazyFrom = options.lazyFromBytes ?? Infinity;
    this.#lazyValue = options.lazyValueChars ?? DEFAULT_LAZY_VALUE_CHARS;
  }

  /** Bytes held for the message in progress. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Feeds a chunk; returns the values completed by it, in order.
   * Throws {@link FramingError} for bytes that are not JSON, oversized messages or
   * messages that JSON.parse rejects.
   */
  push(chunk: Uint8Array): unknown[] {
    if (this.#error) throw this.#error;
    const out: unknown[] = [];
    let start = this.#depth > 0 ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i];
      if (this.#depth === 0) {
        if (isSpace(b)) continue;
        if (b !== OPEN_OBJ && b !== OPEN_ARR) {
          return this.#fail(
            `unexpected byte 0x${b.toString(16).padStart(2, "0")} between messages`,
          );
        }
        start = i;
        this.#depth = 1;
        this.#closers.length = 0;
        this.#closers.push(b === OPEN_OBJ ? CLOSE_OBJ : CLOSE_ARR);
        continue;
      }
      if (this.#inString) {
        if (this.#escape) {
          this.#escape = false;
          continue;
        }
        // Jump to the closing quote with the native search; a quote preceded by an odd
        // run of backslashes (counted from here) is escaped.
        let j = i;
        for (;;) {
          const q = chunk.indexOf(QUOTE, j);
          if (q < 0) {
            let k = n;
            while (k > i && chunk[k - 1] === BACKSLASH) k--;
            this.#escape = ((n - k) & 1) === 1;
            j = n;
            break;
          }
          let k = q;
          while (k > i && chunk[k - 1] === BACKSLASH) k--;
          if (((q - k) & 1) === 0) {
            this.#inString = false;
            j = q;
            break;
          }
          j = q + 1;
        }
        i = j;
        continue;
      }
      if (b === QUOTE) {
        this.#inString = true;
      } else if (b === OPEN_OBJ || b === OPEN_ARR) {
        if (++this.#depth > this.#maxDepth) {
          return this.#fail(`message nested deeper than ${this.#maxDepth}`);
        }
        this.#closers.push(b === OPEN_OBJ ? CLOSE_OBJ : CLOSE_ARR);
      } else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        if (this.#closers.pop() !== b) {
          return this.#fail(`mismatched ${String.fromCharCode(b)} in message`);
        }
        if (--this.#depth === 0) {
          const end = i + 1;
          if (this.#pendingBytes + (end - start) > this.#max) {
            return this.#fail(`message larger than ${this.#max} bytes`);
          }
          out.push(this.#parse(chunk.subarray(start, end)));
          start = -1;
        }
      }
    }
    if (this.#depth > 0 && start >= 0) {
      const rest = chunk.subarray(start);
      if (this.#pendingBytes + rest.length > this.#max) {
        return this.#fail(`message larger than ${this.#max} bytes`);
      }
      this.#pending.push(this.#decode(rest, true));
      this.#pendingBytes += rest.length;
    }
    return out;
  }

  #decode(bytes: Uint8Array, stream: boolean): string {
    try {
      return this.#decoder.decode(bytes, { stream });
    } catch (cause) {
      return this.#fail("message is not valid UTF-8", cause);
    }
  }

  #parse(tail: Uint8Array): unknown {
    const bytes = this.#pendingBytes + tail.length;
    let text = this.#decode(tail, false);
    if (this.#pending.length > 0) {
      this.#pending.push(text);
      text = this.#pending.join("");
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    if (bytes >= this.#lazyFrom) return new LazyJson(text, 0, text.length, this.#lazyValue);
    return this.#json(text);
  }

  #json(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (cause) {
      return this.#fail(`message is not valid JSON: ${(cause as Error).message}`, cause);
    }
  }

  #fail(message: string, cause?: unknown): never {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#error = new FramingError(message, cause === undefined ? undefined : { cause });
    throw this.#error;
  }
}
