/**
 * Desired blocks vs. running-config → the vtysh commands that make FRR match, touching only
 * agent-owned configuration (see render.ts for how ownership is recognised).
 *
 * Lines are compared by what they set ("key"), not by position: FRR reorders lines in
 * running-config (e.g. `label vpn export` before `rd vpn export`). A desired line whose key
 * is present with another value replaces it (FRR's single-value commands overwrite); a
 * running agent-owned line whose key is no longer desired is negated with `no`.
 * @module
 */
import type {
  ConfigBlock,
  ConfigSection,
  DesiredGlobal,
  DesiredPeer,
  DesiredTenant,
  RenderedFrrConfig,
} from "./model.ts";
import {
  AGENT_PEER_MARKER,
  blockLines,
  exportPolicyName,
  GLOBAL_SECTIONS,
  isAgentObjectName,
  legacyObjectName,
  parseLegacyObjectName,
  vrfInstanceHeader,
} from "./render.ts";
import { findSection, sameBlock } from "./running_config.ts";

/** What the diff found and the commands that fix it. */
export interface FrrDiff {
  /** Commands for one `vtysh -f` batch, in order (empty when FRR already matches). */
  readonly lines: readonly string[];
  /** VRFs of tenants whose BGP instance was missing. */
  readonly added: readonly string[];
  /** VRFs of agent-owned configuration no longer desired. */
  readonly removed: readonly string[];
  /** VRFs of present tenants that needed some commands. */
  readonly changed: readonly string[];
  /** True when the global instance (router-id, agent peers) or the export policy needed commands. */
  readonly globalChanged: boolean;
  /** True when no agent-owned configuration was found in FRR at all. */
  readonly empty: boolean;
}

/** Options of {@link diffFrrConfig}. */
export interface DiffOptions {
  /** `full` re-sends every desired block after the incremental commands. Default incremental. */
  mode?: "incremental" | "full";
}

/** Thrown when FRR's configuration conflicts with the desired one in a way the agent must not fix. */
export class FrrConflictError extends Error {
  override name = "FrrConflictError";
}

interface RunningIndex {
  global?: { asn: number; block: ConfigBlock };
  instances: Map<string, { asn: number; block: ConfigBlock; owned: boolean }>;
  /** Entry lines of agent prefix-lists (export policy and legacy) by list name. */
  prefixLists: Map<string, string[]>;
  /** Agent route-map blocks (export policy and legacy) by name. */
  routeMaps: Map<string, ConfigBlock[]>;
  agentPeers: Set<string>;
}

const ASN_TEXT = /^[1-9][0-9]{0,9}$/;

function parseAsn(text: string | undefined): number | undefined {
  if (text === undefined || !ASN_TEXT.test(text)) return undefined;
  const n = Number(text);
  return n <= 4294967295 ? n : undefined;
}

function instanceOwned(vrf: string, block: ConfigBlock): boolean {
  const marks = new Set(
    [exportPolicyName(4), exportPolicyName(6), legacyObjectName(vrf, 4), legacyObjectName(vrf, 6)]
      .map((name) => `redistribute kernel route-map ${name}`),
  );
  return block.sections.some((s) => s.lines.some((l) => marks.has(l)));
}

function neighborAddress(line: string): string | undefined {
  if (!line.startsWith("neighbor ")) return undefined;
  const end = line.indexOf(" ", 9);
  return end < 0 ? undefined : line.slice(9, end);
}

function isAgentDescription(line: string, address: string): boolean {
  const prefix = `neighbor ${address} description ${AGENT_PEER_MARKER}`;
  return line === prefix || line.startsWith(`${prefix} `);
}

function indexRunning(blocks: readonly ConfigBlock[]): RunningIndex {
  const index: RunningIndex = {
    instances: new Map(),
    prefixLists: new Map(),
    routeMaps: new Map(),
    agentPeers: new Set(),
  };
  for (const block of blocks) {
    const t = block.header.split(" ");
    if (t[0] === "router" && t[1] === "bgp") {
      const asn = parseAsn(t[2]);
      if (asn === undefined) continue;
      if (t.length === 3) {
        index.global ??= { asn, block };
      } else if (t.length === 5 && t[3] === "vrf") {
        index.instances.set(t[4], { asn, block, owned: instanceOwned(t[4], block) });
      }
    } else if ((t[0] === "ip" || t[0] === "ipv6") && t[1] === "prefix-list" && t.length > 2) {
      const name = t[2];
      if (!isAgentObjectName(name)) continue;
      let entries = index.prefixLists.get(name);
      if (!entries) index.prefixLists.set(name, entries = []);
      entries.push(block.header);
    } else if (t[0] === "route-map" && t.length === 4) {
      if (!isAgentObjectName(t[1])) continue;
      let list = index.routeMaps.get(t[1]);
      if (!list) index.routeMaps.set(t[1], list = []);
      list.push(block);
    }
  }
  if (index.global) {
    for (const line of index.global.block.lines) {
      const address = neighborAddress(line);
      if (address && isAgentDescription(line, address)) index.agentPeers.add(address);
    }
  }
  return index;
}

