/**
 * Netlink decoder target: random and mutated kernel replies (golden captures of iproute2's
 * requests and the kernel's answers, plus encoder output for links, addresses, rules and
 * routes) through message framing and every decoder. Expected errors: the codec's own
 * RangeErrors naming what is truncated. Invariants: the hot-path route scanner agrees with
 * the full decoder, decoded prefixes and next hops are well-formed.
 * @module
 */
import { parseIp, parsePrefix } from "../../../src/net/mod.ts";
import {
  decodeAck,
  decodeAddr,
  decodeLink,
  decodeRoute,
  decodeRule,
  encodeAddr,
  encodeMplsRoute,
  encodeNewLink,
  encodeRoute,
  encodeRule,
  MessageWriter,
  newRouteScan,
  NLM_F_ACK_TLVS,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  parseMessages,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_NEWRULE,
  scanRoute,
} from "../../../src/netlink/mod.ts";
import { type FuzzTarget, invariant } from "../harness.ts";
import { concat, corruptLengthField, mutateBytes } from "../mutate.ts";
import { hexBytes, readDir } from "./corpus.ts";

/** Messages of the codec's own bounds checks (anything else, e.g. a DataView RangeError, is a bug). */
const CODEC_ERRORS = [
  /^netlink message at offset \d+: bad nlmsg_len/,
  /^netlink attribute type \d+ at offset \d+: bad length/,
  /^route attribute \d+ at offset \d+: bad length/,
  /^NLMSG_ERROR payload too short/,
  /^(rtmsg|ifinfomsg|ifaddrmsg) too short/,
  /^fib_rule_hdr too short/,
  /^rtmsg dst_len \d+ is longer than/,
  /^RTA_(VIA|GATEWAY) of \d+ bytes for IPv[46]$/,
  /^netlink attributes: range -?\d+\.\.\d+ outside \d+ bytes$/,
];

/** Rewrites a request into what a kernel reply of the same type looks like (flags/seq/pid). */
function asReply(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  v.setUint16(6, 0x2, true); // NLM_F_MULTI
  v.setUint32(12, 4242, true);
  return out;
}

function encoded(fn: (w: MessageWriter) => void): Uint8Array {
  const w = new MessageWriter(256);
  fn(w);
  return w.bytes().slice();
}

/** An NLMSG_ERROR with an extended ACK (message and offset TLVs), as the kernel sends it. */
function extackError(request: Uint8Array, errno: number, text: string): Uint8Array {
  const w = new MessageWriter(256);
  const start = w.beginMessage(NLMSG_ERROR, 0x100 | NLM_F_ACK_TLVS, { seq: 1, pid: 4242 });
  w.i32(-errno);
  w.raw(request.subarray(0, 16));
  w.attrString(NLMSGERR_ATTR_MSG, text);
  w.attrU32(NLMSGERR_ATTR_OFFS, 32);
  w.endMessage(start);
  return w.bytes().slice();
}

