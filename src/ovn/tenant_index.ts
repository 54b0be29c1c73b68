/**
 * Incremental index from OVN NB rows to tenants and their prefixes. Pure: fed with
 * decoded rows, it keeps per-tenant prefix reference counts and knows which tenants changed.
 * @module
 */
import { getLogger } from "../log/mod.ts";
import { formatPrefix, type IpPrefix, isDefaultRoute, parsePrefix } from "../net/mod.ts";
import type { RawTenant, Rejection } from "../tenants/model.ts";
import { type PrefixPolicy, tenantNameViolation } from "../tenants/policy.ts";
import {
  parsePortAddresses,
  parseSwitchSubnets,
  type PortAddress,
  WORKLOAD_PORT_TYPES,
} from "./addresses.ts";
import { FastPolicy, v4Mask, v4Net } from "./fast_ip.ts";
import { HeldPrefixes } from "./held_prefixes.ts";
import { type PortEntry, PortTable } from "./port_table.ts";

const log = getLogger("ovn");

/** The Logical_Switch_Port columns the index reads. */
export const LSP_COLUMNS = [
  "type",
  "addresses",
  "dynamic_addresses",
  "external_ids",
] as const;

/** The Logical_Switch columns the index reads (subnet mode only). */
export const LS_COLUMNS = ["ports", "other_config"] as const;

/** A Logical_Switch_Port row as decoded by the OVSDB cache. */
export interface LspRow {
  readonly _uuid: string;
  readonly name?: unknown;
  readonly type?: unknown;
  readonly addresses?: unknown;
  readonly dynamic_addresses?: unknown;
  readonly external_ids?: unknown;
}

/** A Logical_Switch row as decoded by the OVSDB cache. */
export interface LsRow {
  readonly _uuid: string;
  readonly ports?: unknown;
  readonly other_config?: unknown;
}

/** Options for {@link TenantIndex}. */
export interface TenantIndexOptions {
  /** external_ids keys naming the tenant, first match wins. */
  namespaceKeys: readonly string[];
  /** `host`: one /32 or /128 per address; `subnet`: aggregate to subnets. */
  prefixMode: "host" | "subnet";
  /** Per-tenant subnets used first in subnet mode. */
  subnets?: Readonly<Record<string, readonly string[]>>;
  /** Prefix policy: prefixes it refuses are dropped here, logged with the row uuid. */
  policy?: PrefixPolicy;
  /** Origin label of the produced tenants. */
  origin?: string;
}

interface Subnet {
  prefix: IpPrefix;
  text: string;
  net: number;
}

function subnet(prefix: IpPrefix): Subnet {
  return { prefix, text: formatPrefix(prefix), net: prefix.family === 4 ? v4Net(prefix) : 0 };
}

function subnetContains(s: Subnet, a: PortAddress): boolean {
  const p = s.prefix;
  if (p.family !== a.family) return false;
  if (a.family === 4) return ((a.v4 & v4Mask(p.length)) >>> 0) === s.net;
  const b = a.bytes!;
  const full = p.length >> 3;
  for (let i = 0; i < full; i++) if (b[i] !== p.bytes[i]) return false;
  const rest = p.length & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (b[full] & m) === p.bytes[full];
}

const NO_PREFIXES: readonly string[] = Object.freeze([]);

function prefixCount(s: PortEntry): number {
  return typeof s.prefixes === "string" ? 1 : s.prefixes.length;
}

function prefixAt(s: PortEntry, i: number): string {
  return typeof s.prefixes === "string" ? s.prefixes : s.prefixes[i];
}

const MAX_NAME_FOR_LOG = 80;
/** Distinct problems logged per row; later ones are only recorded as rejections. */
const MAX_LOGGED_PER_ROW = 16;

/** The two kinds of rows the index takes: Logical_Switch_Port and Logical_Switch. */
export type IndexedRows = "ports" | "switches";

/**
 * Rows in, tenants out. Call {@link TenantIndex.upsertPort} / {@link TenantIndex.deletePort}
 * / {@link TenantIndex.upsertSwitch} / {@link TenantIndex.deleteSwitch} as rows change, then
 * {@link TenantIndex.takeChanged} and {@link TenantIndex.tenants}. A full snapshot of a table
 * (after reconnecting, from a cache that keeps no rows) goes between
 * {@link TenantIndex.beginSnapshot} and {@link TenantIndex.endSnapshot}: rows it lacks are
 * deleted at the end.
 *
 * The index keeps what each port contributes (its tenant and prefixes, in a
 * {@link PortTable}), never the port rows themselves, except in subnet mode, where a switch
 * change recomputes its ports from their rows.
 */
