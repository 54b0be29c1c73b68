/**
 * BGP peer state from FRR's JSON peer summaries.
 *
 * Observed with FRR 8.4.4: `show bgp vrf default summary json` answers one object keyed by
 * address family (`ipv4Unicast`, `ipv4Vpn`, `ipv6Vpn`, … — only families with an activated
 * neighbor appear), each `{ routerId, as, …, peers: { ADDRESS: { remoteAs, localAs, desc?,
 * hostname?, peerUptime ("never" | "00:00:05" | "1d02h03m"), peerUptimeMsec,
 * peerUptimeEstablishedEpoch?, pfxRcd, pfxSnt, state ("Established", "Active", "Connect",
 * …), peerState, … } } }`. `show bgp ipv4 vpn summary json` (and `ipv6 vpn`) answer the inner
 * object of one family alone. `show bgp vrf all summary json` nests that once more under the
 * VRF name. No password or other secret appears in any of them.
 * @module
 */
import type { PeerStatus } from "./model.ts";

/**
 * The vtysh commands the FRR plane runs to get peer state; each output (parsed JSON) is
 * passed to {@link parsePeerSummaries} as is (one command covers every family with state,
 * uptime, and pfxRcd/pfxSnt per family).
 */
export const PEER_SUMMARY_COMMANDS: readonly string[] = ["show bgp vrf default summary json"];

/**
 * Per-family alternative: `{ family: command }`. Pass `{ ipv4Vpn: json4, ipv6Vpn: json6 }` to
 * {@link parsePeerSummaries}.
 */
export const PEER_SUMMARY_COMMANDS_BY_FAMILY: Readonly<Record<string, string>> = {
  ipv4Vpn: "show bgp ipv4 vpn summary json",
  ipv6Vpn: "show bgp ipv6 vpn summary json",
};

const FAMILY_KEY = /^[A-Za-z][A-Za-z0-9]{0,31}$/;
const MAX_TEXT = 256;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function count(v: unknown): number | undefined {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v.slice(0, MAX_TEXT) : undefined;
}

/**
 * Parses FRR's human uptime (`00:00:05`, `1d02h03m`, `3w2d05h`) into seconds;
 * undefined for `never` or anything else.
 */
export function parseFrrUptime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const hms = /^(\d+):(\d{2}):(\d{2})$/.exec(value);
  if (hms) return Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]);
  const units = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(value);
  if (!units || value === "") return undefined;
  const [, y, w, d, h, m] = units.map((x) => Number(x ?? 0));
  return (((y * 365 + w * 7 + d) * 24 + h) * 60 + m) * 60;
}

/** One family's summary object (has `peers`), or undefined. */
function familySummary(v: unknown): Json | undefined {
  return isObject(v) && isObject(v.peers) ? v : undefined;
}

/**
 * Turns `{ family: summary }` into the families to read: accepts the output of
 * `show bgp vrf default summary json`, a map of per-family outputs, and the `vrf all` form
 * (only its `default` VRF is read).
 */
function families(input: Json): [string, Json][] {
  const out: [string, Json][] = [];
  for (const [key, value] of Object.entries(input)) {
    if (!FAMILY_KEY.test(key)) continue;
    const summary = familySummary(value);
    if (summary) {
      out.push([key, summary]);
    } else if (key === "default" && isObject(value)) {
      out.push(...families(value));
    }
  }
  return out;
}

/** IPv4 before IPv6 (and interface names), then in natural order. */
function compareAddresses(a: PeerStatus, b: PeerStatus): number {
  const fa = a.address.includes(":") ? 1 : 0;
  const fb = b.address.includes(":") ? 1 : 0;
  return fa - fb || a.address.localeCompare(b.address, "en", { numeric: true });
}

/**
 * Merges FRR peer summaries of several address families into one {@link PeerStatus} per
 * peer, IPv4 peers first, in natural address order. `jsonByFamily` is the parsed output of a
 * {@link PEER_SUMMARY_COMMANDS} command or `{ ipv4Vpn: …, ipv6Vpn: … }`. Never throws:
 * unexpected shapes and fields are skipped, a missing state is `unknown`.
 */
export function parsePeerSummaries(jsonByFamily: Record<string, unknown>): PeerStatus[] {
  const peers = new Map<string, PeerStatus>();
  if (!isObject(jsonByFamily)) return [];
  for (const [family, summary] of families(jsonByFamily)) {
    for (const [address, raw] of Object.entries(summary.peers as Json)) {
      if (!isObject(raw) || address.length === 0 || address.length > 64) continue;
      let peer = peers.get(address);
      if (!peer) {
        peer = { address, remoteAsn: 0, state: "unknown", families: {} };
        peers.set(address, peer);
      }
      const asn = count(raw.remoteAs);
      if (peer.remoteAsn === 0 && asn !== undefined && asn <= 4294967295) peer.remoteAsn = asn;
      const description = text(raw.desc) ?? text(raw.description);
      if (peer.description === undefined && description !== undefined) {
        peer.description = description;
      }
      const state = text(raw.state);
      if (peer.state === "unknown" && state !== undefined) peer.state = state;
      if (state === "Established" && peer.uptimeSeconds === undefined) {
        const msec = count(raw.peerUptimeMsec);
        const seconds = msec !== undefined ? Math.floor(msec / 1000) : parseFrrUptime(
          raw.peerUptime,
        );
        if (seconds !== undefined) peer.uptimeSeconds = seconds;
      }
      const counts: { sent?: number; received?: number } = {};
      const sent = count(raw.pfxSnt);
      const received = count(raw.pfxRcd);
      if (sent !== undefined) counts.sent = sent;
      if (received !== undefined) counts.received = received;
      peer.families[family] = counts;
    }
  }
  return [...peers.values()].sort(compareAddresses);
}
