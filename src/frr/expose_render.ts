/**
 * FRR configuration of the expose mode (chassis-local host routes over ipv4/ipv6 unicast),
 * rendered from the configuration alone: the routes themselves live in the kernel (the
 * expose table), so exposing or withdrawing a VM never changes FRR's configuration.
 *
 * Agent-owned names are a fixed set, recognisable in any running configuration and disjoint
 * from the tenant names of render.ts (`VPNV4-<vrf>-V4`/`-V6`, which end in `-V4`/`-V6`):
 * - prefix-lists `VPNV4-EXPOSE-HOST-IPV4` / `VPNV4-EXPOSE-HOST-IPV6` (host routes: /32, /128);
 * - route-maps `VPNV4-EXPOSE-IPV4` / `VPNV4-EXPOSE-IPV6`: seq 10 sets the host communities on
 *   host routes, seq 20 the subnet communities on everything else;
 * - a `redistribute table N route-map VPNV4-EXPOSE-IPV4` line in the global instance (with
 *   the `ip import-table N` it needs) is the agent's, as is `import vrf V` when the
 *   `router bgp ASN vrf V` instance is the agent's, i.e. redistributes through a
 *   `VPNV4-EXPOSE-*` route-map.
 *
 * Methods (measured with FRR 8.4.4):
 * - `kernel.vrf_mode: table` (no VRF device): zebra `ip import-table N` plus
 *   `redistribute table N route-map …` in the default instance. IPv4 only: FRR 8.4 has neither
 *   `ipv6 import-table` nor `redistribute table` under `address-family ipv6 unicast`. zebra also
 *   installs the imported routes (blackholes) into the main kernel table (`proto zebra`);
 *   `ip import-table N distance 255` or an `ip protocol table` deny route-map would prevent
 *   that but also stop the redistribution.
 * - `vrf_mode: device` (upstream's layout): `router bgp ASN vrf V` redistributes the VRF
 *   table's kernel routes (method table) or bgp-nic's connected addresses (method dummy)
 *   through the route-map, and the default instance imports the VRF (`import vrf V`).
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { ConfigBlock, Family } from "./model.ts";
import { blockLines, blocksText } from "./render.ts";
import { findSection } from "./running_config.ts";
import { assertAsn, assertInteger, assertIp, assertVrfName, FrrRenderError } from "./validate.ts";
import { FrrConflictError } from "./diff.ts";

/** Prefix of every expose-mode object name. */
export const EXPOSE_OBJECT_PREFIX = "VPNV4-EXPOSE-";

/** Route-map of a family. */
export function exposeRouteMapName(family: Family): string {
  return `${EXPOSE_OBJECT_PREFIX}IPV${family}`;
}

/** Host-route prefix-list of a family. */
export function exposeHostListName(family: Family): string {
  return `${EXPOSE_OBJECT_PREFIX}HOST-IPV${family}`;
}

const OWNED_MAPS = new Set([exposeRouteMapName(4), exposeRouteMapName(6)]);
const OWNED_LISTS = new Set([exposeHostListName(4), exposeHostListName(6)]);

/** True for the expose mode's own route-map and prefix-list names. */
export function isExposeObjectName(name: string): boolean {
  return OWNED_MAPS.has(name) || OWNED_LISTS.has(name);
}

/** Highest table `ip import-table` accepts in FRR 8.4. */
export const IMPORT_TABLE_MAX = 252;

const AF = { 4: "address-family ipv4 unicast", 6: "address-family ipv6 unicast" } as const;
const COMMUNITY = /^[0-9]{1,5}:[0-9]{1,5}$/;
const LARGE = /^[0-9]{1,10}:[0-9]{1,10}:[0-9]{1,10}$/;