export class TenantIndex {
  readonly #opts: TenantIndexOptions;
  readonly #configured = new Map<string, Subnet[]>();
  readonly #policy: FastPolicy | undefined;
  /** What each workload port contributes. */
  readonly #ports = new PortTable();
  /** Rows seen in the current snapshot, per kind (undefined: none running, or a first one). */
  #seen: Partial<Record<IndexedRows, Set<string>>> = {};
  readonly #lspRows = new Map<string, LspRow>();
  readonly #lspToLs = new Map<string, string>();
  readonly #lsPorts = new Map<string, Set<string>>();
  readonly #lsSubnets = new Map<string, Subnet[]>();
  /** Per tenant, the prefixes its ports hold (with how many ports hold each). */
  readonly #held = new Map<string, HeldPrefixes>();
  readonly #views = new Map<string, RawTenant>();
  /** The tenant names, sorted (until a tenant comes or goes). */
  #names: string[] | undefined;
  #changed = new Set<string>();
  readonly #logged = new Map<string, Set<string>>();
  readonly #rejections = new Map<string, Rejection[]>();

  constructor(options: TenantIndexOptions) {
    this.#opts = options;
    this.#policy = options.policy ? new FastPolicy(options.policy) : undefined;
    for (const [tenant, list] of Object.entries(options.subnets ?? {})) {
      const parsed: Subnet[] = [];
      for (const s of list) {
        try {
          parsed.push(subnet(parsePrefix(s, { strict: false })));
        } catch (e) {
          log.warning("ovn: configured subnet {subnet} of {tenant} ignored: {error}", {
            subnet: s,
            tenant,
            error: (e as Error).message,
          });
        }
      }
      this.#configured.set(tenant, parsed);
    }
  }

  /** Number of workload ports currently contributing. */
  get portCount(): number {
    return this.#ports.size;
  }

  /**
   * Records a problem of a row as a rejection (current state) and logs it once per row and
   * problem (at most {@link MAX_LOGGED_PER_ROW} distinct problems per row).
   */
  #hostile(uuid: string, tenant: string, reason: string, prefix?: string): void {
    let list = this.#rejections.get(uuid);
    if (!list) this.#rejections.set(uuid, list = []);
    list.push({ tenant, prefix, reason: `row ${uuid}: ${reason}`, origin: this.#opts.origin });
    let set = this.#logged.get(uuid);
    if (!set) this.#logged.set(uuid, set = new Set());
    const key = `${prefix ?? ""}|${reason}`;
    if (set.has(key) || set.size >= MAX_LOGGED_PER_ROW) return;
    set.add(key);
    log.warning("ovn: skipping {what} of Logical_Switch_Port {uuid}: {reason}", {
      what: prefix ?? "row",
      uuid,
      tenant: tenant.slice(0, MAX_NAME_FOR_LOG),
      reason,
    });
  }

  /** Rejections recorded for rows still present (for status and snapshots). */
  rejections(): Rejection[] {
    return [...this.#rejections.values()].flat();
  }

  #tenantOf(row: LspRow): string | undefined {
    const ids = row.external_ids;
    if (!(ids instanceof Map)) return undefined;
    for (const k of this.#opts.namespaceKeys) {
      const v = ids.get(k);
      if (typeof v === "string" && v !== "") return v;
    }
    return undefined;
  }

  #subnetFor(tenant: string, lspUuid: string, a: PortAddress): Subnet | undefined {
    const conf = this.#configured.get(tenant);
    if (conf) { for (const s of conf) if (subnetContains(s, a)) return s; }
    const ls = this.#lspToLs.get(lspUuid);
    const lsSubnets = ls ? this.#lsSubnets.get(ls) : undefined;
    if (lsSubnets) { for (const s of lsSubnets) if (subnetContains(s, a)) return s; }
    if (a.onLink && !isDefaultRoute(a.onLink)) return subnet(a.onLink);
    return undefined;
  }

