/**
 * What FRR holds of the agent's configuration, kept between applies: the global instance and,
 * per VRF, the agent's prefix-list entries, route-maps and the BGP instance, as FRR shows them.
 *
 * Filled from a parsed `show running-config` (full resync) and updated with every batch FRR
 * accepted, so that a change of a few tenants is diffed against their blocks alone, without
 * reading (and parsing) the whole running-config again. FRR's own rendering of a block the
 * agent sent is the rendered block itself (the renderer writes FRR's display form and order,
 * which the incremental diff's fast path relies on as well); prefix-list entries are tracked
 * line by line because the diff numbers new entries after the highest kept one.
 * @module
 */
import type { ConfigBlock, DesiredTenant } from "./model.ts";
import { parseAgentObjectName } from "./render.ts";

interface VrfBlocks {
  /** Entry lines of the VRF's agent prefix-lists (`ip prefix-list VPNV4-x-V4 seq …`). */
  prefixLists: string[];
  /** The VRF's agent route-map blocks. */
  routeMaps: ConfigBlock[];
  /** `router bgp ASN vrf X` (the agent's or the operator's). */
  instance?: ConfigBlock;
}

const ROUTE_MAP = "route-map ";
const ROUTER_BGP = "router bgp ";

/** The agent-relevant part of FRR's configuration, per VRF. */
export class RunningCache {
  /** The global `router bgp ASN` block as read (undefined when FRR had none). */
  readonly global?: ConfigBlock;
  readonly #vrfs = new Map<string, VrfBlocks>();

  /** Indexes parsed running-config blocks; blocks the agent never diffs are dropped. */
  constructor(blocks: readonly ConfigBlock[]) {
    let global: ConfigBlock | undefined;
    for (const block of blocks) {
      const t = block.header.split(" ");
      if (t[0] === "router" && t[1] === "bgp") {
        if (t.length === 3) global ??= block;
        else if (t.length === 5 && t[3] === "vrf") this.#entry(t[4]).instance = block;
      } else if ((t[0] === "ip" || t[0] === "ipv6") && t[1] === "prefix-list" && t.length > 2) {
        const owner = parseAgentObjectName(t[2]);
        if (owner) this.#entry(owner.vrf).prefixLists.push(block.header);
      } else if (t[0] === "route-map" && t.length === 4) {
        const owner = parseAgentObjectName(t[1]);
        if (owner) this.#entry(owner.vrf).routeMaps.push(block);
      }
    }
    this.global = global;
  }

  /** VRFs with any block in the cache. */
  get size(): number {
    return this.#vrfs.size;
  }

  /** Names of the VRFs with any block in the cache. */
  vrfs(): string[] {
    return [...this.#vrfs.keys()];
  }

  /**
   * A running-config made of the global instance and the blocks of `vrfs` only, for
   * {@link diffFrrConfig} with a desired state holding just these VRFs' tenants.
   */
  blocksFor(vrfs: Iterable<string>): ConfigBlock[] {
    const out: ConfigBlock[] = this.global ? [this.global] : [];
    for (const vrf of vrfs) {
      const e = this.#vrfs.get(vrf);
      if (!e) continue;
      for (const header of e.prefixLists) out.push({ header, lines: [], sections: [] });
      out.push(...e.routeMaps);
      if (e.instance) out.push(e.instance);
    }
    return out;
  }

  /**
   * Records a batch FRR accepted: `lines` (the diff of `vrfs` against {@link blocksFor}) and
   * `desired`, the desired tenants of those VRFs by VRF name. Changes to the global instance
   * are not tracked: after a batch that changed it the cache must be read again.
   */
  record(
    lines: readonly string[],
    desired: ReadonlyMap<string, DesiredTenant>,
    vrfs: Iterable<string>,
  ): void {
    for (const line of lines) {
      const c = line.charCodeAt(0);
      // Prefix-list commands are one-line, top-level: `[no ](ip|ipv6) prefix-list NAME …`.
      if (c !== 0x69 /* i */ && c !== 0x6e /* n */) continue;
      const negated = line.startsWith("no ");
      const body = negated ? line.slice(3) : line;
      const t = body.split(" ", 4);
      if ((t[0] !== "ip" && t[0] !== "ipv6") || t[1] !== "prefix-list" || t.length < 3) continue;
      const owner = parseAgentObjectName(t[2]);
      if (!owner) continue;
      const e = this.#entry(owner.vrf);
      if (!negated) e.prefixLists.push(body);
      else if (t.length === 3) {
        const list = `${t[0]} prefix-list ${t[2]} `;
        e.prefixLists = e.prefixLists.filter((h) => !h.startsWith(list));
      } else e.prefixLists = e.prefixLists.filter((h) => h !== body);
    }
    const sent = new Set(lines);
    for (const vrf of vrfs) {
      const e = this.#entry(vrf);
      const want = desired.get(vrf);
      if (want) {
        e.routeMaps = want.blocks.filter((b) => b.header.startsWith(ROUTE_MAP));
        e.instance = want.blocks.find((b) => b.header.startsWith(ROUTER_BGP));
      } else {
        // The diff removes the agent's route-maps of a VRF no longer desired, and its BGP
        // instance when it is the agent's (an operator instance stays).
        e.routeMaps = [];
        if (e.instance && sent.has(`no ${e.instance.header}`)) e.instance = undefined;
      }
      if (e.prefixLists.length === 0 && e.routeMaps.length === 0 && !e.instance) {
        this.#vrfs.delete(vrf);
      }
    }
  }

  #entry(vrf: string): VrfBlocks {
    let e = this.#vrfs.get(vrf);
    if (!e) this.#vrfs.set(vrf, e = { prefixLists: [], routeMaps: [] });
    return e;
  }
}
