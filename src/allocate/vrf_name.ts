/**
 * VRF device names. A tenant keeps its own name as VRF name when that is short, plain and
 * cannot be mistaken for anything else; otherwise it gets `vt` + 10 base32 characters of the
 * sha256 of its name (probing `name#1`, `name#2`, … on collision).
 */
import { type HashFunction, hashToBase32, sha256 } from "./hash.ts";

/** Prefix of hashed VRF names; a tenant name starting with it is never used as-is. */
export const HASHED_VRF_PREFIX = "vt";
/** Base32 characters after {@link HASHED_VRF_PREFIX} (50 bits). */
export const HASHED_VRF_CHARS = 10;
/** Longest tenant name used as-is (leaves room for suffixes other tools may add). */
export const READABLE_VRF_MAX = 10;
/** Linux IFNAMSIZ - 1. */
export const IFNAME_MAX = 15;

/** Names that mean something else to iproute2, the kernel or FRR. */
export const RESERVED_VRF_NAMES: ReadonlySet<string> = new Set([
  "lo",
  "default",
  "all",
  "none",
  "main",
  "local",
  "unspec",
]);

/**
 * Names that look like host interfaces (`eth0`, `bond0`, `br-int`, `vxlan100`, `docker0`, …): a
 * namespace called `br-int` must never become a VRF device competing with the OVS bridge.
 */
const HOST_IFNAME_LOOKALIKE =
  /^(eth|ens|enp|eno|enx|wlan|wlp|bond|team|veth|vxlan|vlan|tun|tap|dummy|gre|br|ovs|ovn|docker|cni|genev)[0-9-]/;

const READABLE = /^[a-z0-9][a-z0-9-]*$/;

/** Whether `name` is a valid Linux interface name of the kind the agent creates. */
export function isValidIfName(name: string): boolean {
  return new TextEncoder().encode(name).length <= IFNAME_MAX && /^[A-Za-z0-9._-]+$/.test(name) &&
    name !== "." && name !== "..";
}

/**
 * The tenant name itself when it may be used as VRF name: lowercase `[a-z0-9][a-z0-9-]*`, at
 * most {@link READABLE_VRF_MAX} bytes, not reserved, not starting with
 * {@link HASHED_VRF_PREFIX}, not looking like a host interface. Otherwise undefined.
 */
export function readableVrfName(tenant: string): string | undefined {
  if (tenant.length > READABLE_VRF_MAX || !READABLE.test(tenant)) return undefined;
  if (RESERVED_VRF_NAMES.has(tenant)) return undefined;
  if (tenant.startsWith(HASHED_VRF_PREFIX)) return undefined;
  if (HOST_IFNAME_LOOKALIKE.test(tenant)) return undefined;
  return tenant;
}

/** Options for {@link hashedVrfName}. */
export interface HashedVrfNameOptions {
  /** Hash function (tests inject colliding ones); default sha256. */
  hash?: HashFunction;
}

/** The `attempt`-th hashed VRF name candidate of a tenant (attempt 0 hashes the bare name). */
export function hashedVrfName(
  tenant: string,
  attempt: number,
  options: HashedVrfNameOptions = {},
): string {
  const hash = options.hash ?? sha256;
  const input = attempt === 0 ? tenant : `${tenant}#${attempt}`;
  return HASHED_VRF_PREFIX + hashToBase32(hash(input), HASHED_VRF_CHARS);
}

/** Options for {@link chooseVrfName}. */
export interface ChooseVrfNameOptions extends HashedVrfNameOptions {
  /** Give up after this many hashed candidates (default 1000). */
  maxAttempts?: number;
}

/**
 * The VRF name for a tenant given the names already taken: the readable name when allowed and
 * free, else the first free hashed candidate. Throws when every candidate is taken (only
 * reachable with a degenerate injected hash).
 */
export function chooseVrfName(
  tenant: string,
  taken: ReadonlySet<string>,
  options: ChooseVrfNameOptions = {},
): string {
  const readable = readableVrfName(tenant);
  if (readable !== undefined && !taken.has(readable)) return readable;
  const max = options.maxAttempts ?? 1000;
  for (let attempt = 0; attempt < max; attempt++) {
    const candidate = hashedVrfName(tenant, attempt, options);
    if (!taken.has(candidate)) return candidate;
  }
  throw new Error(`no free VRF name for tenant ${tenant} after ${max} hashed candidates`);
}
