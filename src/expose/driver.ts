/**
 * The upstream ovn-bgp-agent driver contract (`AgentDriverBase`) as an internal interface,
 * and its two implementations:
 *
 * - {@link ExposeModeDriver}: chassis-local host and subnet routes in the expose table
 *   (kernel) advertised over ipv4/ipv6 unicast through the agent's FRR route-maps;
 * - {@link Vpnv4ModeDriver}: the same calls mapped onto the tenant model (the IP's
 *   namespace is the tenant) and exported as VPNv4/VPNv6 by the reconcile loop.
 *
 * Semantics carried over from upstream: `expose_ip`/`withdraw_ip` take the IPs of one row
 * (a port) and are reference counted per row, so two rows exposing the same IP keep it until
 * both withdrew; `sync` rebuilds everything from the source of truth (dropping what no row
 * wants), `frr_sync` re-ensures the FRR configuration only.
 * @module
 */
import {
  formatPrefix,
  type IpPrefix,
  parsePrefix,
  prefixContains,
  tryParseIp,
} from "../net/mod.ts";
import { getLogger } from "../log/mod.ts";
import type { RawTenant, SourceUpdate, TenantSource } from "../tenants/model.ts";
import type { ExposureSet, PortRef } from "./model.ts";
import { forbiddenReason } from "./selectors.ts";

const log = getLogger("expose");

/** The driver contract of upstream ovn-bgp-agent (`AgentDriverBase`), asynchronous. */
export interface BgpDriver {
  /** `expose` or `vpnv4`. */
  readonly mode: "expose" | "vpnv4";
  /** Advertise the IPs of `row` (a port bound here, a FIP, a cr-lrp). */
  exposeIp(ips: readonly string[], row: PortRef): Promise<void>;
  /** Stop advertising the IPs of `row`. */
  withdrawIp(ips: readonly string[], row: PortRef): Promise<void>;
  /** Advertise IPs of ports bound elsewhere that this chassis routes for (cr-lrp tenants). */
  exposeRemoteIp(ips: readonly string[], row: PortRef): Promise<void>;
  /** Stop advertising remote IPs of `row`. */
  withdrawRemoteIp(ips: readonly string[], row: PortRef): Promise<void>;
  /** Advertise a subnet (CIDR) on behalf of `row`. */
  exposeSubnet(subnet: string, row: PortRef): Promise<void>;
  /** Stop advertising a subnet on behalf of `row`. */
  withdrawSubnet(subnet: string, row: PortRef): Promise<void>;
  /** Rebuild everything from the source of truth (periodic resync). */
  sync(): Promise<void>;
  /** Re-ensure the FRR configuration (after an FRR restart or a config change). */
  frrSync(): Promise<void>;
}

/** An IP or subnet a driver refused, and why. */
export class DriverInputError extends Error {
  override name = "DriverInputError";
}

/** Parses an IP (`ADDR` or `ADDR/LEN` as upstream passes them) to its host prefix. */
export function hostOf(ip: string): IpPrefix {
  if (typeof ip !== "string" || ip.length > 64) throw new DriverInputError("not an IP address");
  const slash = ip.indexOf("/");
  const addr = tryParseIp(slash < 0 ? ip : ip.slice(0, slash));
  if (!addr) throw new DriverInputError(`${JSON.stringify(ip.slice(0, 64))} is not an IP address`);
  const p = { family: addr.family, bytes: addr.bytes, length: addr.family === 4 ? 32 : 128 };
  const bad = forbiddenReason(p);
  if (bad) throw new DriverInputError(`${formatPrefix(p)}: ${bad}`);
  return p;
}

/** Parses a subnet (host bits may be set, as in `10.0.0.1/24`) and rejects hostile ones. */
export function subnetOf(subnet: string): IpPrefix {
  if (typeof subnet !== "string" || subnet.length > 64) {
    throw new DriverInputError("not a subnet");
  }
  let p: IpPrefix;
  try {
    p = parsePrefix(subnet, { strict: false });
  } catch (e) {
    throw new DriverInputError(`${JSON.stringify(subnet.slice(0, 64))}: ${(e as Error).message}`);
  }
  const bad = forbiddenReason(p);
  if (bad) throw new DriverInputError(`${formatPrefix(p)}: ${bad}`);
  return p;
}

function portKey(row: PortRef): string {
  if (!row || typeof row.logicalPort !== "string" || row.logicalPort.length === 0) {
    throw new DriverInputError("row without a logical port name");
  }
  return row.logicalPort;
}

/** Reference-counted prefixes: prefix text → (prefix, rows that want it). */
class RefSet {
  readonly #entries = new Map<string, { prefix: IpPrefix; refs: Set<string> }>();

  add(p: IpPrefix, ref: string): boolean {
    const t = formatPrefix(p);
    let e = this.#entries.get(t);
    if (!e) this.#entries.set(t, e = { prefix: p, refs: new Set() });
    const had = e.refs.size > 0;
    e.refs.add(ref);
    return !had;
  }

