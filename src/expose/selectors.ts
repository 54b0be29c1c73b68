/**
 * The selectors: from OVN NB (and SB) rows and this chassis' identity to the host and subnet
 * routes this chassis exposes. Pure: no I/O; every value is validated here, so nothing that
 * leaves this module can be a default route, a hostile address or an unparsed string.
 *
 * Where a port is bound:
 * - `sb`: `Port_Binding.chassis` of the row whose `logical_port` is the port's name
 *   (`cr-<lrp>` for gateway router ports);
 * - `nb`: `Logical_Switch_Port.options:requested-chassis` (first of a comma list during a
 *   live migration), the highest-priority `Gateway_Chassis` of a router port.
 * @module
 */
import type { ExposeConfig } from "../config/mod.ts";
import {
  comparePrefixes,
  formatPrefix,
  type IpPrefix,
  parsePrefix,
  prefixContains,
  tryParseIp,
  tryParsePrefix,
} from "../net/mod.ts";
import type { Row } from "../ovsdb/mod.ts";
import { parsePortAddresses, parseSwitchSubnets, WORKLOAD_PORT_TYPES } from "../ovn/addresses.ts";
import type {
  ChassisIdentity,
  ExposedPrefix,
  ExposeReason,
  ExposeRejection,
  ExposureSet,
} from "./model.ts";
import { num, printable, strMap, text, texts } from "./rows.ts";

/** The rows the selectors read (from the NB and, for binding_source sb, SB caches). */
export interface ExposeTables {
  readonly switches: Iterable<Row>;
  readonly ports: Iterable<Row>;
  readonly routerPorts: Iterable<Row>;
  readonly gatewayChassis: Iterable<Row>;
  readonly nats: Iterable<Row>;
  /** SB Chassis rows (binding_source sb). */
  readonly chassis?: Iterable<Row>;
  /** SB Port_Binding rows (binding_source sb). */
  readonly bindings?: Iterable<Row>;
}

/** The configuration fields the selectors read. */
export type SelectorSettings = Pick<
  ExposeConfig,
  "binding_source" | "families" | "select" | "subnets" | "aggregate" | "allowed"
>;

/** The external_ids key OVN-Kubernetes uses to name a user-defined network. */
export const NETWORK_KEY = "k8s.ovn.org/network";
/** The external_ids key OVN-Kubernetes uses for the namespace of a pod/VM port. */
export const NAMESPACE_KEY = "k8s.ovn.org/namespace";

/** Shortest subnet exposed per family (shorter ones are treated as hostile). */
const MIN_SUBNET = { 4: 8, 6: 16 } as const;

const V4_FORBIDDEN = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"].map((p) =>
  parsePrefix(p)
);
const V6_FORBIDDEN = ["::/127", "::ffff:0:0/96", "fe80::/10", "ff00::/8"].map((p) =>
  parsePrefix(p)
);

/** Why an address or subnet may never be exposed (special-purpose ranges), or undefined. */
export function forbiddenReason(p: IpPrefix): string | undefined {
  if (p.length === 0) return "default route";
  const hostLen = p.family === 4 ? 32 : 128;
  if (p.length < hostLen && p.length < MIN_SUBNET[p.family]) {
    return `subnet shorter than /${MIN_SUBNET[p.family]}`;
  }
  for (const f of p.family === 4 ? V4_FORBIDDEN : V6_FORBIDDEN) {
    if (prefixContains(f, p)) return `inside special-purpose range ${formatPrefix(f)}`;
  }
  return undefined;
}

interface Binding {
  /** Is the port bound to this chassis? */
  here(port: string): boolean;
  /** Is the gateway router port `lrp` (its cr-lrp) bound to this chassis? */
  gatewayHere(lrp: Row): boolean;
}

function sbBinding(tables: ExposeTables, me: ChassisIdentity): Binding {
  const mine = new Set<string>();
  for (const c of tables.chassis ?? []) {
    if (text(c, "name") === me.name) mine.add(c._uuid);
  }
  const bound = new Set<string>();
  for (const pb of tables.bindings ?? []) {
    const chassis = pb.chassis;
    const port = text(pb, "logical_port");
    if (port !== undefined && typeof chassis === "string" && mine.has(chassis)) bound.add(port);
  }
  return {
    here: (port) => bound.has(port),
    gatewayHere: (lrp) => {
      const name = text(lrp, "name");
      return name !== undefined && bound.has(`cr-${name}`);
    },
  };
}

function nbBinding(tables: ExposeTables, me: ChassisIdentity): Binding {
  const names = new Set([me.name, ...(me.hostname ? [me.hostname] : [])]);
  const requested = new Map<string, string>();
  for (const p of tables.ports) {
    const name = text(p, "name");
    const rc = strMap(p, "options").get("requested-chassis");
    if (name !== undefined && rc !== undefined) requested.set(name, rc.split(",")[0].trim());
  }
  const gc = new Map<string, { chassis?: string; priority: number }>();
  for (const g of tables.gatewayChassis) {
    gc.set(g._uuid, { chassis: text(g, "chassis_name"), priority: num(g, "priority") ?? 0 });
  }
  return {
    here: (port) => names.has(requested.get(port) ?? "\0"),
    gatewayHere: (lrp) => {
      let best: { chassis?: string; priority: number } | undefined;
      for (const ref of texts(lrp, "gateway_chassis")) {
        const g = gc.get(ref);
        if (g && (!best || g.priority > best.priority)) best = g;
      }
      const chassis = best?.chassis ?? strMap(lrp, "options").get("requested-chassis");
      return chassis !== undefined && names.has(chassis);
    },
  };
}

