/**
 * What FRR holds of the agent's configuration, kept between applies: the global instance,
 * the export policy (prefix-lists and route-maps) and, per VRF, the BGP instance, as FRR shows
 * them.
 *
 * Filled from a parsed `show running-config` (full resync) and updated with every batch FRR
 * accepted, so that a change of a few tenants is diffed against their blocks alone, without
 * reading (and parsing) the whole running-config again. FRR's own rendering of a block the
 * agent sent is the rendered block itself (the renderer writes FRR's display form and order,
 * which the incremental diff's fast path relies on as well).
 *
 * The global instance and the export policy are kept as read: a batch that changes them
 * makes the applier read running-config again.
 *
 * Memory: every block is copied out of the running-config text it was parsed from (a slice
 * would keep the whole text, megabytes at 10,000 VRFs, alive), and the per-VRF instances are
 * kept packed, one string each, and unpacked only when a diff needs them: at 10,000 VRFs
 * that is about 4 MB instead of 12 MB of block objects. Per-VRF objects of earlier versions are not
 * kept: the full apply that fills the cache removes them.
 * @module
 */
import type { ConfigBlock, DesiredTenant } from "./model.ts";
import { exportPolicyName } from "./render.ts";

const ROUTER_BGP = "router bgp ";
const POLICY_NAMES = new Set([exportPolicyName(4), exportPolicyName(6)]);

/** The agent-relevant part of FRR's configuration. */
export class RunningCache {
  /** The global `router bgp ASN` block as read (undefined when FRR had none). */
  readonly global?: ConfigBlock;
  /** The export policy's prefix-list entries and route-maps as read. */
  readonly policy: readonly ConfigBlock[];
  /** `router bgp ASN vrf X` blocks (the agent's or the operator's) by VRF, packed. */
  readonly #instances = new Map<string, string>();

  /** Indexes parsed running-config blocks; blocks the agent never diffs are dropped. */
  constructor(blocks: readonly ConfigBlock[]) {
    let global: ConfigBlock | undefined;
    const policy: ConfigBlock[] = [];
    for (const block of blocks) {
      const t = block.header.split(" ", 5);
      if (t[0] === "router" && t[1] === "bgp") {
        if (t.length === 3) global ??= block;
        else if (t.length === 5 && t[3] === "vrf") this.#instances.set(t[4], pack(block));
      } else if ((t[0] === "ip" || t[0] === "ipv6") && t[1] === "prefix-list") {
        if (POLICY_NAMES.has(t[2])) policy.push(block);
      } else if (t[0] === "route-map" && POLICY_NAMES.has(t[1])) {
        policy.push(block);
      }
    }
    this.global = global && unpack(pack(global));
    this.policy = policy.map((b) => unpack(pack(b)));
  }

  /** VRFs with a BGP instance in the cache. */
  get size(): number {
    return this.#instances.size;
  }

  /** Names of the VRFs with a BGP instance in the cache. */
  vrfs(): string[] {
    return [...this.#instances.keys()];
  }

  /**
   * A running-config made of the global instance, the export policy and the instances of
   * `vrfs` only, for {@link diffFrrConfig} with a desired state holding just these VRFs'
   * tenants.
   */
  blocksFor(vrfs: Iterable<string>): ConfigBlock[] {
    const out: ConfigBlock[] = this.global ? [this.global] : [];
    out.push(...this.policy);
    for (const vrf of vrfs) {
      const instance = this.#instances.get(vrf);
      if (instance !== undefined) out.push(unpack(instance));
    }
    return out;
  }

  /**
   * Records a batch FRR accepted: `lines` (the diff of `vrfs` against {@link blocksFor}) and
   * `desired`, the desired tenants of those VRFs by VRF name. Changes to the global instance
   * and the export policy are not tracked: after a batch that changed them the cache must be
   * read again.
   */
  record(
    lines: readonly string[],
    desired: ReadonlyMap<string, DesiredTenant>,
    vrfs: Iterable<string>,
  ): void {
    const sent = new Set(lines);
    for (const vrf of vrfs) {
      const want = desired.get(vrf);
      const packed = this.#instances.get(vrf);
      if (want) {
        this.#instances.set(vrf, pack(want.blocks.find((b) => b.header.startsWith(ROUTER_BGP))!));
      } else if (packed !== undefined && sent.has(`no ${unpack(packed).header}`)) {
        // The diff removes the agent's BGP instance of a VRF no longer desired (an operator
        // instance stays).
        this.#instances.delete(vrf);
      }
    }
  }
}

/** A block as one new string (JSON: any line survives, and nothing is a slice of the input). */
function pack(block: ConfigBlock): string {
  return JSON.stringify([
    block.header,
    block.lines,
    block.sections.map((s) => [s.header, s.lines]),
    block.end ?? null,
  ]);
}

/** The block {@link pack} was given. */
function unpack(packed: string): ConfigBlock {
  const [header, lines, sections, end] = JSON.parse(packed) as [
    string,
    string[],
    [string, string[]][],
    string | null,
  ];
  return {
    header,
    lines,
    sections: sections.map(([h, l]) => ({ header: h, lines: l })),
    ...(end === null ? {} : { end }),
  };
}
