/** Pure codec tests (no root): framing, attributes, extended ACKs, round-trips. */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { parseIp, parsePrefix } from "../../src/net/mod.ts";
import {
  attrString,
  attrU32,
  decodeAck,
  decodeAddr,
  decodeLabels,
  decodeLink,
  decodeRoute,
  decodeRule,
  encodeAddr,
  encodeLabels,
  encodeNewLink,
  encodeRoute,
  encodeRule,
  errnoMessage,
  errnoName,
  MessageWriter,
  NetlinkError,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  parseAttrs,
  parseMessages,
  RTM_NEWROUTE,
} from "../../src/netlink/mod.ts";

Deno.test("writer: header length, padding and nested lengths", () => {
  const w = new MessageWriter(8); // forces growth
  const m = w.beginMessage(RTM_NEWROUTE, NLM_F_REQUEST, { seq: 7, pid: 9 });
  w.u8(1);
  w.pad();
  w.attrString(3, "abc"); // len 8
  const n = w.beginNested(18);
  w.attr(1, new Uint8Array([1, 2, 3])); // len 7, padded to 8
  w.endNested(n);
  w.endMessage(m);
  const [msg] = parseMessages(w.bytes());
  assertEquals(w.offset, 16 + 4 + 8 + 4 + 8);
  assertEquals([msg.type, msg.flags, msg.seq, msg.pid], [RTM_NEWROUTE, NLM_F_REQUEST, 7, 9]);
  const attrs = parseAttrs(msg.payload, { start: 4 });
  assertEquals(attrString(attrs.get(3)), "abc");
  const nested = attrs.get(18)!;
  assertEquals(nested.length, 12 - 4);
  assertEquals(parseAttrs(nested).get(1), new Uint8Array([1, 2, 3]));
});

Deno.test("parse: truncated messages and attributes are rejected", () => {
  assertThrows(
    () => parseMessages(new Uint8Array([40, 0, 0, 0, ...new Array(12).fill(0)])),
    RangeError,
  );
  assertThrows(() => parseAttrs(new Uint8Array([12, 0, 1, 0, 0, 0, 0, 0])), RangeError);
});

Deno.test("parse: several messages in one datagram (multipart)", () => {
  const w = new MessageWriter();
  for (let i = 0; i < 3; i++) {
    encodeRoute(w, { dst: parsePrefix(`10.0.${i}.0/24`), table: 5000, type: "blackhole" }, {
      seq: i,
    });
  }
  const msgs = parseMessages(w.bytes());
  assertEquals(msgs.map((m) => m.seq), [0, 1, 2]);
  assertEquals(msgs.map((m) => decodeRoute(m).table), [5000, 5000, 5000]);
});

function ackBytes(errno: number, options: { capped: boolean; extack?: string }): Uint8Array {
  const w = new MessageWriter();
  const flags = (options.capped ? NLM_F_CAPPED : 0) | (options.extack ? NLM_F_ACK_TLVS : 0);
  const m = w.beginMessage(NLMSG_ERROR, flags, { seq: 42 });
  w.i32(-errno);
  // echoed request header (+ payload when not capped)
  const reqLen = options.capped ? 16 : 24;
  w.u32(reqLen);
  w.u16(RTM_NEWROUTE);
  w.u16(NLM_F_REQUEST | NLM_F_ACK);
  w.u32(42);
  w.u32(0);
  if (!options.capped) w.zeros(8);
  if (options.extack) {
    w.attrString(NLMSGERR_ATTR_MSG, options.extack);
    w.attrU32(NLMSGERR_ATTR_OFFS, 28);
  }
  w.endMessage(m);
  return w.bytes().slice();
}

