/**
 * Mutators: byte level (bit flips, interesting values, truncation, splice, length-field
 * corruption), text level (line and token edits) and JSON level (type swaps, key removal,
 * deep nesting, oversized values). All take the PRNG, so a seed replays the same inputs.
 * @module
 */
import type { Rng } from "./prng.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Values that break length and offset arithmetic. */
export const INTERESTING_32 = [
  0,
  1,
  3,
  4,
  7,
  8,
  15,
  16,
  17,
  20,
  0x7f,
  0x80,
  0xff,
  0x100,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7ffffffd,
  0x7fffffff,
  0x80000000,
  0x80000001,
  0xfffffffc,
  0xffffffff,
];

/** Overwrites a little-endian u16 or u32 at an offset (aligned or not) with an edge value. */
export function corruptLengthField(input: Uint8Array, rng: Rng): Uint8Array {
  if (input.length < 2) return input;
  const out = input.slice();
  const wide = out.length >= 4 && rng.chance(0.5);
  const size = wide ? 4 : 2;
  const aligned = rng.chance(0.7);
  let off = rng.int(out.length - size + 1);
  if (aligned) off -= off % size;
  const view = new DataView(out.buffer);
  const current = wide ? view.getUint32(off, true) : view.getUint16(off, true);
  const choices = [
    ...INTERESTING_32,
    current + 1,
    current - 1,
    current + 4,
    current * 2,
    out.length,
    out.length - off,
    out.length - off + 1,
  ];
  const v = rng.pick(choices) >>> 0;
  if (wide) view.setUint32(off, v, true);
  else view.setUint16(off, v & 0xffff, true);
  return out;
}

/** One random byte-level mutation; `others` supplies material for splices. */
export function mutateBytes(
  input: Uint8Array,
  rng: Rng,
  others: readonly Uint8Array[],
): Uint8Array {
  const n = input.length;
  switch (rng.int(10)) {
    case 0: { // bit flips
      if (n === 0) return rng.bytes(rng.range(1, 16));
      const out = input.slice();
      for (let k = rng.range(1, 4); k > 0; k--) out[rng.int(n)] ^= 1 << rng.int(8);
      return out;
    }
    case 1: { // interesting byte
      if (n === 0) return input;
      const out = input.slice();
      out[rng.int(n)] = rng.pick([
        0,
        1,
        0x7f,
        0x80,
        0xff,
        0x22,
        0x5c,
        0x7b,
        0x7d,
        0x5b,
        0x5d,
        0x0a,
      ]);
      return out;
    }
    case 2: // truncation
      return input.slice(0, rng.int(n + 1));
    case 3: { // delete a range
      if (n === 0) return input;
      const a = rng.int(n);
      const b = Math.min(n, a + rng.range(1, Math.max(1, n >> 2)));
      return concat(input.subarray(0, a), input.subarray(b));
    }
    case 4: { // duplicate a range
      if (n === 0) return input;
      const a = rng.int(n);
      const b = Math.min(n, a + rng.range(1, 64));
      const at = rng.int(n + 1);
      return concat(input.subarray(0, at), input.subarray(a, b), input.subarray(at));
    }
    case 5: { // insert random bytes
      const at = rng.int(n + 1);
      return concat(input.subarray(0, at), rng.bytes(rng.range(1, 16)), input.subarray(at));
    }
    case 6: // splice with another corpus entry
    case 7: {
      const other = others.length > 0 ? rng.pick(others) : input;
      const a = rng.int(n + 1);
      const b = rng.int(other.length + 1);
      return concat(input.subarray(0, a), other.subarray(b));
    }
    case 8:
      return corruptLengthField(input, rng);
    default: { // merge: append another entry whole
      const other = others.length > 0 ? rng.pick(others) : input;
      return concat(input, other);
    }
  }
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Tokens that are meaningful to YAML, FRR configuration or addresses. */
const TEXT_TOKENS = [
  "\n",
  " ",
  "  ",
  "\t",
  "!",
  "#",
  ":",
  "- ",
  "&a ",
  "*a",
  "<<: *a",
  "!!binary ",
  "!!str ",
  "!!int ",
  "? ",
  "|",
  ">",
  "{",
  "}",
  "[",
  "]",
  ",",
  "'",
  '"',
  "\\",
  "~",
  "null",
  "true",
  "0x10",
  "1e309",
  "-1",
  "4294967296",
  "0.0.0.0/0",
  "::/0",
  "10.0.0.0/8",
  "fd00::/8",
  "255.255.255.255/32",
  "1.2.3.4/33",
  "::ffff:1.2.3.4",
  "exit",
  "exit-vrf",
  "end",
  "exit-address-family",
  "address-family ipv4 unicast",
  "router bgp 65000 vrf x",
  "route-map VPNV4-x-V4 permit 10",
  "ip prefix-list VPNV4-x-V4 seq 5 permit 10.0.0.0/8",
  "\u0000",
  "\u00e9",
  "\u202e",
  "\ud83d\ude00",
  "\ufeff",
  "\r",
];

/** One random text-level mutation (lines and tokens); falls back to bytes sometimes. */
export function mutateText(text: string, rng: Rng, others: readonly string[]): string {
  const lines = text.split("\n");
  switch (rng.int(8)) {
    case 0: { // delete a line
      lines.splice(rng.int(lines.length), 1);
      return lines.join("\n");
    }
    case 1: { // duplicate a line
      const i = rng.int(lines.length);
      lines.splice(rng.int(lines.length + 1), 0, lines[i]);
      return lines.join("\n");
    }
    case 2: { // swap lines
      const i = rng.int(lines.length);
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join("\n");
    }
    case 3: { // re-indent a line
      const i = rng.int(lines.length);
      const l = lines[i].trimStart();
      lines[i] = " ".repeat(rng.int(5)) + l;
      return lines.join("\n");
    }
    case 4: { // take a line from another document
      if (others.length === 0) return text;
      const o = rng.pick(others).split("\n");
      lines.splice(rng.int(lines.length + 1), 0, rng.pick(o));
      return lines.join("\n");
    }
    case 5: { // replace a word
      const words = text.split(/(\s+)/);
      const i = rng.int(words.length);
      words[i] = rng.pick(TEXT_TOKENS);
      return words.join("");
    }
    case 6: { // insert a token
      const at = rng.int(text.length + 1);
      return text.slice(0, at) + rng.pick(TEXT_TOKENS) + text.slice(at);
    }
    default: {
      const others8 = others.map((o) => encoder.encode(o));
      return decoder.decode(mutateBytes(encoder.encode(text), rng, others8));
    }
  }
}

/** Replacement values for JSON type swaps. */
function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 4294967296]);
    case 3:
      return rng.pick(["", "uuid", "set", "map", "named-uuid", "10.0.0.1", "x".repeat(300)]);
    case 4:
      return rng.pick(["set", "map", "uuid"]);
    case 5:
      return "\u0000\n!#";
    case 6:
      return [rng.pick(["set", "map", "uuid", "named-uuid"]), randomJson(rng, depth + 1)];
    case 7:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) {
        o[
          rng.pick([
            "id",
            "method",
            "params",
            "result",
            "error",
            "new",
            "old",
            "insert",
            "modify",
            "delete",
            "initial",
            "x",
          ])
        ] = randomJson(rng, depth + 1);
      }
      return o;
    }
  }
}

