/**
 * FRR configuration of the expose mode (chassis-local host routes over ipv4/ipv6 unicast).
 *
 * Agent-owned names are a fixed set, recognisable in any running configuration and disjoint
 * from the tenant names of render.ts (`VPNV4-<vrf>-V4`/`-V6`, which end in `-V4`/`-V6`):
 * - prefix-lists `VPNV4-EXPOSE-HOST-IPV4` / `VPNV4-EXPOSE-HOST-IPV6` (host routes: /32, /128);
 * - route-maps `VPNV4-EXPOSE-IPV4` / `VPNV4-EXPOSE-IPV6`: seq 10 sets the host communities on
 *   host routes, seq 20 the subnet communities on everything else;
 * - route-map `VPNV4-EXPOSE-TABLE-MAP` (methods table and dummy): `deny 10` with
 *   `match source-vrf V`, `permit 20`; used as the default instance's `table-map`;
 * - in the default instance: `network P route-map VPNV4-EXPOSE-IPVx` lines, the
 *   `table-map VPNV4-EXPOSE-TABLE-MAP` line, and `import vrf V` when the
 *   `router bgp ASN vrf V` instance is the agent's (redistributes through a `VPNV4-EXPOSE-*`
 *   route-map).
 *
 * Methods (measured with FRR 8.4.4):
 * - `network`: `network P route-map …` per exposed prefix in the default instance's
 *   ipv4/ipv6 unicast families with `no bgp network import-check`. bgpd originates them
 *   itself: nothing is installed in the kernel (works without VRF support, IPv4 and IPv6).
 *   The prefixes are part of the configuration, so a VM move changes only its own lines.
 * - `table` (upstream layout, needs a VRF device): agent blackholes in the VRF's table,
 *   `router bgp ASN vrf V` with `redistribute kernel route-map …`, `import vrf V` in the default
 *   instance. bgpd would install the leaked blackholes into the main table (they would
 *   blackhole the node's own traffic to its VMs); the table-map keeps routes whose source VRF
 *   is V out of zebra while they are still advertised, and lets everything else (operator and
 *   peer routes) through.
 * - `dummy` (upstream's bgp-nic): host addresses on the dummy device in the VRF,
 *   `redistribute connected route-map …` (and `redistribute kernel` for subnets, which stay
 *   blackholes in the VRF's table), `import vrf` and the table-map as for `table`.
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { IpPrefix } from "../net/mod.ts";
import type { ConfigBlock, Family } from "./model.ts";
import { blockLines, blocksText } from "./render.ts";
import { findSection } from "./running_config.ts";
import { assertAsn, assertIp, assertPrefix, assertVrfName, FrrRenderError } from "./validate.ts";
import { FrrConflictError } from "./diff.ts";

/** Prefix of every expose-mode object name. */
export const EXPOSE_OBJECT_PREFIX = "VPNV4-EXPOSE-";

/** The table-map route-map of methods table and dummy. */
export const EXPOSE_TABLE_MAP = `${EXPOSE_OBJECT_PREFIX}TABLE-MAP`;

/** Route-map of a family. */
export function exposeRouteMapName(family: Family): string {
  return `${EXPOSE_OBJECT_PREFIX}IPV${family}`;
}

/** Host-route prefix-list of a family. */
export function exposeHostListName(family: Family): string {
  return `${EXPOSE_OBJECT_PREFIX}HOST-IPV${family}`;
}

const FAMILY_MAPS = new Set([exposeRouteMapName(4), exposeRouteMapName(6)]);
const OWNED_MAPS = new Set([...FAMILY_MAPS, EXPOSE_TABLE_MAP]);
const OWNED_LISTS = new Set([exposeHostListName(4), exposeHostListName(6)]);

/** True for the expose mode's own route-map and prefix-list names. */
export function isExposeObjectName(name: string): boolean {
  return OWNED_MAPS.has(name) || OWNED_LISTS.has(name);
}

const AF = { 4: "address-family ipv4 unicast", 6: "address-family ipv6 unicast" } as const;
const COMMUNITY = /^[0-9]{1,5}:[0-9]{1,5}$/;
const LARGE = /^[0-9]{1,10}:[0-9]{1,10}:[0-9]{1,10}$/;
const IMPORT_CHECK_OFF = "no bgp network import-check";

