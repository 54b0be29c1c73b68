/**
 * What the allocator gives every tenant. The renderer, the kernel plane and status all read this.
 */

/** A tenant's stable allocation. */
export interface Allocation {
  /** Tenant name (validated, see `TENANT_NAME`). */
  readonly tenant: string;
  /** Linux VRF device name: a valid interface name (1-15 bytes of A-Z a-z 0-9 . _ -). */
  readonly vrf: string;
  /** Route table id: within the configured range, never 0 or 253-255. */
  readonly table: number;
  /** Route distinguisher text, `ASN:NN` or `IPv4:NN`. */
  readonly rd: string;
  /** Route target text (import and export), `ASN:NN` or `IPv4:NN`. */
  readonly rt: string;
}
