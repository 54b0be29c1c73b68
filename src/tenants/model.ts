/**
 * The tenant model shared by every source and plane.
 *
 * Sources (tenants file, OVN NB) produce {@link RawTenant}s: names and prefix texts exactly as
 * found. {@link buildTenantSet} turns them into a validated {@link TenantSet}: names checked,
 * prefixes parsed, policy applied, cross-tenant conflicts removed. Nothing reaches the kernel
 * or vtysh without passing through it.
 */
import type { IpPrefix } from "../net/mod.ts";

/** Tenant names: what Kubernetes namespaces and OpenStack project ids look like. */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Route distinguisher / route target text: `ASN:NN` or `IPv4:NN`. */
export type RouteTargetText = string;

/** A tenant as a source reports it, before validation. */
export interface RawTenant {
  /** Tenant (namespace / project) name as found. */
  name: string;
  /** Prefix texts (CIDR); bare addresses are taken as host prefixes. */
  prefixes: readonly string[];
  /** Optional per-tenant RT override (tenants file only). */
  rt?: RouteTargetText;
  /** Optional per-tenant RD override (tenants file only). */
  rd?: RouteTargetText;
  /** Where this tenant came from, e.g. `file:/etc/…` or `ovn` (for messages). */
  origin?: string;
}

/** A validated tenant. */
export interface Tenant {
  readonly name: string;
  /** Unique, canonical, sorted (IPv4 first). */
  readonly prefixes: readonly IpPrefix[];
  readonly rt?: RouteTargetText;
  readonly rd?: RouteTargetText;
}

/** Something that was dropped, and why. */
export interface Rejection {
  tenant: string;
  /** The offending prefix text, when the rejection is about one prefix. */
  prefix?: string;
  reason: string;
  origin?: string;
}

/** The complete desired tenant set handed to the reconcile loop. */
export interface TenantSet {
  /** Validated tenants by name. */
  readonly tenants: ReadonlyMap<string, Tenant>;
  /** What was dropped (logged once by the caller and shown in status). */
  readonly rejected: readonly Rejection[];
}

/** One update from a source: its complete current view plus a hint of what changed. */
export interface SourceUpdate {
  /** Complete view of this source (not a delta). */
  tenants: RawTenant[];
  /** Names of tenants that changed since the previous update, when the source knows. */
  changed?: ReadonlySet<string>;
}

/** The connection of a source to its database changed. */
export interface SourceConnection {
  connected: boolean;
  /** Why it was lost. */
  reason?: string;
}

/** A tenant source: tenants file, OVN NB, … */
export interface TenantSource {
  /** Short id for logs and status, e.g. `file:/etc/vpnv4-agent/tenants.yaml`. */
  readonly id: string;
  /**
   * Starts watching; `onUpdate` gets a complete view after the initial sync and after every
   * (debounced) change. Resolves once the first view was delivered. `onError` reports problems
   * that do not stop the source (e.g. an invalid edit of the tenants file). Sources with a
   * connection (OVN) report it through `onConnection`: lost (the last view stays in force) and
   * back.
   */
  start(handlers: {
    onUpdate: (update: SourceUpdate) => void;
    onError?: (error: Error) => void;
    onConnection?: (state: SourceConnection) => void;
  }): Promise<void>;
  /** Stops watching and releases resources. */
  stop(): Promise<void>;
}