  #computePort(row: LspRow): PortEntry | undefined {
    const type = typeof row.type === "string" ? row.type : "";
    if (!WORKLOAD_PORT_TYPES.has(type)) return undefined;
    const tenant = this.#tenantOf(row);
    if (tenant === undefined) return undefined;
    const uuid = row._uuid;
    const nameProblem = tenantNameViolation(tenant);
    if (nameProblem) {
      this.#hostile(uuid, tenant, `tenant ${JSON.stringify(tenant.slice(0, 80))}: ${nameProblem}`);
      return undefined;
    }
    const ids = row.external_ids as Map<unknown, unknown>;
    const cidrs = ids.get("neutron:cidrs");
    const addrs = row.addresses;
    const parsed = parsePortAddresses({
      // The cache decodes atoms without checking them against the column type.
      // One entry may come as the string itself (the source monitors it with compactSets).
      addresses: Array.isArray(addrs)
        ? addrs.filter((a): a is string => typeof a === "string")
        : typeof addrs === "string"
        ? [addrs]
        : [],
      dynamic_addresses: typeof row.dynamic_addresses === "string"
        ? row.dynamic_addresses
        : undefined,
      neutronCidrs: typeof cidrs === "string" ? cidrs : undefined,
    });
    for (const p of parsed.problems) this.#hostile(uuid, tenant, p);
    const policy = this.#policy;
    const subnetMode = this.#opts.prefixMode === "subnet";
    const prefixes: string[] = [];
    for (const a of parsed.addresses) {
      const s = subnetMode ? this.#subnetFor(tenant, uuid, a) : undefined;
      let text: string;
      let violation: string | undefined;
      if (s) {
        text = s.text;
        violation = policy?.violation(s.prefix);
      } else if (a.family === 4) {
        text = `${a.text}/32`;
        violation = policy?.v4Violation(a.v4, 32);
      } else {
        text = `${a.text}/128`;
        violation = policy?.violation({ family: 6, bytes: a.bytes!, length: 128 });
      }
      if (violation) {
        this.#hostile(uuid, tenant, violation, text);
        continue;
      }
      if (!prefixes.includes(text)) prefixes.push(text);
    }
    return {
      tenant,
      prefixes: prefixes.length === 1
        ? prefixes[0]
        : prefixes.length === 0
        ? NO_PREFIXES
        : prefixes.slice(),
    };
  }

  /** Replaces what port `uuid` contributes by `next`. */
  #apply(uuid: string, next: PortEntry | undefined): void {
    const prev = this.#ports.get(uuid);
    // Add the new contribution before removing the old so a prefix kept by the same tenant
    // never drops to zero and the tenant is not reported as changed.
    if (next) {
      let held = this.#held.get(next.tenant);
      if (!held) {
        this.#held.set(next.tenant, held = new HeldPrefixes(next.tenant));
        this.#names = undefined;
      }
      for (let i = 0, n = prefixCount(next); i < n; i++) {
        if (held.add(prefixAt(next, i))) this.#markChanged(next.tenant);
      }
      // The tenant's one name string, not the row's copy of it.
      this.#ports.set(uuid, { tenant: held.tenant, prefixes: next.prefixes });
    } else {
      this.#ports.delete(uuid);
    }
    // A port without prefixes holds no counts (its tenant may have none left at all).
    const held = prev && prefixCount(prev) > 0 ? this.#held.get(prev.tenant) : undefined;
    if (prev && held) {
      for (let i = 0, n = prefixCount(prev); i < n; i++) {
        // Undefined (nothing held) only for an inconsistent previous row (a caller's bug).
        if (held.remove(prefixAt(prev, i))) this.#markChanged(prev.tenant);
      }
      if (held.size === 0) {
        this.#held.delete(prev.tenant);
        this.#names = undefined;
      }
    }
    if (next && this.#held.get(next.tenant)?.size === 0) {
      this.#held.delete(next.tenant);
      this.#names = undefined;
    }
  }

  #markChanged(tenant: string): void {
    this.#changed.add(tenant);
    this.#views.delete(tenant);
  }

  #recompute(uuid: string): void {
    const row = this.#lspRows.get(uuid);
    this.#apply(uuid, row ? this.#computePort(row) : undefined);
  }

  /** A port row was added or changed (the whole row: the monitored columns). */
  upsertPort(row: LspRow): void {
    // Rows are kept only for subnet mode, where switch changes recompute their ports; in host
    // mode a port depends on its row alone.
    if (this.#opts.prefixMode === "subnet") this.#lspRows.set(row._uuid, row);
    this.#seen.ports?.add(row._uuid);
    // Rejections describe the current row; the logged set survives so a hostile row that
    // keeps changing is not logged again for the same problem.
    this.#rejections.delete(row._uuid);
    this.#apply(row._uuid, this.#computePort(row));
  }

  /** A port row was deleted. */
  deletePort(uuid: string): void {
    this.#lspRows.delete(uuid);
    this.#logged.delete(uuid);
    this.#rejections.delete(uuid);
    this.#apply(uuid, undefined);
  }

  /**
   * A full snapshot of the ports or switches follows (each row through the upsert method).
   * Nothing is tracked while the index holds none of them (the first sync).
   */
  beginSnapshot(kind: IndexedRows): void {
    const empty = kind === "ports"
      ? this.#ports.size === 0 && this.#lspRows.size === 0 && this.#logged.size === 0
      : this.#lsPorts.size === 0;
    this.#seen[kind] = empty ? undefined : new Set();
  }

  /** The snapshot is complete: rows it did not contain are deleted. */
  endSnapshot(kind: IndexedRows): void {
    const seen = this.#seen[kind];
    this.#seen[kind] = undefined;
    if (!seen) return;
    if (kind === "switches") {
      for (const uuid of [...this.#lsPorts.keys()]) if (!seen.has(uuid)) this.deleteSwitch(uuid);
      return;
    }
    const known = new Set([
      ...this.#ports.uuids(),
      ...this.#lspRows.keys(),
      ...this.#logged.keys(),
      ...this.#rejections.keys(),
    ]);
    for (const uuid of known) if (!seen.has(uuid)) this.deletePort(uuid);
  }

  /** A switch row was added or changed (ports and subnets). */
  upsertSwitch(row: LsRow): void {
    this.#seen.switches?.add(row._uuid);
    const ports = new Set(
      Array.isArray(row.ports) ? row.ports.filter((p): p is string => typeof p === "string") : [],
    );
    const problems: string[] = [];
    const oc = row.other_config instanceof Map ? row.other_config : undefined;
    const subnets = parseSwitchSubnets(oc, problems).map(subnet);
    for (const p of problems) {
      log.warning("ovn: Logical_Switch {uuid}: {problem}", { uuid: row._uuid, problem: p });
    }
    const oldSubnets = this.#lsSubnets.get(row._uuid) ?? [];
    const subnetsChanged = oldSubnets.length !== subnets.length ||
      oldSubnets.some((s, i) => s.text !== subnets[i].text);
    this.#lsSubnets.set(row._uuid, subnets);
    const oldPorts = this.#lsPorts.get(row._uuid) ?? new Set<string>();
    this.#lsPorts.set(row._uuid, ports);
    const dirty = new Set<string>();
    for (const p of oldPorts) {
      if (!ports.has(p) && this.#lspToLs.get(p) === row._uuid) {
        this.#lspToLs.delete(p);
        dirty.add(p);
      }
    }
    for (const p of ports) {
      if (this.#lspToLs.get(p) !== row._uuid) {
        this.#lspToLs.set(p, row._uuid);
        dirty.add(p);
      } else if (subnetsChanged) dirty.add(p);
    }
    if (this.#opts.prefixMode === "subnet") { for (const p of dirty) this.#recompute(p); }
  }

  /** A switch row was deleted. */
  deleteSwitch(uuid: string): void {
    const ports = this.#lsPorts.get(uuid) ?? new Set<string>();
    this.#lsPorts.delete(uuid);
    this.#lsSubnets.delete(uuid);
    for (const p of ports) {
      if (this.#lspToLs.get(p) === uuid) {
        this.#lspToLs.delete(p);
        if (this.#opts.prefixMode === "subnet") this.#recompute(p);
      }
    }
  }

  /** Returns and clears the names of tenants whose prefix set changed. */
  takeChanged(): Set<string> {
    const c = this.#changed;
    this.#changed = new Set();
    return c;
  }

  /** The complete current view: tenants with at least one prefix, sorted by name. */
  tenants(): RawTenant[] {
    const out: RawTenant[] = [];
    const names = this.#names ??= [...this.#held.keys()].sort();
    for (const name of names) {
      let v = this.#views.get(name);
      if (!v) {
        v = {
          name,
          // Shared with the index until the tenant's set changes (then replaced, not changed).
          prefixes: this.#held.get(name)!.sorted(),
          origin: this.#opts.origin,
        };
        this.#views.set(name, v);
      }
      out.push(v);
    }
    return out;
  }
}
