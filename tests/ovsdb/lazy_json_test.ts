/** LazyJson: member-by-member parsing of large messages agrees with JSON.parse. */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { eager, FramingError, LazyJson, members } from "../../src/ovsdb/mod.ts";
import { uniform } from "../fuzz/prng.ts";

const NASTY = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "é", "€", "😀", "\n", "\u0001", "a"];

function randomString(rand: () => number): string {
  let s = "";
  const n = Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) s += NASTY[Math.floor(rand() * NASTY.length)];
  return s;
}

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 3 || r < 0.3) {
    const k = Math.floor(rand() * 6);
    return [
      randomString(rand),
      Math.floor(rand() * 1e6) - 5e5,
      rand() * 100,
      true,
      false,
      null,
    ][k];
  }
  if (r < 0.6) {
    return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
  }
  const o: Record<string, unknown> = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) o[randomString(rand) + i] = randomValue(rand, depth + 1);
  return o;
}

/** Parses everything a LazyJson holds, through entries() and items() only. */
function materialize(v: unknown): unknown {
  if (!(v instanceof LazyJson)) return v;
  if (v.isObject) return Object.fromEntries([...v.entries()].map(([k, x]) => [k, materialize(x)]));
  return v.items().map(materialize);
}

Deno.test("LazyJson: entries and items agree with JSON.parse on random values", () => {
  const rand = uniform(7);
  let lazySeen = 0;
  for (let i = 0; i < 400; i++) {
    const value = { top: randomValue(rand, 0), list: [randomValue(rand, 0), randomValue(rand, 1)] };
    const text = JSON.stringify(value, null, i % 3 === 0 ? 2 : i % 3 === 1 ? "\t" : undefined);
    const lazy = new LazyJson(text, 0, text.length, 1 + (i % 40));
    assertEquals(materialize(lazy), JSON.parse(text));
    assertEquals(lazy.parse(), JSON.parse(text));
    for (const [, x] of lazy.entries()) if (x instanceof LazyJson) lazySeen++;
  }
  assert(lazySeen > 100, "nested values stayed lazy");
});

Deno.test("LazyJson: a span inside a larger text, small members parsed, large ones lazy", () => {
  const text = `xx{"a": 1, "big": {"k": [1, 2, 3, "${"y".repeat(100)}"]}, "s": "}"} tail`;
  const start = 2, end = text.indexOf(" tail");
  const lazy = new LazyJson(text, start, end, 50);
  const got = [...lazy.entries()];
  assertEquals(got[0], ["a", 1]);
  assert(got[1][1] instanceof LazyJson);
  assertEquals((got[1][1] as LazyJson).parse(), { k: [1, 2, 3, "y".repeat(100)] });
  assertEquals(got[2], ["s", "}"]);
  assertEquals(eager(got[1][1]), { k: [1, 2, 3, "y".repeat(100)] });
  assertEquals([...members(lazy)!].length, 3);
  assertEquals([...members({ x: 1 })!], [["x", 1]]);
  assertEquals(members([1]), undefined);
  assertEquals(members(new LazyJson("[1]")), undefined);
  assertEquals(eager(3), 3);
});

Deno.test("LazyJson: malformed text is a FramingError when it is read", () => {
  const bad = [
    '{"a" 1}',
    '{"a": 1,}',
    '{"a": 1 "b": 2}',
    "{a: 1}",
    '{"a": [1, 2}',
    '{"a": "unterminated}',
    '{"a": tru}',
    "[1 2]",
    "[1,]",
  ];
  for (const text of bad) {
    assertThrows(() => materialize(new LazyJson(text, 0, text.length, 1)), FramingError);
  }
  assertThrows(() => new LazyJson(' {"a": 1}'), FramingError);
  assertThrows(() => [...new LazyJson("[1]").entries()], FramingError);
  assertThrows(() => new LazyJson("{}").items(), FramingError);
});

Deno.test("LazyJson: duplicate member names are all seen, in order", () => {
  const lazy = new LazyJson('{"u": 1, "u": 2}');
  assertEquals([...lazy.entries()], [["u", 1], ["u", 2]]);
});
