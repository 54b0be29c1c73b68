/**
 * PortTable against a plain Map through random sets and deletes (growing and shrinking the
 * table, canonical and other keys), and probe chains that wrap around the table's end.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type PortEntry, PortTable } from "../../src/ovn/port_table.ts";
import { uniform } from "../fuzz/prng.ts";

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(8, "0").slice(8 - width);
}

/** A canonical uuid from four 32-bit words. */
function uuid(w0: number, w1: number, w2: number, w3: number): string {
  const b = hex(w1, 8), c = hex(w2, 8);
  return `${hex(w0, 8)}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${hex(w3, 8)}`;
}

function check(table: PortTable, model: Map<string, PortEntry>, what: string): void {
  assertEquals(table.size, model.size, `${what}: size`);
  assertEquals(table.uuids().sort(), [...model.keys()].sort(), `${what}: uuids`);
  for (const [k, v] of model) assertEquals(table.get(k), v, `${what}: get ${k}`);
}

Deno.test("port table: same answers as a Map through growth, churn and shrinking", () => {
  for (const seed of [1, 2, 3]) {
    const rand = uniform(seed);
    const word = () => Math.floor(rand() * 2 ** 32) | 0;
    // A pool of keys: mostly canonical uuids, some other strings (uppercase, short, junk).
    const pool: string[] = [];
    for (let i = 0; i < 3000; i++) pool.push(uuid(word(), word(), word(), word()));
    for (let i = 0; i < 40; i++) pool.push(pool[i].toUpperCase(), `port-${i}`);
    pool.push("0000000g-0000-0000-0000-000000000000", "00000000_0000-0000-0000-000000000000");
    const table = new PortTable();
    const model = new Map<string, PortEntry>();
    let maxCapacity = 0, shrunk = false;
    for (let step = 0; step < 20000; step++) {
      // Grow for 8,000 steps, then mostly delete.
      const adding = rand() < (step < 8000 ? 0.8 : 0.3);
      const key = adding || model.size === 0
        ? pool[Math.floor(rand() * pool.length)]
        : [...model.keys()][Math.floor(rand() * model.size)];
      if (adding) {
        const n = Math.floor(rand() * 3);
        const entry: PortEntry = {
          tenant: `ns-${Math.floor(rand() * 50)}`,
          prefixes: n === 1 ? `10.0.0.${step & 255}/32` : Array.from({ length: n }, String),
        };
        table.set(key, entry);
        model.set(key, entry);
      } else {
        assertEquals(table.delete(key), model.delete(key), `seed ${seed} step ${step} delete`);
      }
      maxCapacity = Math.max(maxCapacity, table.capacity);
      if (table.capacity < maxCapacity) shrunk = true;
      assertEquals(table.size, model.size, `seed ${seed} step ${step} size`);
      if (step % 997 === 0) check(table, model, `seed ${seed} step ${step}`);
      if (rand() < 0.02) assertEquals(table.get(pool[0]), model.get(pool[0]));
    }
    check(table, model, `seed ${seed} end`);
    assert(maxCapacity >= 2048 && shrunk, `seed ${seed}: grew to ${maxCapacity} and shrank`);
    assert(table.size * 4 >= table.capacity || table.capacity === 64, "load after shrinking");
  }
});

Deno.test("port table: a probe chain wrapping past the last slot survives any deletion order", () => {
  // Homes are (w0 ^ w3) mod 64 while the table is at its initial 64 slots: all of these start
  // at slot 62 or 63, so the chain runs over the end to slots 0, 1, 2…
  const keys = [62, 63, 63 + 64, 62 + 128, 63 + 192, 62 + 256].map((w0, i) => uuid(w0, i, 0, 0));
  for (let order = 0; order < 24; order++) {
    const table = new PortTable();
    const model = new Map<string, PortEntry>();
    for (const k of keys) {
      const e = { tenant: "a", prefixes: k };
      table.set(k, e);
      model.set(k, e);
    }
    assertEquals(table.capacity, 64);
    // A different deletion order each round (rotations and reversals of the key list).
    const rotated = [...keys.slice(order % 6), ...keys.slice(0, order % 6)];
    const deletions = order >= 6 ? rotated.reverse() : rotated;
    for (const k of deletions.slice(0, 4)) {
      assert(table.delete(k));
      model.delete(k);
      check(table, model, `order ${order} after deleting ${k}`);
    }
    assertEquals(table.delete(deletions[0]), false);
  }
});