/**
 * Keyed comparison of one list of lines. `keyOf` returns the key of lines the agent owns
 * (undefined for others, which are never negated).
 */
function keyedDiff(
  running: readonly string[],
  desired: readonly string[],
  keyOf: (line: string) => string | undefined,
): { remove: string[]; add: string[] } {
  const have = new Set(running);
  const want = new Set(desired);
  const wantKeys = new Set(desired.map(keyOf));
  const remove: string[] = [];
  for (const line of running) {
    const key = keyOf(line);
    if (key === undefined || want.has(line) || wantKeys.has(key)) continue;
    remove.push(`no ${line}`);
  }
  return { remove, add: desired.filter((l) => !have.has(l)) };
}

function vrfLineKey(line: string): string | undefined {
  if (line.startsWith("redistribute kernel")) return "redistribute kernel";
  if (line.startsWith("label vpn export ")) return "label vpn export";
  if (line.startsWith("rd vpn export ")) return "rd vpn export";
  for (const kind of ["import", "export", "both"]) {
    if (line.startsWith(`rt vpn ${kind} `)) return `rt vpn ${kind}`;
  }
  if (line === "export vpn" || line === "import vpn") return line;
  return undefined;
}

function routerIdKey(line: string): string | undefined {
  return line.startsWith("bgp router-id ") ? "bgp router-id" : undefined;
}

/** Per-neighbor attributes the agent owns, as `neighbor ADDR <key> …`. */
const PEER_KEYS = ["remote-as", "description", "password", "ebgp-multihop", "update-source"];

function peerLineKey(address: string): (line: string) => string | undefined {
  const prefix = `neighbor ${address} `;
  return (line) => {
    if (!line.startsWith(prefix)) return undefined;
    const rest = line.slice(prefix.length).split(" ");
    if (PEER_KEYS.includes(rest[0])) return rest[0];
    // `timers KEEPALIVE HOLD` only; `timers connect N` / `timers delayopen N` are not ours.
    if (rest[0] === "timers" && /^[0-9]+$/.test(rest[1] ?? "")) return "timers";
    return undefined;
  };
}

/** Negation of an owned neighbor attribute: `no neighbor ADDR KEY` (value-free forms). */
function negatePeerLine(line: string, address: string, key: string): string {
  if (key === "remote-as") return `no neighbor ${address}`; // never: remote-as is always desired
  if (key === "description" || key === "password" || key === "ebgp-multihop") {
    return `no neighbor ${address} ${key}`;
  }
  return `no ${line}`;
}

/** Emits a block with only the given changes, or nothing when there are none. */
function emitBlock(
  out: string[],
  header: string,
  lines: readonly string[],
  sections: ReadonlyArray<{ header: string; lines: readonly string[] }>,
): boolean {
  const used = sections.filter((s) => s.lines.length > 0);
  if (lines.length === 0 && used.length === 0) return false;
  out.push(header);
  for (const l of lines) out.push(` ${l}`);
  for (const s of used) {
    out.push(` ${s.header}`);
    for (const l of s.lines) out.push(`  ${l}`);
    out.push(" exit-address-family");
  }
  out.push("exit");
  return true;
}

