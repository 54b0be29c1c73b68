/**
 * Generators for the tenant isolation properties: namespace names (valid, long, unicode,
 * hostile, colliding after sanitisation) and prefixes (inside and outside `allowed`, in `deny`,
 * default routes, overlapping and shared across tenants), export policies (`tenants.policy`
 * with nested, equal, host-sized and default ranges) and probes around each policy range's
 * edges, seeded by tests/fuzz/prng.ts.
 * @module
 */
import { Rng } from "../fuzz/prng.ts";
import type { IpPrefix } from "../../src/net/mod.ts";
import type { RawTenant } from "../../src/tenants/mod.ts";

export { Rng };

/** The policy the properties run under. */
export const POLICY_CONFIG = {
  allowed: ["10.0.0.0/8", "fd00::/8"],
  deny: ["10.96.0.0/12"],
  max_prefixes_per_tenant: 1000,
};

const LOWER = "abcdefghijklmnopqrstuvwxyz0123456789";
const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

function word(rng: Rng, alphabet: string, min: number, max: number): string {
  let s = "";
  for (let n = rng.range(min, max); n > 0; n--) s += alphabet[rng.int(alphabet.length)];
  return s;
}

/** Names that collide once case or punctuation is normalised (`a.b`, `a_b`, `a-b`, `A.B`). */
export function collidingNames(rng: Rng): string[] {
  const base = word(rng, "abcdefghijklmnopqrstuvwxyz", 1, 12);
  const tail = word(rng, LOWER, 1, 8);
  return [
    `${base}.${tail}`,
    `${base}_${tail}`,
    `${base}-${tail}`,
    `${base.toUpperCase()}.${tail}`,
    `${base}-${tail}`.toUpperCase(),
  ];
}

/** One namespace name, valid or not. */
export function namespaceName(rng: Rng): string {
  switch (rng.int(12)) {
    case 0:
    case 1:
    case 2:
      return word(rng, LOWER, 1, 10); // readable as VRF name
    case 3:
      return word(rng, "abcdefghijklmnopqrstuvwxyz", 1, 1) + word(rng, NAME_CHARS, 10, 62); // long
    case 4:
      return rng.pick(collidingNames(rng));
    case 5:
      return rng.pick([
        "default",
        "lo",
        "main",
        "all",
        "br-int",
        "eth0",
        "vxlan100",
        "kube-system",
        "openshift-dns",
        "vtabcdefghij",
        "demo",
        "Demo",
        "DEMO",
      ]);
    case 6:
      return rng.pick([
        "d\u00e9mo",
        "\u540d\u524d",
        "ns\u202e",
        "\ud83d\ude00",
        "ns\u0000",
        "\uff44emo",
      ]); // unicode
    case 7:
      return rng.pick(["", "-x", ".x", "x y", "x\ny", "x!y", "x#y", "x;y", "x\ty", "router bgp 1"]);
    case 8:
      return "a" + "b".repeat(rng.range(62, 70)); // around the 63 limit
    default:
      return word(rng, LOWER, 1, 4) + rng.pick(["-", ".", "_"]) + word(rng, LOWER, 1, 20);
  }
}

