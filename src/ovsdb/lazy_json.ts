/**
 * Large JSON messages held as text and parsed piece by piece: a 100,000-row monitor reply is
 * about 20 MB of text, and parsed at once about 80 MB of objects more, all alive while the
 * cache decodes it. Held lazily, each row is parsed when the cache reaches it and is garbage
 * right after. Pure: no I/O.
 * @module
 */
import { FramingError } from "./framing_error.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;

/** Values nested in a {@link LazyJson} of at least this many characters stay lazy (64 KiB). */
export const DEFAULT_LAZY_VALUE_CHARS = 64 * 1024;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWs(t: string, i: number, end: number): number {
  while (i < end && isWs(t.charCodeAt(i))) i++;
  return i;
}

function bad(what: string, at: number): never {
  throw new FramingError(`malformed JSON at offset ${at}: ${what}`);
}

/** Index after the string whose opening quote is at `i`. */
function skipString(t: string, i: number, end: number): number {
  let from = i + 1;
  for (;;) {
    const q = t.indexOf('"', from);
    if (q < 0 || q >= end) return bad("unterminated string", i);
    let k = q;
    while (k > from && t.charCodeAt(k - 1) === BACKSLASH) k--;
    if (((q - k) & 1) === 0) return q + 1;
    from = q + 1;
  }
}

/** Index after the value starting at `i` (no whitespace before it). */
function skipValue(t: string, i: number, end: number): number {
  if (i >= end) return bad("value expected", i);
  const c = t.charCodeAt(i);
  if (c === QUOTE) return skipString(t, i, end);
  if (c === OPEN_OBJ || c === OPEN_ARR) {
    let depth = 0;
    for (let j = i; j < end; j++) {
      const b = t.charCodeAt(j);
      if (b === QUOTE) j = skipString(t, j, end) - 1;
      else if (b === OPEN_OBJ || b === OPEN_ARR) depth++;
      else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        if (--depth === 0) return j + 1;
      }
    }
    return bad("unterminated object or array", i);
  }
  // Number or literal: up to the next delimiter; JSON.parse checks it.
  let j = i;
  while (j < end) {
    const b = t.charCodeAt(j);
    if (b === COMMA || b === CLOSE_OBJ || b === CLOSE_ARR || isWs(b)) break;
    j++;
  }
  if (j === i) return bad("value expected", i);
  return j;
}

function parseSpan(t: string, start: number, end: number): unknown {
  try {
    return JSON.parse(t.slice(start, end));
  } catch (cause) {
    throw new FramingError(`malformed JSON at offset ${start}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * A JSON object or array kept as (a span of) its text. {@link LazyJson.entries} and
 * {@link LazyJson.items} parse one member at a time: members shorter than the lazy threshold
 * come parsed, longer objects and arrays as LazyJson again. Keys and parsed values never share
 * memory with the text, so nothing keeps the text alive once the LazyJson is dropped.
 */
export class LazyJson {
  /** The whole text the value is part of. */
  readonly text: string;
  /** Offset of the opening bracket. */
  readonly start: number;
  /** Offset after the closing bracket. */
  readonly end: number;
  /** Nested objects and arrays of at least this many characters stay lazy. */
  readonly lazyFrom: number;

  /** `text.slice(start, end)` must be one object or array (checked as it is read). */
  constructor(text: string, start = 0, end = text.length, lazyFrom = DEFAULT_LAZY_VALUE_CHARS) {
    const c = text.charCodeAt(start);
    if (c !== OPEN_OBJ && c !== OPEN_ARR) bad("object or array expected", start);
    this.text = text;
    this.start = start;
    this.end = end;
    this.lazyFrom = lazyFrom;
  }

  /** Whether the value is an object (else an array). */
  get isObject(): boolean {
    return this.text.charCodeAt(this.start) === OPEN_OBJ;
  }

  /** Parses the whole value (as `JSON.parse` would). */
  parse(): unknown {
    return parseSpan(this.text, this.start, this.end);
  }

  #value(i: number, j: number): unknown {
    const c = this.text.charCodeAt(i);
    if (j - i >= this.lazyFrom && (c === OPEN_OBJ || c === OPEN_ARR)) {
      return new LazyJson(this.text, i, j, this.lazyFrom);
    }
    return parseSpan(this.text, i, j);
  }

  /** The members of an object, in text order; throws {@link FramingError} for an array. */
  *entries(): Generator<[string, unknown]> {
    const t = this.text, end = this.end;
    if (!this.isObject) bad("object expected", this.start);
    let i = skipWs(t, this.start + 1, end);
    if (t.charCodeAt(i) === CLOSE_OBJ) return;
    for (;;) {
      if (t.charCodeAt(i) !== QUOTE) bad("member name expected", i);
      const keyEnd = skipString(t, i, end);
      const key = parseSpan(t, i, keyEnd) as string;
      i = skipWs(t, keyEnd, end);
      if (t.charCodeAt(i) !== COLON) bad("':' expected", i);
      i = skipWs(t, i + 1, end);
      const valueEnd = skipValue(t, i, end);
      yield [key, this.#value(i, valueEnd)];
      i = skipWs(t, valueEnd, end);
      const c = t.charCodeAt(i);
      if (c === COMMA) i = skipWs(t, i + 1, end);
      else if (c === CLOSE_OBJ) return;
      else bad("',' or '}' expected", i);
    }
  }

  /** The elements of an array; throws {@link FramingError} for an object. */
  items(): unknown[] {
    const t = this.text, end = this.end;
    if (this.isObject) bad("array expected", this.start);
    const out: unknown[] = [];
    let i = skipWs(t, this.start + 1, end);
    if (t.charCodeAt(i) === CLOSE_ARR) return out;
    for (;;) {
      const valueEnd = skipValue(t, i, end);
      out.push(this.#value(i, valueEnd));
      i = skipWs(t, valueEnd, end);
      const c = t.charCodeAt(i);
      if (c === COMMA) i = skipWs(t, i + 1, end);
      else if (c === CLOSE_ARR) return out;
      else bad("',' or ']' expected", i);
    }
  }
}

/** The value itself, or a {@link LazyJson} parsed whole. */
export function eager(value: unknown): unknown {
  return value instanceof LazyJson ? value.parse() : value;
}

/**
 * The members of an object, plain or {@link LazyJson} (values as {@link LazyJson.entries}
 * gives them); undefined for anything else.
 */
export function members(value: unknown): Iterable<[string, unknown]> | undefined {
  if (value instanceof LazyJson) return value.isObject ? value.entries() : undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return Object.entries(value);
}