  remove(p: IpPrefix, ref: string): boolean {
    const t = formatPrefix(p);
    const e = this.#entries.get(t);
    if (!e) return false;
    e.refs.delete(ref);
    if (e.refs.size > 0) return false;
    this.#entries.delete(t);
    return true;
  }

  clear(): void {
    this.#entries.clear();
  }

  prefixes(): IpPrefix[] {
    return [...this.#entries.values()].map((e) => e.prefix);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** What {@link ExposeModeDriver} drives: the expose table (or nic) and FRR. */
export interface ExposeBackend {
  /** Makes the exposed prefixes exactly `prefixes` (network lines, VRF table or bgp-nic). */
  syncPrefixes(prefixes: readonly IpPrefix[]): Promise<void>;
  /** Ensures the agent's expose configuration in FRR. */
  syncFrr(): Promise<void>;
  /** The complete current selection (the source of truth of {@link BgpDriver.sync}). */
  snapshot(): ExposureSet | undefined;
}

/**
 * Expose mode: host routes (/32, /128) and subnets in the expose table, advertised by FRR
 * over ipv4/ipv6 unicast with the configured communities. Calls are coalesced: a burst of
 * expose/withdraw calls becomes one kernel sync.
 */
export class ExposeModeDriver implements BgpDriver {
  readonly mode = "expose" as const;
  readonly #backend: ExposeBackend;
  readonly #allowed: IpPrefix[];
  readonly #hosts = new RefSet();
  readonly #subnets = new RefSet();
  #dirty = false;
  #flushing?: Promise<void>;

  constructor(backend: ExposeBackend, options: { allowed?: readonly string[] } = {}) {
    this.#backend = backend;
    this.#allowed = (options.allowed ?? ["0.0.0.0/0", "::/0"]).map((a) => parsePrefix(a));
  }

  /** Number of host routes and subnets currently wanted. */
  get counts(): { hosts: number; subnets: number } {
    return { hosts: this.#hosts.size, subnets: this.#subnets.size };
  }

  /** The prefixes currently wanted (hosts and subnets). */
  prefixes(): IpPrefix[] {
    return [...this.#hosts.prefixes(), ...this.#subnets.prefixes()];
  }

  #checkAllowed(p: IpPrefix): void {
    if (!this.#allowed.some((a) => prefixContains(a, p))) {
      throw new DriverInputError(`${formatPrefix(p)}: outside expose.allowed`);
    }
  }

  #hostsOf(ips: readonly string[]): IpPrefix[] {
    const out = ips.map(hostOf);
    out.forEach((p) => this.#checkAllowed(p));
    return out;
  }

  async exposeIp(ips: readonly string[], row: PortRef): Promise<void> {
    const ref = portKey(row);
    for (const p of this.#hostsOf(ips)) this.#dirty = this.#hosts.add(p, ref) || this.#dirty;
    await this.#flush();
  }

  async withdrawIp(ips: readonly string[], row: PortRef): Promise<void> {
    const ref = portKey(row);
    for (const p of ips.map(hostOf)) this.#dirty = this.#hosts.remove(p, ref) || this.#dirty;
    await this.#flush();
  }

  exposeRemoteIp(ips: readonly string[], row: PortRef): Promise<void> {
    return this.exposeIp(ips, { ...row, logicalPort: `remote:${portKey(row)}` });
  }

  withdrawRemoteIp(ips: readonly string[], row: PortRef): Promise<void> {
    return this.withdrawIp(ips, { ...row, logicalPort: `remote:${portKey(row)}` });
  }

  async exposeSubnet(subnet: string, row: PortRef): Promise<void> {
    const p = subnetOf(subnet);
    this.#checkAllowed(p);
    this.#dirty = this.#subnets.add(p, portKey(row)) || this.#dirty;
    await this.#flush();
  }

  async withdrawSubnet(subnet: string, row: PortRef): Promise<void> {
    this.#dirty = this.#subnets.remove(subnetOf(subnet), portKey(row)) || this.#dirty;
    await this.#flush();
  }

  /** Replaces the wanted set with the backend's snapshot, then syncs kernel and FRR. */
  async sync(): Promise<void> {
    const snap = this.#backend.snapshot();
    if (snap) {
      this.#hosts.clear();
      this.#subnets.clear();
      for (const h of snap.hosts) this.#hosts.add(h.prefix, h.port);
      for (const s of snap.subnets) this.#subnets.add(s.prefix, s.port);
    }
    this.#dirty = true;
    await this.#flush();
    await this.#backend.syncFrr();
  }

  frrSync(): Promise<void> {
    return this.#backend.syncFrr();
  }

  /** One kernel sync for any number of calls made while a sync runs. */
  async #flush(): Promise<void> {
    await Promise.resolve(); // let the calls of the same burst mutate first
    while (this.#flushing) await this.#flushing.catch(() => {});
    if (!this.#dirty) return;
    this.#dirty = false;
    const wanted = this.prefixes();
    this.#flushing = this.#backend.syncPrefixes(wanted).catch((e) => {
      this.#dirty = true; // retried by the next call or sync
      throw e;
    }).finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
  }
}

/** Options of {@link Vpnv4ModeDriver}. */
export interface Vpnv4DriverOptions {
  /** external_ids keys naming the tenant, first match wins. */
  namespaceKeys: readonly string[];
  /** Called by {@link Vpnv4ModeDriver.frrSync} (e.g. trigger the reconcile loop's FRR plane). */
  onFrrSync?: () => Promise<void>;
  /** Source id (default `driver:vpnv4`). */
  id?: string;
}

/**
 * VPNv4 mode of the driver contract over the tenant model: each call's row names its tenant
 * through `external_ids` (the namespace); the driver is a {@link TenantSource}, so the
 * reconcile loop allocates the tenant's VRF/RD/RT and exports its prefixes as VPNv4/VPNv6.
 * Rows without a tenant are refused ({@link DriverInputError}), never guessed.
 */
export class Vpnv4ModeDriver implements BgpDriver, TenantSource {
  readonly mode = "vpnv4" as const;
  readonly id: string;
  readonly #opts: Vpnv4DriverOptions;
  readonly #tenants = new Map<string, RefSet>();
  /** Last namespace seen per port: a withdraw may come with a row whose ids are gone. */
  readonly #portTenant = new Map<string, string>();
  #onUpdate?: (u: SourceUpdate) => void;

  constructor(options: Vpnv4DriverOptions) {
    this.#opts = options;
    this.id = options.id ?? "driver:vpnv4";
  }

  start(handlers: { onUpdate: (update: SourceUpdate) => void }): Promise<void> {
    this.#onUpdate = handlers.onUpdate;
    this.#emit();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#onUpdate = undefined;
    return Promise.resolve();
  }

  /** The current complete tenant view. */
  tenants(): RawTenant[] {
    return [...this.#tenants].filter(([, s]) => s.size > 0).map(([name, s]) => ({
      name,
      prefixes: s.prefixes().map(formatPrefix),
      origin: this.id,
    }));
  }

  #tenantOf(row: PortRef, withdraw: boolean): { tenant: string; ref: string } {
    const ref = portKey(row);
    for (const k of this.#opts.namespaceKeys) {
      const v = row.externalIds?.get(k);
      if (v) {
        this.#portTenant.set(ref, v);
        return { tenant: v, ref };
      }
    }
    const known = withdraw ? this.#portTenant.get(ref) : undefined;
    if (known) return { tenant: known, ref };
    throw new DriverInputError(
      `row ${JSON.stringify(ref.slice(0, 64))}: none of external_ids ${
        this.#opts.namespaceKeys.join(", ")
      } names a tenant`,
    );
  }

  #emit(changed?: string): void {
    this.#onUpdate?.({
      tenants: this.tenants(),
      changed: changed === undefined ? undefined : new Set([changed]),
    });
  }

  #change(row: PortRef, prefixes: IpPrefix[], add: boolean): void {
    const { tenant, ref } = this.#tenantOf(row, !add);
    let set = this.#tenants.get(tenant);
    if (!set) this.#tenants.set(tenant, set = new RefSet());
    let changed = false;
    for (const p of prefixes) changed = (add ? set.add(p, ref) : set.remove(p, ref)) || changed;
    if (set.size === 0) this.#tenants.delete(tenant);
    if (changed) {
      log.debug("vpnv4 driver: {verb} {n} prefixes of {port} in tenant {tenant}", {
        verb: add ? "exposed" : "withdrew",
        n: prefixes.length,
        port: ref,
        tenant,
      });
      this.#emit(tenant);
    }
  }

  exposeIp(ips: readonly string[], row: PortRef): Promise<void> {
    this.#change(row, ips.map(hostOf), true);
    return Promise.resolve();
  }

  withdrawIp(ips: readonly string[], row: PortRef): Promise<void> {
    this.#change(row, ips.map(hostOf), false);
    return Promise.resolve();
  }

  exposeRemoteIp(ips: readonly string[], row: PortRef): Promise<void> {
    return this.exposeIp(ips, row);
  }

  withdrawRemoteIp(ips: readonly string[], row: PortRef): Promise<void> {
    return this.withdrawIp(ips, row);
  }

  exposeSubnet(subnet: string, row: PortRef): Promise<void> {
    this.#change(row, [subnetOf(subnet)], true);
    return Promise.resolve();
  }

  withdrawSubnet(subnet: string, row: PortRef): Promise<void> {
    this.#change(row, [subnetOf(subnet)], false);
    return Promise.resolve();
  }

  /** Hands the complete view to the reconcile loop again (it reconciles what differs). */
  sync(): Promise<void> {
    this.#emit();
    return Promise.resolve();
  }

  frrSync(): Promise<void> {
    return this.#opts.onFrrSync?.() ?? Promise.resolve();
  }
}