function v4(rng: Rng, first: number): string {
  return `${first}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
}

function v6(rng: Rng, head: string): string {
  const g = () => rng.int(65536).toString(16);
  return `${head}:${g()}:${g()}::${g()}`;
}

/** Masks the host bits of an IPv4 address text for a prefix length. */
function maskV4(addr: string, len: number): string {
  const n = addr.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const m = len === 0 ? 0 : Number((BigInt(n) >> BigInt(32 - len)) << BigInt(32 - len));
  return [24, 16, 8, 0].map((s) => (m / 2 ** s) & 255).join(".");
}

/** One prefix text: mostly valid and allowed, often hostile. */
export function prefixText(rng: Rng, shared: readonly string[]): string {
  switch (rng.int(14)) {
    case 0:
    case 1:
    case 2:
      return shared.length > 0 ? rng.pick(shared) : "10.1.0.0/16"; // shared across tenants
    case 3:
    case 4: {
      const len = rng.range(8, 32);
      return `${maskV4(v4(rng, 10), len)}/${len}`;
    }
    case 5:
      return rng.pick(["0.0.0.0/0", "::/0", "0.0.0.0", "::"]);
    case 6:
      return `${maskV4(v4(rng, rng.pick([192, 172, 8, 100, 11])), 24)}/24`; // outside allowed
    case 7:
      return `${maskV4(`10.${rng.range(96, 111)}.${rng.int(256)}.0`, 24)}/24`; // in deny
    case 8:
      return v4(rng, 10); // bare address
    case 9:
      return `${v4(rng, 10)}/${rng.range(8, 31)}`; // host bits likely set
    case 10:
      return rng.pick([
        `${v6(rng, "fd00")}/128`,
        "fd00:1::/64",
        "fd00:2::/48",
        `${v6(rng, "2001:db8")}/128`,
        "fe80::/64",
      ]);
    case 11:
      return rng.pick([
        "10.1.2/24",
        "10.0.0.0/33",
        "10.0.0.0/-1",
        "10.0.0.0/08",
        " 10.0.0.0/8",
        "10.0.0.0/8\n",
        "::ffff:10.0.0.1/128",
        "10.0.0.0/8 permit any",
      ]);
    case 12:
      return rng.pick(["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32"]); // overlapping
    default:
      return `${maskV4(v4(rng, 10), 24)}/24`;
  }
}

/** A scenario: raw tenants from one or more sources (names may repeat across sources). */
export function rawTenants(rng: Rng): RawTenant[] {
  const shared = Array.from({ length: rng.range(1, 6) }, () => `${maskV4(v4(rng, 10), 24)}/24`);
  const names = Array.from({ length: rng.range(1, 12) }, () => namespaceName(rng));
  if (rng.chance(0.5)) names.push(...collidingNames(rng));
  const out: RawTenant[] = [];
  for (const name of names) {
    for (let s = rng.chance(0.2) ? 2 : 1; s > 0; s--) {
      out.push({
        name,
        prefixes: Array.from({ length: rng.int(8) }, () => prefixText(rng, shared)),
        origin: `gen:${s}`,
      });
    }
  }
  return out;
}

/** A `tenants.policy` section. */
export interface PolicySection {
  allowed: string[];
  deny: string[];
  max_prefixes_per_tenant: number;
}

const ALLOWED_POOL = [
  "10.0.0.0/8",
  "10.0.0.0/8",
  "10.1.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "10.1.2.3/32",
  "0.0.0.0/0",
  "fd00::/8",
  "fd00::/8",
  "fd00:1::/64",
  "2001:db8::/32",
  "fd00::1/128",
  "::/0",
];
const DENY_POOL = [
  "10.96.0.0/12",
  "10.96.0.0/12",
  "10.1.2.0/24",
  "10.1.2.3/32",
  "10.0.0.0/8",
  "192.168.1.0/24",
  "0.0.0.0/0",
  "fd00:1::/64",
  "fd00:2::/48",
  "fd00::1/128",
  "fd00::/8",
];

/**
 * A policy section: half the time {@link POLICY_CONFIG}, otherwise a few allowed and deny
 * ranges drawn from pools where ranges nest, repeat, coincide across the two lists, are host
 * sized or are a default route (a family may end up with no allowed range at all).
 */
export function policySection(rng: Rng): PolicySection {
  if (rng.chance(0.5)) {
    return { ...POLICY_CONFIG, allowed: [...POLICY_CONFIG.allowed], deny: [...POLICY_CONFIG.deny] };
  }
  const draw = (pool: string[], max: number) =>
    Array.from({ length: rng.range(0, max) }, () => rng.pick(pool));
  return {
    allowed: draw(ALLOWED_POOL, 4),
    deny: draw(DENY_POOL, 3),
    max_prefixes_per_tenant: 1000,
  };
}

function toBig(p: IpPrefix): bigint {
  let n = 0n;
  for (const b of p.bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function fromBig(family: 4 | 6, value: bigint, length: number): IpPrefix {
  const bits = family === 4 ? 32 : 128;
  const host = BigInt(bits - length);
  let n = (value >> host) << host;
  const bytes = new Uint8Array(bits / 8);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(n & 255n);
    n >>= 8n;
  }
  return { family, bytes, length };
}

/**
 * Probes around a range: the range itself, its parent and both halves, its first and last host,
 * a host-sized and a random-length prefix somewhere inside, and the host just outside each end.
 */
export function edgeProbes(range: IpPrefix, rng: Rng): IpPrefix[] {
  const bits = range.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - range.length);
  const first = toBig(range);
  const last = first + size - 1n;
  const top = (1n << BigInt(bits)) - 1n;
  const inside = first + (BigInt(rng.u32()) * 0x100000001n) % size;
  const out = [range, fromBig(range.family, first, bits), fromBig(range.family, last, bits)];
  out.push(fromBig(range.family, inside, bits));
  out.push(fromBig(range.family, inside, rng.range(range.length, bits)));
  if (range.length > 0) out.push(fromBig(range.family, first, range.length - 1));
  if (range.length < bits) {
    out.push(fromBig(range.family, first, range.length + 1));
    out.push(fromBig(range.family, last, range.length + 1));
  }
  if (first > 0n) out.push(fromBig(range.family, first - 1n, bits));
  if (last < top) out.push(fromBig(range.family, last + 1n, bits));
  return out;
}