function diffGlobal(desired: DesiredGlobal, index: RunningIndex, out: string[]): boolean {
  const running = index.global;
  if (running && running.asn !== desired.asn) {
    throw new FrrConflictError(
      `FRR runs router bgp ${running.asn}, the configuration says bgp.asn ${desired.asn}; ` +
        "changing the ASN of the default instance needs an operator (it drops every session)",
    );
  }
  if (!running) {
    out.push(...blockLines(desired.block));
    return true;
  }
  const runLines = running.block.lines;
  const root: string[] = [];
  const instance = keyedDiff(runLines, desired.lines, routerIdKey);
  root.push(...instance.add); // instance-level lines are ensured, never negated
  const sectionCmds = new Map<string, string[]>(GLOBAL_SECTIONS.map((h) => [h, []]));
  const wanted = new Set(desired.peers.map((p) => p.address));
  for (const addr of index.agentPeers) {
    if (!wanted.has(addr)) root.push(`no neighbor ${addr}`);
  }
  for (const peer of desired.peers) diffPeer(peer, running.block, root, sectionCmds);
  return emitBlock(
    out,
    desired.block.header,
    root,
    GLOBAL_SECTIONS.map((h) => ({ header: h, lines: sectionCmds.get(h) ?? [] })),
  );
}

function diffPeer(
  peer: DesiredPeer,
  running: ConfigBlock,
  root: string[],
  sectionCmds: Map<string, string[]>,
): void {
  const keyOf = peerLineKey(peer.address);
  const runLines = running.lines.filter((l) => keyOf(l) !== undefined);
  const desired = [...peer.lines.values()];
  if (!runLines.some((l) => keyOf(l) === "remote-as")) {
    root.push(...desired);
  } else {
    const d = keyedDiff(runLines, desired, keyOf);
    for (const neg of d.remove) {
      const line = neg.slice(3);
      root.push(negatePeerLine(line, peer.address, keyOf(line)!));
    }
    root.push(...d.add);
  }
  const activate = `neighbor ${peer.address} activate`;
  for (const header of GLOBAL_SECTIONS) {
    const active = findSection(running, header)?.lines.includes(activate) ?? false;
    const want = peer.activate.includes(header);
    if (want && !active) sectionCmds.get(header)!.push(activate);
    if (!want && active) sectionCmds.get(header)!.push(`no ${activate}`);
  }
}

/**
 * The export policy: prefix-list entries compared as whole lines (removals first: FRR keeps
 * one entry per sequence number and ignores one duplicating a prefix), route-maps by their
 * `match` lines. Returns whether any command was needed.
 */
function diffPolicy(
  desired: DesiredGlobal,
  index: RunningIndex,
  out: { remove: string[]; add: string[]; maps: string[] },
): boolean {
  const before = out.remove.length + out.add.length + out.maps.length;
  for (const family of [4, 6] as const) {
    const name = exportPolicyName(family);
    const want = desired.policy.filter((b) => !b.end && b.header.split(" ", 3)[2] === name)
      .map((b) => b.header);
    const d = keyedDiff(index.prefixLists.get(name) ?? [], want, (l) => l);
    out.remove.push(...d.remove);
    out.add.push(...d.add);
  }
  for (const family of [4, 6] as const) {
    const name = exportPolicyName(family);
    const block = desired.policy.find((b) => b.header.startsWith(`route-map ${name} `));
    if (block) diffRouteMap(block, index, out.maps);
    else if (index.routeMaps.has(name)) out.maps.push(`no route-map ${name}`);
  }
  return out.remove.length + out.add.length + out.maps.length !== before;
}

function diffRouteMap(block: ConfigBlock, index: RunningIndex, out: string[]): void {
  const name = block.header.split(" ")[1];
  const running = index.routeMaps.get(name) ?? [];
  let found: ConfigBlock | undefined;
  for (const r of running) {
    if (r.header === block.header && !found) found = r;
    else out.push(`no ${r.header}`);
  }
  // No `exit` after route-map bodies: in FRR 8.4 an `exit` from a route-map commits the
  // pending configuration (cost grows with the whole configuration). vtysh leaves the node by
  // itself at the next top-level command.
  if (!found) {
    out.push(...blockLines({ ...block, end: undefined }));
    return;
  }
  const d = keyedDiff(found.lines, block.lines, (l) => l.startsWith("match ") ? l : undefined);
  if (d.remove.length + d.add.length > 0) {
    out.push(block.header, ...[...d.remove, ...d.add].map((l) => ` ${l}`));
  }
}

/** Removes the per-VRF prefix-lists and route-maps earlier versions wrote. */
function removeLegacyObjects(index: RunningIndex, out: string[]): void {
  for (const name of index.routeMaps.keys()) {
    if (parseLegacyObjectName(name)) out.push(`no route-map ${name}`);
  }
  for (const [name, entries] of index.prefixLists) {
    if (!parseLegacyObjectName(name)) continue;
    const kinds = new Set(entries.map((e) => e.split(" ", 1)[0]));
    for (const kind of kinds) out.push(`no ${kind} prefix-list ${name}`);
  }
}

