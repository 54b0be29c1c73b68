/**
 * Reference-counted prefix texts of one tenant, sized for 10,000 tenants of a few prefixes each.
 * @module
 */

/** Above this many prefixes a tenant's set is a map (below it a sorted array is cheaper). */
export const SMALL_HELD_MAX = 16;

const EMPTY: readonly string[] = Object.freeze([]);

/** Index of `p` in the sorted `list`, or `-(insertion point) - 1`. */
function search(list: readonly string[], p: string): number {
  let lo = 0, hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = list[mid];
    if (v < p) lo = mid + 1;
    else if (v > p) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/**
 * The distinct prefixes one tenant's ports hold, each with the number of ports holding it.
 *
 * Up to {@link SMALL_HELD_MAX} prefixes they are a sorted array that is replaced, never
 * changed, so {@link HeldPrefixes.sorted} can hand the same array to the tenant's view (about
 * 100 bytes per tenant instead of a `Map` of 500); counts above one sit in a parallel array
 * that exists only while some prefix has one. Larger sets are a `Map` of counts.
 */
export class HeldPrefixes {
  /** The tenant (one string for it, which the index's per-port entries point at). */
  readonly tenant: string;
  #list: readonly string[] = EMPTY;
  #counts: number[] | undefined;
  #map: Map<string, number> | undefined;
  #sorted: readonly string[] | undefined;

  constructor(tenant: string) {
    this.tenant = tenant;
  }

  /** Number of distinct prefixes. */
  get size(): number {
    return this.#map ? this.#map.size : this.#list.length;
  }

  /** Adds one reference to `p`; true when `p` was not held before. */
  add(p: string): boolean {
    const map = this.#map;
    if (map) {
      const c = map.get(p) ?? 0;
      map.set(p, c + 1);
      if (c === 0) this.#sorted = undefined;
      return c === 0;
    }
    const list = this.#list;
    const at = search(list, p);
    if (at >= 0) {
      const counts = this.#counts ??= new Array<number>(list.length).fill(1);
      counts[at]++;
      return false;
    }
    const ins = -at - 1;
    if (list.length >= SMALL_HELD_MAX) {
      this.#toMap().set(p, 1);
      return true;
    }
    this.#list = list.toSpliced(ins, 0, p);
    this.#counts?.splice(ins, 0, 1);
    return true;
  }

  /**
   * Drops one reference to `p`: true when it was the last one, false when others remain,
   * undefined when `p` was not held.
   */
  remove(p: string): boolean | undefined {
    const map = this.#map;
    if (map) {
      const c = map.get(p);
      if (c === undefined) return undefined;
      if (c > 1) {
        map.set(p, c - 1);
        return false;
      }
      map.delete(p);
      this.#sorted = undefined;
      if (map.size <= SMALL_HELD_MAX / 2) this.#toList();
      return true;
    }
    const list = this.#list;
    const at = search(list, p);
    if (at < 0) return undefined;
    const counts = this.#counts;
    if (counts && counts[at] > 1) {
      counts[at]--;
      return false;
    }
    this.#list = list.length === 1 ? EMPTY : list.toSpliced(at, 1);
    if (counts) {
      counts.splice(at, 1);
      if (counts.every((c) => c === 1)) this.#counts = undefined;
    }
    return true;
  }

  /**
   * The prefixes, sorted by UTF-16 code units (as `Array.prototype.sort`). The same array is
   * returned until the set changes; callers must not modify it.
   */
  sorted(): readonly string[] {
    if (!this.#map) return this.#list;
    return this.#sorted ??= [...this.#map.keys()].sort();
  }

  #toMap(): Map<string, number> {
    const map = new Map<string, number>();
    const list = this.#list, counts = this.#counts;
    for (let i = 0; i < list.length; i++) map.set(list[i], counts ? counts[i] : 1);
    this.#map = map;
    this.#list = EMPTY;
    this.#counts = undefined;
    this.#sorted = undefined;
    return map;
  }

  #toList(): void {
    const map = this.#map!;
    const list = [...map.keys()].sort();
    const counts = list.map((p) => map.get(p)!);
    this.#list = list;
    this.#counts = counts.every((c) => c === 1) ? undefined : counts;
    this.#map = undefined;
    this.#sorted = undefined;
  }
}