/** Options of {@link renderExposeConfig}. */
export interface RenderExposeOptions {
  /** The exposed prefixes (method network: they become `network` lines; ignored otherwise). */
  prefixes?: readonly IpPrefix[];
}

/** The rendered expose configuration. */
export interface RenderedExpose {
  readonly enabled: boolean;
  readonly asn: number;
  readonly method: Config["expose"]["method"];
  /** Families advertised. */
  readonly families: readonly Family[];
  /** `ip prefix-list …` one-line blocks. */
  readonly prefixLists: readonly ConfigBlock[];
  /** `route-map … permit|deny N` blocks. */
  readonly routeMaps: readonly ConfigBlock[];
  /** Root lines of the default instance the method needs (`no bgp network import-check`). */
  readonly globalRootLines: readonly string[];
  /** Lines the agent owns per default-instance address-family section header. */
  readonly globalLines: ReadonlyMap<string, readonly string[]>;
  /** `router bgp ASN vrf V` of methods table and dummy. */
  readonly vrfInstance?: ConfigBlock;
  /** Everything, in application order. */
  readonly blocks: readonly ConfigBlock[];
  /** Configuration text. */
  readonly text: string;
}

function communityLines(
  field: string,
  c: { standard: readonly string[]; large: readonly string[] },
): string[] {
  const out: string[] = [];
  for (const s of c.standard) {
    if (!COMMUNITY.test(s) || s.split(":").some((n) => Number(n) > 65535)) {
      throw new FrrRenderError(`${field}.standard`, `invalid community ${JSON.stringify(s)}`);
    }
  }
  for (const s of c.large) {
    if (!LARGE.test(s) || s.split(":").some((n) => Number(n) > 0xffffffff)) {
      throw new FrrRenderError(`${field}.large`, `invalid large community ${JSON.stringify(s)}`);
    }
  }
  if (c.standard.length > 0) out.push(`set community ${c.standard.join(" ")} additive`);
  if (c.large.length > 0) out.push(`set large-community ${c.large.join(" ")} additive`);
  return out;
}

/** The `network` lines of one family, sorted (method network). */
function networkLines(prefixes: readonly IpPrefix[], family: Family): string[] {
  const map = exposeRouteMapName(family);
  const texts = new Set<string>();
  for (const p of prefixes) {
    if (p.family === family) texts.add(assertPrefix("expose prefix", p));
  }
  return [...texts].sort().map((t) => `network ${t} route-map ${map}`);
}

/**
 * Renders the expose configuration (nothing when `expose.enabled` is false). Methods table
 * and dummy need `kernel.vrf_mode: device` ({@link FrrRenderError} otherwise).
 */
