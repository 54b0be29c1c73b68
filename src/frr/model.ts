/**
 * Types shared by the renderer, the running-config parser, the diff and the apply.
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { Allocation } from "../allocate/model.ts";
import type { Tenant } from "../tenants/mod.ts";

/** One tenant with its allocation, as the renderer takes it. */
export interface FrrTenantInput {
  readonly tenant: Tenant;
  readonly allocation: Allocation;
}

/** The desired state: the configuration plus every tenant and its allocation. */
export interface FrrInput {
  readonly config: Config;
  readonly tenants: readonly FrrTenantInput[];
}

/** A nested section of a block, e.g. ` address-family ipv4 vpn` … ` exit-address-family`. */
export interface ConfigSection {
  /** Header without indentation, e.g. `address-family ipv4 unicast`. */
  readonly header: string;
  /** Lines inside, trimmed, in order (deeper nesting is flattened). */
  readonly lines: readonly string[];
}

/** A top-level stanza: `router bgp 65000`, `route-map X permit 10`, or a one-line command. */
export interface ConfigBlock {
  /** The top-level line, e.g. `router bgp 65000 vrf demo` or `ip prefix-list X seq 10 permit P`. */
  readonly header: string;
  /** Lines directly inside the block (outside sections), trimmed, in order. */
  readonly lines: readonly string[];
  /** Nested sections in order. */
  readonly sections: readonly ConfigSection[];
  /** Closing line (`exit`, `exit-vrf`), or undefined for one-line commands. */
  readonly end?: string;
}

/** The address families of a tenant VRF. */
export type Family = 4 | 6;

/** The desired FRR state of one tenant. */
export interface DesiredTenant {
  readonly tenant: string;
  readonly vrf: string;
  /** Local ASN of the VRF instance. */
  readonly asn: number;
  readonly rd: string;
  readonly rt: string;
  /** The blocks of this tenant (its `router bgp ASN vrf X` instance). */
  readonly blocks: readonly ConfigBlock[];
}

/** The desired state of one BGP peer. */
export interface DesiredPeer {
  /** Canonical address text. */
  readonly address: string;
  /** Lines inside `router bgp ASN` for this peer, keyed by attribute (`remote-as`, …). */
  readonly lines: ReadonlyMap<string, string>;
  /** Address-family headers in which the peer is activated. */
  readonly activate: readonly string[];
}

/** The desired global (default VRF) BGP instance. */
export interface DesiredGlobal {
  readonly asn: number;
  readonly routerId: string;
  /** Instance-level lines the agent owns (`bgp router-id …`, `no bgp …`). */
  readonly lines: readonly string[];
  readonly peers: readonly DesiredPeer[];
  /** The whole `router bgp ASN` block. */
  readonly block: ConfigBlock;
  /**
   * The export policy shared by every tenant instance: prefix-list entries and route-maps
   * (`VPNV4-EXPORT-V4`, `VPNV4-EXPORT-V6`), IPv4 before IPv6, in application order.
   */
  readonly policy: readonly ConfigBlock[];
}

/** The renderer's output: structured for the incremental apply, text for `render`. */
export interface RenderedFrrConfig {
  readonly global: DesiredGlobal;
  /** Tenants sorted by VRF name. */
  readonly tenants: readonly DesiredTenant[];
  /** Every block in application order. */
  readonly blocks: readonly ConfigBlock[];
  /** The complete configuration text (ends with a newline). */
  readonly text: string;
}