Deno.test("ack: capped and uncapped extended ACKs surface the kernel text", () => {
  for (const capped of [true, false]) {
    const [m] = parseMessages(ackBytes(19, { capped, extack: "Device not found" }));
    const ack = decodeAck(m);
    assertEquals(ack.errno, 19);
    assertEquals(ack.request.seq, 42);
    assertEquals(ack.request.type, RTM_NEWROUTE);
    assertEquals(ack.extack, "Device not found");
    assertEquals(ack.extackOffset, 28);
  }
  const plain = decodeAck(parseMessages(ackBytes(0, { capped: true }))[0]);
  assertEquals([plain.errno, plain.extack], [0, undefined]);
});

Deno.test("errors: errno names and NetlinkError text", () => {
  assertEquals(errnoName(17), "EEXIST");
  assertEquals(errnoName(-19), "ENODEV");
  assertEquals(errnoName(95), "EOPNOTSUPP");
  assertEquals(errnoName(105), "ENOBUFS");
  assertEquals(errnoName(9999), "E9999");
  assertEquals(errnoMessage(17), "File exists");
  const e = new NetlinkError("add route 10.0.0.0/24", 17, { extack: "Route exists" });
  assertEquals(e.message, "add route 10.0.0.0/24: EEXIST (File exists): Route exists");
  assertEquals([e.code, e.errno], ["EEXIST", 17]);
});

Deno.test("route: IPv6, gateway, via, encap, priority round-trip", () => {
  const w = new MessageWriter();
  encodeRoute(w, {
    dst: parsePrefix("2001:db8::/32"),
    table: 70000,
    protocol: 245,
    priority: 5,
    oif: 3,
    via: parseIp("192.0.2.1"),
    mplsEncap: [16, 17, 1048575],
  });
  const [m] = parseMessages(w.bytes());
  assertEquals(m.flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  const r = decodeRoute(m);
  assertEquals(r.family, 6);
  assertEquals(r.table, 70000);
  assertEquals(r.dst, parsePrefix("2001:db8::/32"));
  assertEquals(r.via, parseIp("192.0.2.1"));
  assertEquals([r.oif, r.priority, r.protocol, r.type], [3, 5, 245, "unicast"]);
  assertEquals(r.mplsEncap, [16, 17, 1048575]);
  const w2 = new MessageWriter();
  encodeRoute(w2, { dst: parsePrefix("10.0.0.0/8"), table: 10, gateway: parseIp("10.1.1.1") }, {
    op: "replace",
    ack: false,
  });
  const r2 = decodeRoute(parseMessages(w2.bytes())[0]);
  assertEquals([r2.table, r2.gateway], [10, parseIp("10.1.1.1")]);
});

Deno.test("labels: bottom of stack only on the last entry", () => {
  const b = encodeLabels([100, 200]);
  assertEquals(b, new Uint8Array([0x00, 0x06, 0x40, 0x00, 0x00, 0x0c, 0x81, 0x00]));
  assertEquals(decodeLabels(b), [100, 200]);
});

Deno.test("link, addr, rule encoders decode back", () => {
  const w = new MessageWriter();
  encodeNewLink(w, "vrf-red", { link: { kind: "vrf", table: 4242 }, master: 7 });
  const l = decodeLink(parseMessages(w.bytes())[0]);
  assertEquals([l.name, l.kind, l.vrfTable, l.master], ["vrf-red", "vrf", 4242, 7]);
  w.reset();
  encodeAddr(w, 3, { address: { ...parseIp("10.0.0.1"), length: 24 } });
  const a = decodeAddr(parseMessages(w.bytes())[0]);
  assertEquals([a.index, a.prefixLength, a.local], [3, 24, parseIp("10.0.0.1")]);
  w.reset();
  encodeRule(w, { family: 6, table: 100000, priority: 10, protocol: 245 });
  const r = decodeRule(parseMessages(w.bytes())[0]);
  assertEquals([r.family, r.table, r.priority, r.l3mdev, r.protocol], [6, 100000, 10, false, 245]);
  assert(attrU32(new Uint8Array([1, 0, 0, 0])) === 1);
});