export function renderExposeConfig(
  config: Config,
  options: RenderExposeOptions = {},
): RenderedExpose {
  const e = config.expose;
  const asn = assertAsn("bgp.asn", config.bgp.asn);
  const empty: RenderedExpose = {
    enabled: false,
    asn,
    method: e.method,
    families: [],
    prefixLists: [],
    routeMaps: [],
    globalRootLines: [],
    globalLines: new Map(),
    blocks: [],
    text: "",
  };
  if (!e.enabled) return empty;
  const routerId = assertIp("bgp.router_id", config.bgp.router_id, { family: 4 });
  const viaVrf = e.method !== "network";
  if (viaVrf && config.kernel.vrf_mode !== "device") {
    throw new FrrRenderError(
      "expose.method",
      `${e.method} needs a VRF device (kernel.vrf_mode device); ` +
        "use method network on kernels without VRF support",
    );
  }
  const families = [...new Set(e.families.map((f) => (f === "ipv4" ? 4 : 6) as Family))].sort();
  const vrf = viaVrf ? assertVrfName("expose.vrf", e.vrf) : undefined;
  const host = communityLines("expose.communities.host", e.communities.host);
  const subnet = communityLines("expose.communities.subnet", e.communities.subnet);
  const prefixLists: ConfigBlock[] = [];
  const routeMaps: ConfigBlock[] = [];
  const globalLines = new Map<string, string[]>();
  const vrfSections: { header: string; lines: string[] }[] = [];
  for (const f of families) {
    const list = exposeHostListName(f);
    const map = exposeRouteMapName(f);
    prefixLists.push({
      header: `${f === 4 ? "ip" : "ipv6"} prefix-list ${list} seq 5 permit ${
        f === 4 ? "0.0.0.0/0 ge 32" : "::/0 ge 128"
      }`,
      lines: [],
      sections: [],
    });
    routeMaps.push({
      header: `route-map ${map} permit 10`,
      lines: [`match ${f === 4 ? "ip" : "ipv6"} address prefix-list ${list}`, ...host],
      sections: [],
      end: "exit",
    }, { header: `route-map ${map} permit 20`, lines: subnet, sections: [], end: "exit" });
    if (viaVrf) {
      // table-map first: the leaked routes must never reach zebra, not even briefly.
      globalLines.set(AF[f], [`table-map ${EXPOSE_TABLE_MAP}`, `import vrf ${vrf}`]);
      const source = e.method === "dummy" ? ["connected", "kernel"] : ["kernel"];
      vrfSections.push({
        header: AF[f],
        lines: source.map((s) => `redistribute ${s} route-map ${map}`),
      });
    } else {
      globalLines.set(AF[f], networkLines(options.prefixes ?? [], f));
    }
  }
  if (viaVrf) {
    routeMaps.push({
      header: `route-map ${EXPOSE_TABLE_MAP} deny 10`,
      lines: [`match source-vrf ${vrf}`],
      sections: [],
      end: "exit",
    }, { header: `route-map ${EXPOSE_TABLE_MAP} permit 20`, lines: [], sections: [], end: "exit" });
  }
  const globalRootLines = viaVrf ? [] : [IMPORT_CHECK_OFF];
  const vrfInstance: ConfigBlock | undefined = viaVrf
    ? {
      header: `router bgp ${asn} vrf ${vrf}`,
      lines: [`bgp router-id ${routerId}`],
      sections: vrfSections,
      end: "exit",
    }
    : undefined;
  const globalBlock: ConfigBlock = {
    header: `router bgp ${asn}`,
    lines: globalRootLines,
    sections: [...globalLines].map(([header, lines]) => ({ header, lines })),
    end: "exit",
  };
  const blocks: ConfigBlock[] = [
    ...prefixLists,
    ...routeMaps,
    ...(vrfInstance ? [vrfInstance] : []),
    globalBlock,
  ];
  return {
    enabled: true,
    asn,
    method: e.method,
    families,
    prefixLists,
    routeMaps,
    globalRootLines,
    globalLines,
    vrfInstance,
    blocks,
    text: blocksText(blocks),
  };
}

/** What {@link diffExposeConfig} found. */
export interface ExposeDiff {
  /** Commands for one `vtysh -f` batch (empty when FRR matches). */
  readonly lines: readonly string[];
  /** No expose configuration of the agent was found in FRR. */
  readonly empty: boolean;
}

/** `… route-map VPNV4-EXPOSE-IPVx` at the end of a line (redistribute, network). */
function endsWithFamilyMap(line: string): boolean {
  const t = line.split(" ");
  return t[t.length - 2] === "route-map" && FAMILY_MAPS.has(t[t.length - 1]);
}

function ownedRedistribute(line: string): boolean {
  return line.startsWith("redistribute ") && endsWithFamilyMap(line);
}

function ownedNetwork(line: string): boolean {
  return line.startsWith("network ") && line.split(" ").length === 4 && endsWithFamilyMap(line);
}

function instanceIsExpose(block: ConfigBlock): boolean {
  return block.sections.some((s) => s.lines.some(ownedRedistribute));
}

function routeMapKey(line: string): string | undefined {
  if (line.startsWith("match ")) return line;
  if (line.startsWith("set community ")) return "set community";
  if (line.startsWith("set large-community ")) return "set large-community";
  return undefined;
}

function negateRouteMapLine(line: string): string {
  const key = routeMapKey(line);
  return key && key.startsWith("set ") ? `no ${key}` : `no ${line}`;
}

/**
 * Whether bgpd checks `network` statements against its RIB: on by default in FRR 8.4
 * (`frr defaults traditional` too), shown as `no bgp network import-check` when off.
 */
function importCheckOn(global?: ConfigBlock): boolean {
  return !(global?.lines ?? []).includes(IMPORT_CHECK_OFF);
}

