/**
 * HeldPrefixes against a plain Map of counts, through random adds and removes that cross the
 * array/map threshold both ways; arrays handed out are never changed afterwards.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { HeldPrefixes, SMALL_HELD_MAX } from "../../src/ovn/held_prefixes.ts";
import { uniform } from "../fuzz/prng.ts";

Deno.test("held prefixes: same answers as a map of counts; handed-out arrays stay as handed out", () => {
  for (const seed of [1, 2, 3, 4]) {
    const rand = uniform(seed);
    const held = new HeldPrefixes("t");
    const model = new Map<string, number>();
    const handedOut: [readonly string[], string[]][] = [];
    let maxSize = 0, shrunkFromMap = false;
    // Growing then shrinking phases so the set crosses SMALL_HELD_MAX in both directions.
    for (let step = 0; step < 4000; step++) {
      const phase = Math.floor(step / 500) % 2;
      const adding = rand() < (phase === 0 ? 0.7 : 0.2);
      // Removals in the shrinking phase mostly hit held prefixes; some miss.
      const keys = [...model.keys()];
      const p = !adding && phase === 1 && keys.length > 0 && rand() < 0.9
        ? keys[Math.floor(rand() * keys.length)]
        : `10.0.${Math.floor(rand() * 3 * SMALL_HELD_MAX)}.1/32`;
      if (adding) {
        const c = model.get(p) ?? 0;
        model.set(p, c + 1);
        assertEquals(held.add(p), c === 0, `seed ${seed} step ${step} add ${p}`);
      } else {
        const c = model.get(p);
        const expected = c === undefined ? undefined : c === 1;
        if (c === 1) model.delete(p);
        else if (c !== undefined) model.set(p, c - 1);
        assertEquals(held.remove(p), expected, `seed ${seed} step ${step} remove ${p}`);
      }
      if (maxSize > SMALL_HELD_MAX && model.size <= SMALL_HELD_MAX / 2) shrunkFromMap = true;
      maxSize = Math.max(maxSize, model.size);
      assertEquals(held.size, model.size);
      const sorted = held.sorted();
      assertEquals([...sorted], [...model.keys()].sort(), `seed ${seed} step ${step}`);
      if (rand() < 0.05) handedOut.push([sorted, [...sorted]]);
    }
    assert(maxSize > SMALL_HELD_MAX && shrunkFromMap, `seed ${seed} crossed the threshold`);
    for (const [array, copy] of handedOut) assertEquals([...array], copy);
  }
});

Deno.test("held prefixes: the sorted array is the same object until the set changes", () => {
  const held = new HeldPrefixes("t");
  held.add("10.0.0.2/32");
  held.add("10.0.0.1/32");
  const a = held.sorted();
  assertEquals([...a], ["10.0.0.1/32", "10.0.0.2/32"]);
  assert(held.sorted() === a);
  assertEquals(held.add("10.0.0.1/32"), false); // a second port: only a count changes
  assert(held.sorted() === a);
  assertEquals(held.remove("10.0.0.1/32"), false);
  assertEquals(held.remove("10.0.0.1/32"), true);
  assert(held.sorted() !== a);
  assertEquals([...a], ["10.0.0.1/32", "10.0.0.2/32"]);
  assertEquals(held.remove("10.0.0.9/32"), undefined);
});
