import { assert, assertEquals } from "../support/assert.ts";
import { eager, FramingError, JsonFramer, LazyJson } from "../../src/ovsdb/mod.ts";

const enc = new TextEncoder();

function feedAll(framer: JsonFramer, text: string, chunk: number): unknown[] {
  const bytes = enc.encode(text);
  const out: unknown[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    out.push(...framer.push(bytes.subarray(i, i + chunk)));
  }
  return out;
}

Deno.test("framing: back-to-back values, any chunking, strings with brackets and escapes", () => {
  const values = [
    { id: 1, result: ["a}", "b]", '"{[', "\\"], error: null },
    { method: "update3", params: ["m", "x", { T: { u: { insert: { name: "é✓😀" } } } }], id: null },
    [1, [2, [3, {}]]],
    { s: '\\\\"}' },
  ];
  const text = values.map((v) => JSON.stringify(v)).join("") + "\n " +
    JSON.stringify(values[0]) + "\r\n\t";
  const expected = [...values, values[0]];
  for (const chunk of [1, 2, 3, 7, 64, 100000]) {
    assertEquals(feedAll(new JsonFramer(), text, chunk), expected, `chunk size ${chunk}`);
  }
});

Deno.test("framing: malformed input is a FramingError and poisons the framer", () => {
  for (const bad of ['garbage{"a":1}', '{"a":]', '{"a":1,}', '{"a": tru}', "]"]) {
    const f = new JsonFramer();
    let err: unknown;
    try {
      f.push(enc.encode(bad));
    } catch (e) {
      err = e;
    }
    assert(err instanceof FramingError, `no FramingError for ${bad}`);
    let again: unknown;
    try {
      f.push(enc.encode("{}"));
    } catch (e) {
      again = e;
    }
    assert(again instanceof FramingError, "framer stays failed");
  }
});

Deno.test("framing: invalid UTF-8 is rejected", () => {
  const f = new JsonFramer();
  let err: unknown;
  try {
    f.push(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]));
  } catch (e) {
    err = e;
  }
  assert(err instanceof FramingError && err.message.includes("UTF-8"));
});

Deno.test("framing: size cap bounds buffered bytes, also across chunks", () => {
  const f = new JsonFramer({ maxMessageBytes: 1000 });
  assertEquals(f.push(enc.encode(JSON.stringify({ a: "x".repeat(900) }))).length, 1);
  let err: unknown;
  try {
    f.push(enc.encode('{"a":"'));
    for (let i = 0; i < 100; i++) {
      f.push(enc.encode("y".repeat(100)));
      assert(f.bufferedBytes <= 1000);
    }
  } catch (e) {
    err = e;
  }
  assert(err instanceof FramingError && err.message.includes("larger than 1000"));
  assertEquals(f.bufferedBytes, 0);
});

Deno.test("framing: nesting depth is capped", () => {
  const f = new JsonFramer({ maxDepth: 50 });
  let err: unknown;
  try {
    f.push(enc.encode("[".repeat(51)));
  } catch (e) {
    err = e;
  }
  assert(err instanceof FramingError && err.message.includes("deeper"));
});

Deno.test("framing: randomized strings of quotes, backslashes and brackets, random chunking", () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['"', "\\", "{", "}", "[", "]", "a", " ", "é", "\n"];
  for (let round = 0; round < 200; round++) {
    const values = Array.from({ length: 1 + rnd(4) }, () => ({
      s: Array.from({ length: rnd(30) }, () => alphabet[rnd(alphabet.length)]).join(""),
      a: [Array.from({ length: rnd(5) }, () => alphabet[rnd(alphabet.length)]).join("")],
    }));
    const bytes = enc.encode(values.map((v) => JSON.stringify(v)).join(""));
    const f = new JsonFramer();
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length;) {
      const step = 1 + rnd(9);
      out.push(...f.push(bytes.subarray(i, i + step)));
      i += step;
    }
    assertEquals(out, values, `round ${round}`);
  }
});

Deno.test("framing: large messages come out as LazyJson, split UTF-8 and all", () => {
  const small = { id: 1, result: "ok", error: null };
  const big = {
    id: null,
    method: "update3",
    params: ["m", "t", {
      T: Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`u${i}`, { insert: { name: `é✓😀${i}"]}` } }]),
      ),
    }],
  };
  const text = JSON.stringify(small) + JSON.stringify(big) + JSON.stringify(small);
  // Chunk sizes that cut the multi-byte characters at every position.
  for (const chunk of [1, 2, 3, 5, 7, 64, 100000]) {
    const out = feedAll(new JsonFramer({ lazyFromBytes: 200, lazyValueChars: 16 }), text, chunk);
    assertEquals(out.length, 3);
    assertEquals(out[0], small);
    assertEquals(out[2], small);
    assert(out[1] instanceof LazyJson, `chunk ${chunk}: lazy`);
    assertEquals(out[1].parse(), big, `chunk ${chunk}`);
    const params = Object.fromEntries(out[1].entries()).params;
    assert(params instanceof LazyJson);
    assertEquals(eager(params.items()[2]), big.params[2]);
  }
});

Deno.test("framing: invalid UTF-8 is rejected in large messages too", () => {
  const f = new JsonFramer({ lazyFromBytes: 8 });
  const head = enc.encode('{"a":"xxxxxxxx');
  let err: unknown;
  try {
    f.push(head);
    f.push(new Uint8Array([0xe2, 0x82])); // truncated 3-byte sequence...
    f.push(enc.encode('"}')); // ...ended by the closing quote
  } catch (e) {
    err = e;
  }
  assert(err instanceof FramingError && err.message.includes("UTF-8"), String(err));
});
