/**
 * What each Logical_Switch_Port contributes (its tenant and prefix texts), keyed by row uuid,
 * in typed arrays: about 45 bytes a port (33 per slot; Deno's V8 has 8-byte pointers) where a
 * `Map` of objects costs about 130 and the OVSDB row cache about 220.
 * @module
 */

/** A port's contribution: its tenant and its prefix texts (one prefix: the text itself). */
export interface PortEntry {
  readonly tenant: string;
  readonly prefixes: string | readonly string[];
}

const EMPTY = 0;
const USED = 1;
const MIN_CAPACITY = 64;
/** Grow above this load; linear probing stays short below it with random uuids. */
const MAX_LOAD = 0.75;

/** The value of hex digit `c` (a char code, lowercase only), or -1. */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Parses a canonical lowercase uuid (`8-4-4-4-12` hex digits, as ovsdb-server writes them)
 * into `out[0..3]`; false for any other string.
 */
function parseUuid(s: string, out: Int32Array): boolean {
  if (s.length !== 36) return false;
  let word = 0, w = 0, digits = 0;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
      continue;
    }
    const v = nibble(c);
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++digits === 8) {
      out[w++] = word;
      word = 0;
      digits = 0;
    }
  }
  return true;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The canonical text of a uuid from its four words. */
function formatUuid(k: Int32Array, at: number): string {
  const a = hex8(k[at]), b = hex8(k[at + 1]), c = hex8(k[at + 2]), d = hex8(k[at + 3]);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

/**
 * A map from port uuid to {@link PortEntry}. Canonical uuids are kept as four 32-bit words in
 * an open-addressing table (linear probing, deletion by backward shift, so no tombstones pile
 * up under churn); the tenant and prefixes sit in two plain arrays beside it, pointing at
 * strings the index already holds. Any other key (tests, a non-conforming server) goes to a
 * plain `Map`.
 */
export class PortTable {
  #capacity = MIN_CAPACITY;
  #used = 0;
  #keys = new Int32Array(MIN_CAPACITY * 4);
  #state = new Uint8Array(MIN_CAPACITY);
  #tenants: (string | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);
  #prefixes: (string | readonly string[] | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);
  readonly #other = new Map<string, PortEntry>();
  /** The words of {@link PortTable.#keyOf}'s last uuid (a lookup is mostly followed by a set). */
  readonly #key = new Int32Array(4);
  #keyText: string | undefined;
  #keyCanonical = false;

  /** Number of ports. */
  get size(): number {
    return this.#used + this.#other.size;
  }

  /** Slots allocated in the table (for tests and memory estimates). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Puts the words of `uuid` in `#key`; false when it is not a canonical uuid. */
  #keyOf(uuid: string): boolean {
    if (uuid !== this.#keyText) {
      this.#keyCanonical = parseUuid(uuid, this.#key);
      this.#keyText = uuid;
    }
    return this.#keyCanonical;
  }

  #home(k: Int32Array, at: number): number {
    return ((k[at] ^ k[at + 3]) >>> 0) % this.#capacity;
  }

  /** The slot holding the key in `#key`, or -1 - (the empty slot where it would go). */
  #find(): number {
    const key = this.#key, keys = this.#keys, state = this.#state, cap = this.#capacity;
    for (let i = this.#home(key, 0);; i = i + 1 === cap ? 0 : i + 1) {
      if (state[i] === EMPTY) return -1 - i;
      const at = i * 4;
      if (
        keys[at] === key[0] && keys[at + 1] === key[1] && keys[at + 2] === key[2] &&
        keys[at + 3] === key[3]
      ) return i;
    }
  }

  /** The entry of port `uuid`. */
  get(uuid: string): PortEntry | undefined {
    if (!this.#keyOf(uuid)) return this.#other.get(uuid);
    const i = this.#find();
    if (i < 0) return undefined;
    return { tenant: this.#tenants[i]!, prefixes: this.#prefixes[i]! };
  }

  /** Sets the entry of port `uuid`. */
  set(uuid: string, entry: PortEntry): void {
    if (!this.#keyOf(uuid)) {
      this.#other.set(uuid, entry);
      return;
    }
    let i = this.#find();
    if (i < 0) {
      if (this.#used + 1 > this.#capacity * MAX_LOAD) {
        this.#resize(Math.ceil(this.#capacity * 1.5));
        i = this.#find();
      }
      i = -1 - i;
      this.#keys.set(this.#key, i * 4);
      this.#state[i] = USED;
      this.#used++;
    }
    this.#tenants[i] = entry.tenant;
    this.#prefixes[i] = entry.prefixes;
  }

  /** Removes port `uuid`; true when it was there. */
  delete(uuid: string): boolean {
    if (!this.#keyOf(uuid)) return this.#other.delete(uuid);
    const i = this.#find();
    if (i < 0) return false;
    this.#removeAt(i);
    this.#used--;
    if (this.#capacity > MIN_CAPACITY && this.#used < this.#capacity / 4) {
      this.#resize(Math.max(MIN_CAPACITY, Math.ceil(this.#used / (MAX_LOAD / 1.5))));
    }
    return true;
  }

  /** Empties slot `i` and shifts back the entries after it that probed past it. */
  #removeAt(i: number): void {
    const keys = this.#keys, state = this.#state, cap = this.#capacity;
    for (let j = i + 1 === cap ? 0 : i + 1; state[j] !== EMPTY; j = j + 1 === cap ? 0 : j + 1) {
      const home = this.#home(keys, j * 4);
      // The entry at j may move to i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      keys.copyWithin(i * 4, j * 4, j * 4 + 4);
      this.#tenants[i] = this.#tenants[j];
      this.#prefixes[i] = this.#prefixes[j];
      i = j;
    }
    state[i] = EMPTY;
    this.#tenants[i] = undefined;
    this.#prefixes[i] = undefined;
  }

  #resize(capacity: number): void {
    const keys = this.#keys, state = this.#state;
    const tenants = this.#tenants, prefixes = this.#prefixes, old = this.#capacity;
    this.#capacity = capacity;
    const next = this.#keys = new Int32Array(capacity * 4);
    this.#state = new Uint8Array(capacity);
    this.#tenants = new Array(capacity).fill(undefined);
    this.#prefixes = new Array(capacity).fill(undefined);
    for (let s = 0; s < old; s++) {
      if (state[s] === EMPTY) continue;
      let i = this.#home(keys, s * 4);
      while (this.#state[i] !== EMPTY) i = i + 1 === capacity ? 0 : i + 1;
      for (let w = 0; w < 4; w++) next[i * 4 + w] = keys[s * 4 + w];
      this.#state[i] = USED;
      this.#tenants[i] = tenants[s];
      this.#prefixes[i] = prefixes[s];
    }
  }

  /** The uuids of all ports (a snapshot: the table may be changed while iterating it). */
  uuids(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#capacity; i++) {
      if (this.#state[i] !== EMPTY) out.push(formatUuid(this.#keys, i * 4));
    }
    for (const k of this.#other.keys()) out.push(k);
    return out;
  }
}