function diffInstance(
  tenant: DesiredTenant,
  index: RunningIndex,
  out: string[],
): "added" | "changed" | undefined {
  const desired = tenant.blocks.find((b) => b.header.startsWith("router bgp "))!;
  const running = index.instances.get(tenant.vrf);
  if (running && running.asn !== tenant.asn && running.owned) {
    out.push(`no ${vrfInstanceHeader(running.asn, tenant.vrf)}`);
  } else if (running && running.asn !== tenant.asn) {
    throw new FrrConflictError(
      `VRF ${tenant.vrf} has an operator BGP instance with ASN ${running.asn}`,
    );
  }
  if (!running || running.asn !== tenant.asn) {
    out.push(...blockLines(desired));
    return "added";
  }
  // Fast path: the renderer writes FRR's display order, so an unchanged tenant is equal
  // line by line.
  if (sameBlock(running.block, desired)) return undefined;
  const root = keyedDiff(running.block.lines, desired.lines, routerIdKey);
  const sections = desired.sections.map((s: ConfigSection) => {
    const d = keyedDiff(findSection(running.block, s.header)?.lines ?? [], s.lines, vrfLineKey);
    return { header: s.header, lines: [...d.remove, ...d.add] };
  });
  return emitBlock(out, desired.header, [...root.remove, ...root.add], sections)
    ? "changed"
    : undefined;
}

/** VRFs the agent owns in the running configuration. */
function ownedVrfs(index: RunningIndex): Set<string> {
  const vrfs = new Set<string>();
  for (const [vrf, inst] of index.instances) if (inst.owned) vrfs.add(vrf);
  for (const name of [...index.prefixLists.keys(), ...index.routeMaps.keys()]) {
    const owner = parseLegacyObjectName(name);
    if (owner) vrfs.add(owner.vrf);
  }
  return vrfs;
}

/**
 * Compares the desired configuration with FRR's parsed running-config and returns the
 * commands that bring the agent-owned part in line. Throws {@link FrrConflictError} when FRR
 * runs a default BGP instance with another ASN.
 */
export function diffFrrConfig(
  desired: RenderedFrrConfig,
  running: readonly ConfigBlock[],
  options: DiffOptions = {},
): FrrDiff {
  const index = indexRunning(running);
  const owned = ownedVrfs(index);
  const policyFound = ([4, 6] as const).some((f) =>
    index.prefixLists.has(exportPolicyName(f)) || index.routeMaps.has(exportPolicyName(f))
  );
  const empty = owned.size === 0 && index.agentPeers.size === 0 && !policyFound;
  const wanted = new Set(desired.tenants.map((t) => t.vrf));
  const removed = [...owned].filter((v) => !wanted.has(v)).sort();
  const out: string[] = [];
  // No `no vrf`: the agent writes no `vrf` block (see render.ts), and `no vrf` fails while
  // the kernel VRF device exists.
  for (const vrf of removed) {
    const inst = index.instances.get(vrf);
    if (inst?.owned) out.push(`no ${vrfInstanceHeader(inst.asn, vrf)}`);
  }
  const policy = { remove: [] as string[], add: [] as string[], maps: [] as string[] };
  const policyChanged = diffPolicy(desired.global, index, policy);
  const instances: string[] = [];
  const added: string[] = [];
  const changed: string[] = [];
  for (const t of desired.tenants) {
    const what = diffInstance(t, index, instances);
    if (what === "added") added.push(t.vrf);
    else if (what === "changed") changed.push(t.vrf);
  }
  // Appended in loops: spreading many lines into push() can overflow the call stack.
  const globalOut: string[] = [];
  const globalChanged = diffGlobal(desired.global, index, globalOut) || policyChanged;
  for (const part of [policy.remove, policy.add, policy.maps, globalOut, instances]) {
    for (const l of part) out.push(l);
  }
  // Last: the instances no longer refer to them.
  removeLegacyObjects(index, out);
  if (options.mode === "full") {
    for (const b of desired.blocks) {
      out.push(...blockLines(b.header.startsWith("route-map ") ? { ...b, end: undefined } : b));
    }
  }
  return { lines: out, added, removed, changed, globalChanged, empty };
}