/** The rendered expose configuration. */
export interface RenderedExpose {
  readonly enabled: boolean;
  readonly asn: number;
  /** Families advertised through FRR (IPv6 is dropped by the import-table layout). */
  readonly families: readonly Family[];
  /** Families configured but impossible with this layout, with the reason. */
  readonly unsupported: readonly { family: Family; reason: string }[];
  /** `ip prefix-list …` one-line blocks. */
  readonly prefixLists: readonly ConfigBlock[];
  /** `route-map … permit N` blocks. */
  readonly routeMaps: readonly ConfigBlock[];
  /** Top-level zebra lines (`ip import-table N`). */
  readonly zebraLines: readonly string[];
  /** Lines the agent owns per global address-family section header. */
  readonly globalLines: ReadonlyMap<string, readonly string[]>;
  /** `router bgp ASN vrf V` of the device layout. */
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

/** Renders the expose configuration (nothing when `expose.enabled` is false). */
export function renderExposeConfig(config: Config): RenderedExpose {
  const e = config.expose;
  const asn = assertAsn("bgp.asn", config.bgp.asn);
  const empty: RenderedExpose = {
    enabled: false,
    asn,
    families: [],
    unsupported: [],
    prefixLists: [],
    routeMaps: [],
    zebraLines: [],
    globalLines: new Map(),
    blocks: [],
    text: "",
  };
  if (!e.enabled) return empty;
  const routerId = assertIp("bgp.router_id", config.bgp.router_id, { family: 4 });
  const device = config.kernel.vrf_mode === "device";
  const table = assertInteger("expose.table", e.table, { min: 1, max: 0xffffffff });
  const configured = [...new Set(e.families.map((f) => (f === "ipv4" ? 4 : 6) as Family))].sort();
  const unsupported: { family: Family; reason: string }[] = [];
  let families = configured;
  if (!device) {
    if (e.method === "dummy") {
      throw new FrrRenderError("expose.method", "dummy needs kernel.vrf_mode device (bgp-vrf)");
    }
    if (table > IMPORT_TABLE_MAX) {
      throw new FrrRenderError(
        "expose.table",
        `must be 1..${IMPORT_TABLE_MAX} with kernel.vrf_mode table (FRR ip import-table)`,
      );
    }
    families = configured.filter((f) => f === 4);
    if (configured.includes(6)) {
      unsupported.push({
        family: 6,
        reason: "FRR 8.4 cannot redistribute an IPv6 kernel table without a VRF device " +
          "(no ipv6 import-table); use kernel.vrf_mode device",
      });
    }
  }
  const vrf = device ? assertVrfName("expose.vrf", e.vrf) : undefined;
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
    if (device) {
      globalLines.set(AF[f], [`import vrf ${vrf}`]);
      const source = e.method === "dummy" ? ["connected", "kernel"] : ["kernel"];
      vrfSections.push({
        header: AF[f],
        lines: source.map((s) => `redistribute ${s} route-map ${map}`),
      });
    } else {
      globalLines.set(AF[f], [`redistribute table ${table} route-map ${map}`]);
    }
  }
  const zebraLines = device || families.length === 0 ? [] : [`ip import-table ${table}`];
  const vrfInstance: ConfigBlock | undefined = device && families.length > 0
    ? {
      header: `router bgp ${asn} vrf ${vrf}`,
      lines: [`bgp router-id ${routerId}`],
      sections: vrfSections,
      end: "exit",
    }
    : undefined;
  const globalBlock: ConfigBlock = {
    header: `router bgp ${asn}`,
    lines: [],
    sections: [...globalLines].map(([header, lines]) => ({ header, lines })),
    end: "exit",
  };
  const blocks: ConfigBlock[] = [
    ...zebraLines.map((l) => ({ header: l, lines: [], sections: [] })),
    ...prefixLists,
    ...routeMaps,
    ...(vrfInstance ? [vrfInstance] : []),
    ...(globalLines.size > 0 ? [globalBlock] : []),
  ];
  return {
    enabled: true,
    asn,
    families,
    unsupported,
    prefixLists,
    routeMaps,
    zebraLines,
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

function ownedRedistribute(line: string): boolean {
  const t = line.split(" ");
  return t[0] === "redistribute" && t[t.length - 2] === "route-map" &&
    OWNED_MAPS.has(t[t.length - 1]);
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
 * Compares the rendered expose configuration with FRR's running configuration (bgpd and,
 * for the import-table layout, zebra parts) and returns the commands that bring the
 * agent-owned part in line. Operator configuration (other route-maps, other redistribute
 * or import lines, other VRF instances) is never touched.
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
  const importTables = new Set<string>();
  for (const b of running) {
    const t = b.header.split(" ");
    if (t[0] === "router" && t[1] === "bgp" && t.length === 3) global ??= b;
    else if (t[0] === "router" && t[1] === "bgp" && t.length === 5 && t[3] === "vrf") {
      instances.set(t[4], b);
    } else if ((t[0] === "ip" || t[0] === "ipv6") && t[1] === "prefix-list" && OWNED_LISTS.has(t[2])) {
      lists.set(t[2], [...lists.get(t[2]) ?? [], b.header]);
    } else if (t[0] === "route-map" && t.length === 4 && OWNED_MAPS.has(t[1])) {
      maps.set(t[1], [...maps.get(t[1]) ?? [], b]);
    } else if (t[0] === "ip" && t[1] === "import-table" && t.length === 3) {
      importTables.add(b.header);
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
  const referencedTables = new Set<string>();
  for (const s of global?.sections ?? []) {
    for (const l of s.lines) {
      const m = /^redistribute table ([0-9]+) route-map /.exec(l);
      if (m && ownedRedistribute(l)) referencedTables.add(`ip import-table ${m[1]}`);
    }
  }
  const empty = lists.size === 0 && maps.size === 0 && ownedInstances.length === 0 &&
    referencedTables.size === 0;

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
  const wantMapHeaders = new Set(desired.routeMaps.map((b) => b.header));
  for (const [, blocks] of maps) {
    for (const r of blocks) {
      if (!wantMapHeaders.has(r.header) && desiredMapNames(desired).has(r.header.split(" ")[1])) {
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
    if (remove.length + add.length > 0) out.push(b.header, ...[...remove, ...add].map((l) => ` ${l}`));
  }

  // 2. zebra import-table lines wanted.
  for (const l of desired.zebraLines) if (!importTables.has(l)) out.push(l);

  // 3. The VRF instance (device layout).
  const wantVrf = desired.vrfInstance?.header.split(" ")[4];
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

  // 4. The global instance: owned redistribute/import lines.
  const sections = new Map<string, string[]>();
  const headers = new Set([...(global?.sections ?? []).map((s) => s.header), ...desired.globalLines.keys()]);
  for (const h of headers) {
    if (h !== AF[4] && h !== AF[6]) continue;
    const run = global ? findSection(global, h)?.lines ?? [] : [];
    const want = desired.globalLines.get(h) ?? [];
    const owned = (l: string) =>
      ownedRedistribute(l) || (l.startsWith("import vrf ") && ownedVrfs.has(l.slice(11)));
    const cmds = [
      ...run.filter((l) => owned(l) && !want.includes(l)).map((l) => `no ${l}`),
      ...want.filter((l) => !run.includes(l)),
    ];
    if (cmds.length > 0) sections.set(h, cmds);
  }
  if (sections.size > 0) {
    emit(
      out,
      `router bgp ${global ? global.header.split(" ")[2] : desired.asn}`,
      [],
      [...sections].map(([header, lines]) => ({ header, lines })),
    );
  }

  // 5. Removals: instances, import tables, names no longer wanted.
  for (const [vrf, b] of ownedInstances) if (vrf !== wantVrf) out.push(`no ${b.header}`);
  for (const l of referencedTables) {
    if (!desired.zebraLines.includes(l) && importTables.has(l)) out.push(`no ${l}`);
  }
  const wantNames = desiredMapNames(desired);
  for (const name of maps.keys()) if (!wantNames.has(name)) out.push(`no route-map ${name}`);
  for (const [name, entries] of lists) {
    if (wantListNames.has(name)) continue;
    for (const kind of new Set(entries.map((e) => e.split(" ", 1)[0]))) {
      out.push(`no ${kind} prefix-list ${name}`);
    }
  }
  return { lines: out, empty };
}

function desiredMapNames(desired: RenderedExpose): Set<string> {
  return new Set(desired.routeMaps.map((b) => b.header.split(" ")[1]));
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
