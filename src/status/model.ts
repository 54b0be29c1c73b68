/**
 * The agent's status: what `/status` serves, `/readyz` decides on and `vpnv4-agent status`
 * prints. The reconcile loop produces it; the HTTP layer only reads it.
 */
import type { Rejection } from "../tenants/mod.ts";

/** A tenant source's state. */
export interface SourceStatus {
  /** e.g. `file:/etc/vpnv4-agent/tenants.yaml`, `ovn:unix:/run/ovn/ovnnb_db.sock`. */
  id: string;
  /** Delivered at least one complete view. */
  synced: boolean;
  /** ISO time of the last update delivered. */
  lastUpdate?: string;
  /** The last problem (e.g. an invalid edit of the tenants file; the last good set is kept). */
  error?: string;
  /** For sources with a database connection: whether it is up now (the last view stays). */
  connected?: boolean;
}

/** The planes the reconcile loop drives. */
export type PlaneName = "kernel" | "frr" | "import" | "expose";

/** One plane's state. */
export interface PlaneStatus {
  name: PlaneName;
  /** The plane can be used at all (e.g. kernel plane: netlink socket opened, VRF support). */
  usable: boolean;
  /** ISO time of the last reconcile of this plane, and how long it took. */
  lastRun?: string;
  lastDurationMs?: number;
  /** The last reconcile succeeded for every tenant. */
  ok: boolean;
  /** The last plane-level error (with causes), if any. */
  error?: string;
  /** Non-fatal notes, e.g. "MPLS not available: control plane only". */
  warnings: string[];
}

/** One tenant's state. */
export interface TenantStatus {
  name: string;
  vrf: string;
  table: number;
  rd: string;
  rt: string;
  prefixes: { ipv4: number; ipv6: number };
  /** ISO time of the last successful apply of this tenant (all planes). */
  lastApply?: string;
  /** Per-plane errors for this tenant, e.g. `{ kernel: "EEXIST …" }`. */
  errors: Partial<Record<PlaneName, string>>;
  /** Routes imported from the VPN into OVN for this tenant (return path). */
  importedRoutes: number;
}

/** A BGP peer as FRR reports it. */
export interface PeerStatus {
  address: string;
  remoteAsn: number;
  description?: string;
  /** FRR's state text: Established, Active, Connect, Idle, … (`unknown` if FRR didn't say). */
  state: string;
  /** Seconds established, if established. */
  uptimeSeconds?: number;
  /** Per family (`ipv4Vpn`, `ipv6Vpn`, `ipv4Unicast`, `ipv6Unicast`): prefixes sent/received. */
  families: Record<string, { sent?: number; received?: number }>;
}

/** The whole status document. Secrets (BGP passwords, TLS keys) never appear in it. */
export interface AgentStatus {
  version: string;
  startedAt: string;
  /** Ready: every source synced once, FRR reachable, kernel plane usable. */
  ready: boolean;
  /** Why not ready (empty when ready). */
  notReady: string[];
  sources: SourceStatus[];
  planes: PlaneStatus[];
  tenants: TenantStatus[];
  peers: PeerStatus[];
  /** Dropped source data (hostile rows, policy violations), newest first, capped. */
  rejected: Rejection[];
}