/**
 * Compares the rendered expose configuration with FRR's running configuration and returns
 * the commands that bring the agent-owned part in line. Operator configuration (other
 * route-maps, other redistribute, network or import lines, other VRF instances) is never
 * touched; an operator `table-map` in a family the agent needs one in is a
 * {@link FrrConflictError}. `no bgp network import-check` is left in place on removal (the
 * agent cannot know whether the operator wants it).
 */
export function diffExposeConfig(
  desired: RenderedExpose,
  running: readonly ConfigBlock[],
): ExposeDiff {
  const out: string[] = [];
  let global: ConfigBlock | undefined;
  const instances = new Map<string, ConfigBlock>();
  const lists = new Map<string, string[]>();
  const maps = new Map<string, ConfigBlock[]>();
  for (const b of running) {
    const t = b.header.split(" ");
    if (t[0] === "router" && t[1] === "bgp" && t.length === 3) global ??= b;
    else if (t[0] === "router" && t[1] === "bgp" && t.length === 5 && t[3] === "vrf") {
      instances.set(t[4], b);
    } else if (
      (t[0] === "ip" || t[0] === "ipv6") && t[1] === "prefix-list" && OWNED_LISTS.has(t[2])
    ) {
      lists.set(t[2], [...lists.get(t[2]) ?? [], b.header]);
    } else if (t[0] === "route-map" && t.length === 4 && OWNED_MAPS.has(t[1])) {
      maps.set(t[1], [...maps.get(t[1]) ?? [], b]);
    }
  }
  if (global && desired.enabled) {
    const runAsn = Number(global.header.split(" ")[2]);
    if (runAsn !== desired.asn) {
      throw new FrrConflictError(
        `FRR runs router bgp ${runAsn}, the configuration says bgp.asn ${desired.asn}`,
      );
    }
  }
  const ownedInstances = [...instances].filter(([, b]) => instanceIsExpose(b));
  const ownedVrfs = new Set(ownedInstances.map(([v]) => v));
  const wantVrf = desired.vrfInstance?.header.split(" ")[4];
  if (wantVrf) ownedVrfs.add(wantVrf);
  const ownedGlobal = (l: string) =>
    ownedRedistribute(l) || ownedNetwork(l) || l === `table-map ${EXPOSE_TABLE_MAP}` ||
    (l.startsWith("import vrf ") && ownedVrfs.has(l.slice(11)));
  const empty = lists.size === 0 && maps.size === 0 && ownedInstances.length === 0 &&
    !(global?.sections ?? []).some((s) => s.lines.some(ownedGlobal));

  // 1. Prefix-lists and route-maps wanted.
  const wantLists = new Set(desired.prefixLists.map((b) => b.header));
  const wantListNames = new Set(desired.prefixLists.map((b) => b.header.split(" ")[2]));
  for (const [name, entries] of lists) {
    if (!wantListNames.has(name)) continue;
    for (const e of entries) if (!wantLists.has(e)) out.push(`no ${e}`);
  }
  for (const b of desired.prefixLists) {
    if (!(lists.get(b.header.split(" ")[2]) ?? []).includes(b.header)) out.push(b.header);
  }
  const wantNames = new Set(desired.routeMaps.map((b) => b.header.split(" ")[1]));
  const wantMapHeaders = new Set(desired.routeMaps.map((b) => b.header));
  for (const [, blocks] of maps) {
    for (const r of blocks) {
      if (!wantMapHeaders.has(r.header) && wantNames.has(r.header.split(" ")[1])) {
        out.push(`no ${r.header}`);
      }
    }
  }
  for (const b of desired.routeMaps) {
    const found = (maps.get(b.header.split(" ")[1]) ?? []).find((r) => r.header === b.header);
    // No `exit` after route-map bodies (see diff.ts: an `exit` commits in FRR 8.4).
    if (!found) {
      out.push(...blockLines({ ...b, end: undefined }));
      continue;
    }
    const wantKeys = new Set(b.lines.map(routeMapKey));
    const remove = found.lines.filter((l) => {
      const k = routeMapKey(l);
      return !b.lines.includes(l) && (k === undefined || !wantKeys.has(k));
    }).map(negateRouteMapLine);
    const add = b.lines.filter((l) => !found.lines.includes(l));
    if (remove.length + add.length > 0) {
      out.push(b.header, ...[...remove, ...add].map((l) => ` ${l}`));
    }
  }

  // 2. The VRF instance (methods table and dummy).
  if (desired.vrfInstance && wantVrf) {
    const have = instances.get(wantVrf);
    if (have && have.header !== desired.vrfInstance.header) {
      throw new FrrConflictError(`VRF ${wantVrf} has a BGP instance with another ASN`);
    }
    if (!have) out.push(...blockLines(desired.vrfInstance));
    else {
      const root = desired.vrfInstance.lines.filter((l) => !have.lines.includes(l));
      const secs = desired.vrfInstance.sections.map((s) => {
        const run = findSection(have, s.header)?.lines ?? [];
        const rm = run.filter((l) => ownedRedistribute(l) && !s.lines.includes(l))
          .map((l) => `no ${l}`);
        return { header: s.header, lines: [...rm, ...s.lines.filter((l) => !run.includes(l))] };
      });
      // Families no longer wanted inside our instance.
      for (const s of have.sections) {
        if (desired.vrfInstance.sections.some((d) => d.header === s.header)) continue;
        const rm = s.lines.filter(ownedRedistribute).map((l) => `no ${l}`);
        if (rm.length > 0) secs.push({ header: s.header, lines: rm });
      }
      emit(out, desired.vrfInstance.header, root, secs);
    }
  }

  // 3. The default instance: owned network / table-map / import / redistribute lines.
  const sections = new Map<string, string[]>();
  const headers = new Set([
    ...(global?.sections ?? []).map((s) => s.header),
    ...desired.globalLines.keys(),
  ]);
  for (const h of headers) {
    if (h !== AF[4] && h !== AF[6]) continue;
    const run = global ? findSection(global, h)?.lines ?? [] : [];
    const want = desired.globalLines.get(h) ?? [];
    if (want.includes(`table-map ${EXPOSE_TABLE_MAP}`)) {
      const other = run.find((l) => l.startsWith("table-map ") && !ownedGlobal(l));
      if (other) {
        throw new FrrConflictError(
          `router bgp ${desired.asn} ${h} has the operator's "${other}"; ` +
            `expose method ${desired.method} needs table-map ${EXPOSE_TABLE_MAP} there`,
        );
      }
    }
    const runSet = new Set(run);
    const wantSet = new Set(want);
    // The table-map goes last: the leak (`import vrf`) must be gone before it.
    const drop = run.filter((l) => ownedGlobal(l) && !wantSet.has(l))
      .sort((a, b) => Number(a.startsWith("table-map ")) - Number(b.startsWith("table-map ")));
    const cmds = [
      ...drop.map((l) => `no ${l}`),
      ...want.filter((l) => !runSet.has(l)),
    ];
    if (cmds.length > 0) sections.set(h, cmds);
  }
  const root = desired.globalRootLines.filter((l) =>
    l !== IMPORT_CHECK_OFF || importCheckOn(global)
  );
  if (sections.size > 0 || root.length > 0) {
    emit(
      out,
      `router bgp ${global ? global.header.split(" ")[2] : desired.asn}`,
      root,
      [...sections].map(([header, lines]) => ({ header, lines })),
    );
  }

  // 4. Removals: instances and names no longer wanted.
  for (const [vrf, b] of ownedInstances) if (vrf !== wantVrf) out.push(`no ${b.header}`);
  for (const name of maps.keys()) if (!wantNames.has(name)) out.push(`no route-map ${name}`);
  for (const [name, entries] of lists) {
    if (wantListNames.has(name)) continue;
    for (const kind of new Set(entries.map((e) => e.split(" ", 1)[0]))) {
      out.push(`no ${kind} prefix-list ${name}`);
    }
  }
  return { lines: out, empty };
}

function emit(
  out: string[],
  header: string,
  lines: readonly string[],
  sections: ReadonlyArray<{ header: string; lines: readonly string[] }>,
): void {
  const used = sections.filter((s) => s.lines.length > 0);
  if (lines.length === 0 && used.length === 0) return;
  out.push(header, ...lines.map((l) => ` ${l}`));
  for (const s of used) {
    out.push(` ${s.header}`, ...s.lines.map((l) => `  ${l}`), " exit-address-family");
  }
  out.push("exit");
}