async function seeds(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const f of await readDir("tests/fixtures/netlink", ".hex")) {
    out.push(hexBytes(new TextDecoder().decode(f.bytes)));
  }
  const v4 = parsePrefix("10.244.0.0/24");
  const v6 = parsePrefix("fd00:10:244::/64");
  const made = [
    encoded((w) => encodeNewLink(w, "vrf-blue", { link: { kind: "vrf", table: 1000 }, up: true })),
    encoded((w) => encodeNewLink(w, "veth0", { link: { kind: "veth", peer: "veth1" }, master: 7 })),
    encoded((w) => encodeAddr(w, 3, { address: parsePrefix("192.0.2.0/24") })),
    encoded((w) => encodeAddr(w, 3, { address: parsePrefix("2001:db8::/64") })),
    encoded((w) => encodeRule(w, { family: 6, l3mdev: true, priority: 1000, protocol: 245 })),
    encoded((w) =>
      encodeRoute(w, {
        dst: v6,
        table: 1000,
        protocol: 245,
        type: "unicast",
        via: parseIp("192.0.2.1"),
        mplsEncap: [16, 17, 18],
        oif: 4,
        priority: 10,
      })
    ),
    encoded((w) => encodeRoute(w, { dst: v4, table: 100, gateway: parseIp("10.0.0.1") })),
    encoded((w) =>
      encodeMplsRoute(w, { label: 1000, newdst: [2000, 3000], via: parseIp("fe80::1"), oif: 2 })
    ),
  ].map(asReply);
  out.push(...made);
  // A multipart dump: several routes and DONE in one datagram; an extack error.
  const done = new Uint8Array(20);
  new DataView(done.buffer).setUint32(0, 20, true);
  new DataView(done.buffer).setUint16(4, NLMSG_DONE, true);
  out.push(concat(made[5], made[6], made[7], done));
  out.push(extackError(made[6], 17, "Route already exists"));
  return out;
}

function checkRoute(m: Parameters<typeof decodeRoute>[0]): void {
  const r = decodeRoute(m);
  if (r.dst) {
    const max = r.dst.family === 4 ? 32 : 128;
    invariant(
      r.dst.bytes.length === max / 8,
      `dst of ${r.dst.bytes.length} bytes for IPv${r.dst.family}`,
    );
    invariant(r.dst.length <= max, `IPv${r.dst.family} dst length ${r.dst.length}`);
  }
  for (const [what, a] of [["gateway", r.gateway], ["via", r.via]] as const) {
    if (a) {
      invariant(
        a.bytes.length === (a.family === 4 ? 4 : 16),
        `${what} of ${a.bytes.length} bytes for IPv${a.family}`,
      );
    }
  }
  // The allocation-free scanner of large dumps must agree with the full decoder.
  const s = scanRoute(m, newRouteScan());
  invariant(s.table === r.table, `scanRoute table ${s.table} != decodeRoute table ${r.table}`);
  invariant(
    s.protocol === r.protocol && s.dstLen === m.payload[1],
    "scanRoute header fields differ",
  );
}

/** The netlink target. */
export const netlinkTarget: FuzzTarget = {
  name: "netlink",
  description:
    "rtnetlink replies: framing, NLMSG_ERROR/extack, link, addr, route (v4/v6/MPLS), rule",
  corpus: seeds,
  maxInputBytes: 64 * 1024,
  slowMs: 250,
  mutate(input, rng, corpus) {
    if (rng.chance(0.35)) return corruptLengthField(input, rng);
    return mutateBytes(input, rng, corpus);
  },
  run(input) {
    const messages = parseMessages(input);
    let total = 0;
    for (const m of messages) {
      invariant(m.payload.length + 16 <= input.length, "payload larger than the datagram");
      total += m.payload.length + 16;
      // The kernel decides the type; decode by type, then every decoder on every payload
      // (a hostile or confused reply may carry anything).
      if (m.type === NLMSG_ERROR) decodeAck(m);
      else if (m.type === RTM_NEWROUTE || m.type === RTM_NEWROUTE + 1) checkRoute(m);
      else if (m.type === RTM_NEWLINK || m.type === RTM_NEWLINK + 1) decodeLink(m);
      else if (m.type === RTM_NEWADDR || m.type === RTM_NEWADDR + 1) decodeAddr(m);
      else if (m.type === RTM_NEWRULE || m.type === RTM_NEWRULE + 1) decodeRule(m);
      for (const decode of [decodeAck, checkRoute, decodeLink, decodeAddr, decodeRule]) {
        try {
          decode(m);
        } catch (e) {
          if (!netlinkTarget.expected(e)) throw e;
        }
      }
    }
    invariant(total <= input.length, "messages cover more bytes than received");
  },
  expected(error) {
    return error instanceof RangeError && CODEC_ERRORS.some((r) => r.test(error.message));
  },
};