/** Every container path of a JSON value (for picking a node to mutate). */
function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
  budget = { n: 2000 },
): (string | number)[][] {
  if (budget.n-- <= 0) return out;
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out, budget));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out, budget);
  }
  return out;
}

function getAt(root: unknown, path: (string | number)[]): unknown {
  let v = root;
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  return v;
}

/** One random structural mutation of a JSON value (returns a new value). */
export function mutateJson(value: unknown, rng: Rng): unknown {
  const root = structuredClone({ v: value });
  const all = paths(root.v).map((p) => ["v", ...p]);
  const path = rng.pick(all);
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path[path.length - 1];
  const node = parent[key];
  switch (rng.int(7)) {
    case 0: // type swap
      parent[key] = randomJson(rng);
      break;
    case 1: // delete
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case 2: // wrap deeply
      parent[key] = Array.from({ length: rng.range(1, 40) }).reduce((acc) => [acc], node);
      break;
    case 3: // oversized string / array
      parent[key] = rng.chance(0.5)
        ? "A".repeat(rng.range(1000, 200_000))
        : new Array(rng.range(100, 5000)).fill(node ?? 0);
      break;
    case 4: // add a key or element
      if (Array.isArray(node)) node.push(randomJson(rng));
      else if (node && typeof node === "object") {
        (node as Record<string, unknown>)[
          rng.pick([
            "id",
            "method",
            "params",
            "error",
            "result",
            "_uuid",
            "addresses",
            "external_ids",
            "x",
          ])
        ] = randomJson(rng);
      } else parent[key] = [node, randomJson(rng)];
      break;
    case 5: // stringify / number-ify
      parent[key] = typeof node === "string"
        ? (Number(node) || node.length)
        : JSON.stringify(node) ?? "undefined";
      break;
    default: // duplicate a sibling
      if (Array.isArray(parent)) parent.push(structuredClone(node));
      else parent[`${String(key)}`] = structuredClone(node);
  }
  return root.v;
}