class Collector {
  readonly hosts = new Map<string, ExposedPrefix>();
  readonly subnets = new Map<string, ExposedPrefix>();
  readonly rejected: ExposeRejection[] = [];
  readonly #families: ReadonlySet<number>;
  readonly #allowed: IpPrefix[];

  constructor(settings: SelectorSettings) {
    this.#families = new Set(settings.families.map((f) => (f === "ipv4" ? 4 : 6)));
    this.#allowed = settings.allowed.map((a) => parsePrefix(a));
  }

  #check(p: IpPrefix, where: string): boolean {
    if (!this.#families.has(p.family)) return false;
    const bad = forbiddenReason(p);
    if (bad) {
      this.rejected.push({ where, reason: `${formatPrefix(p)}: ${bad}` });
      return false;
    }
    if (!this.#allowed.some((a) => prefixContains(a, p))) {
      this.rejected.push({ where, reason: `${formatPrefix(p)}: outside expose.allowed` });
      return false;
    }
    return true;
  }

  add(
    p: IpPrefix,
    entry: { reason: ExposeReason; port: string; where: string },
  ): boolean {
    if (!this.#check(p, entry.where)) return false;
    const t = formatPrefix(p);
    const host = p.length === (p.family === 4 ? 32 : 128);
    const map = host ? this.hosts : this.subnets;
    const key = `${entry.port}\0${t}`;
    if (!map.has(key)) map.set(key, { prefix: p, text: t, reason: entry.reason, port: entry.port });
    return true;
  }
}

function host(family: 4 | 6, bytes: Uint8Array): IpPrefix {
  return { family, bytes, length: family === 4 ? 32 : 128 };
}

function sorted(map: Map<string, ExposedPrefix>): ExposedPrefix[] {
  return [...map.values()].sort((a, b) =>
    comparePrefixes(a.prefix, b.prefix) || (a.port < b.port ? -1 : a.port > b.port ? 1 : 0)
  );
}

/** Does the layer-2 selector pick this port of this switch? */
function layer2Match(
  l2: SelectorSettings["select"]["layer2"],
  sw: Row | undefined,
  port: Row,
): boolean {
  const active = l2.networks.length > 0 || l2.namespaces.length > 0 ||
    Object.keys(l2.external_ids).length > 0;
  if (!active) return false;
  const ids = strMap(port, "external_ids");
  if (l2.networks.length > 0) {
    if (!sw) return false;
    const name = text(sw, "name");
    const net = strMap(sw, "external_ids").get(NETWORK_KEY);
    if (!l2.networks.some((n) => n === name || n === net)) return false;
  }
  if (l2.namespaces.length > 0 && !l2.namespaces.includes(ids.get(NAMESPACE_KEY) ?? "\0")) {
    return false;
  }
  for (const [k, v] of Object.entries(l2.external_ids)) if (ids.get(k) !== v) return false;
  return true;
}

/**
 * Computes what this chassis exposes. Rows with unparsable or hostile values are skipped
 * and listed in `rejected`; nothing in the result can be a default route or lie outside
 * `allowed`.
 */
export function selectExposure(
  input: ExposeTables,
  options: { chassis: ChassisIdentity; settings: SelectorSettings },
): ExposureSet {
  const { chassis, settings } = options;
  // Row iterables may be one-shot iterators (cache.rows()): read each once.
  const tables: ExposeTables = {
    switches: [...input.switches],
    ports: [...input.ports],
    routerPorts: [...input.routerPorts],
    gatewayChassis: [...input.gatewayChassis],
    nats: [...input.nats],
    chassis: input.chassis ? [...input.chassis] : undefined,
    bindings: input.bindings ? [...input.bindings] : undefined,
  };
  const sel = settings.select;
  const out = new Collector(settings);
  const binding = settings.binding_source === "sb"
    ? sbBinding(tables, chassis)
    : nbBinding(tables, chassis);

  // Switch of each port, provider (localnet) switches, switch subnets.
  const switchOf = new Map<string, Row>();
  const provider = new Set<string>();
  const switchSubnets = new Map<string, IpPrefix[]>();
  const portsByUuid = new Map<string, Row>();
  for (const p of tables.ports) portsByUuid.set(p._uuid, p);
  for (const sw of tables.switches) {
    for (const ref of texts(sw, "ports")) {
      switchOf.set(ref, sw);
      if (text(portsByUuid.get(ref) ?? { _uuid: "" }, "type") === "localnet") {
        provider.add(sw._uuid);
      }
    }
    const problems: string[] = [];
    switchSubnets.set(sw._uuid, parseSwitchSubnets(strMap(sw, "other_config"), problems));
    for (const pr of problems) {
      out.rejected.push({ where: `Logical_Switch ${sw._uuid}`, reason: pr });
    }
  }
  // Router port networks: gateway IPs and the subnets FIPs live in.
  const routerNets: { port: string; net: IpPrefix; addr: IpPrefix; row: Row }[] = [];
  for (const lrp of tables.routerPorts) {
    const name = text(lrp, "name");
    if (name === undefined) continue;
    for (const n of texts(lrp, "networks")) {
      const slash = n.indexOf("/");
      const ip = tryParseIp(slash < 0 ? n : n.slice(0, slash));
      const net = tryParsePrefix(n, { strict: false });
      if (!ip || !net || slash < 0) {
        out.rejected.push({
          where: `Logical_Router_Port ${printable(name)}`,
          reason: `networks: ${printable(n)} is not ADDR/LEN`,
        });
        continue;
      }
      routerNets.push({ port: name, net, addr: host(ip.family, ip.bytes), row: lrp });
    }
  }
  const subnetOf = (addr: IpPrefix, candidates: Iterable<IpPrefix>) => {
    const found: IpPrefix[] = [];
    for (const c of candidates) {
      if (c.length < addr.length && prefixContains(c, addr)) found.push(c);
    }
    return found;
  };

  // Workload ports.
  for (const p of tables.ports) {
    const name = text(p, "name");
    const type = text(p, "type") ?? "";
    if (name === undefined || !WORKLOAD_PORT_TYPES.has(type) || !binding.here(name)) continue;
    const sw = switchOf.get(p._uuid);
    let reason: ExposeReason | undefined;
    if (sel.provider_networks && sw && provider.has(sw._uuid)) reason = "provider";
    else if (layer2Match(sel.layer2, sw, p)) reason = "layer2";
    else if (sel.tenant_networks && !(sw && provider.has(sw._uuid))) reason = "tenant";
    if (!reason) continue;
    const where = `Logical_Switch_Port ${printable(name)}`;
    const parsed = parsePortAddresses({
      addresses: texts(p, "addresses"),
      dynamic_addresses: text(p, "dynamic_addresses"),
    });
    for (const pr of parsed.problems) out.rejected.push({ where, reason: pr });
    for (const a of parsed.addresses) {
      const bytes = a.bytes ?? tryParseIp(a.text)!.bytes;
      const h = host(a.family, bytes);
      if (!out.add(h, { reason, port: name, where })) continue;
      if (!settings.subnets) continue;
      const candidates = [...(sw ? switchSubnets.get(sw._uuid) ?? [] : [])];
      if (a.onLink) candidates.push(a.onLink);
      for (const s of subnetOf(h, candidates)) out.add(s, { reason, port: name, where });
    }
  }

  // Floating IPs whose logical port is bound here.
  if (sel.floating_ips) {
    for (const nat of tables.nats) {
      if (text(nat, "type") !== "dnat_and_snat") continue;
      const port = text(nat, "logical_port");
      if (port === undefined || !binding.here(port)) continue;
      const where = `NAT ${nat._uuid}`;
      const raw = text(nat, "external_ip") ?? "";
      const ip = tryParseIp(raw);
      if (!ip) {
        out.rejected.push({ where, reason: `external_ip ${printable(raw)} is not an IP address` });
        continue;
      }
      const h = host(ip.family, ip.bytes);
      if (!out.add(h, { reason: "floating_ip", port, where }) || !settings.subnets) continue;
      for (const s of subnetOf(h, routerNets.map((r) => r.net))) {
        out.add(s, { reason: "floating_ip", port, where });
      }
    }
  }

  // Gateway router ports (cr-lrp) bound here.
  if (sel.gateway_ports) {
    for (const r of routerNets) {
      if (!binding.gatewayHere(r.row)) continue;
      const where = `Logical_Router_Port ${printable(r.port)}`;
      if (!out.add(r.addr, { reason: "gateway", port: r.port, where })) continue;
      if (settings.subnets && r.net.length < r.addr.length) {
        out.add(r.net, { reason: "gateway", port: r.port, where });
      }
    }
  }

  let hosts = sorted(out.hosts);
  const subnets = sorted(out.subnets);
  if (settings.aggregate && subnets.length > 0) {
    hosts = hosts.filter((h) => !subnets.some((s) => prefixContains(s.prefix, h.prefix)));
  }
  return { hosts, subnets, rejected: out.rejected };
}

/** The unique prefixes of an exposure (hosts and subnets), sorted: what goes in the table. */
export function exposedPrefixes(set: Pick<ExposureSet, "hosts" | "subnets">): IpPrefix[] {
  const seen = new Map<string, IpPrefix>();
  for (const e of [...set.hosts, ...set.subnets]) if (!seen.has(e.text)) seen.set(e.text, e.prefix);
  return [...seen.values()].sort(comparePrefixes);
}
