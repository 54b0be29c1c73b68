/**
 * Golden bytes: our encoders against what iproute2 sends for the same operation
 * (captured by tests/fixtures/netlink/capture.sh with strace; seq and pid masked).
 * Plus decoder round-trips on the kernel replies captured alongside. No root needed.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { parseIp, parsePrefix } from "../../src/net/mod.ts";
import {
  decodeAck,
  decodeLink,
  decodeRoute,
  encodeAddr,
  encodeDelLink,
  encodeMplsRoute,
  encodeNewLink,
  encodeRoute,
  encodeRouteDump,
  encodeRule,
  encodeSetLink,
  MessageWriter,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseMessages,
  RTM_NEWROUTE,
} from "../../src/netlink/mod.ts";

const dir = new URL("../fixtures/netlink/", import.meta.url);

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The first message of the captured request, trimmed to nlmsg_len (padding dropped). */
function fixtureRequest(name: string): string {
  const bytes = hexToBytes(Deno.readTextFileSync(new URL(`${name}.request.hex`, dir)).trim());
  const len = new DataView(bytes.buffer).getUint32(0, true);
  return toHex(bytes.subarray(0, len));
}

function fixtureReplies(name: string): Uint8Array[] {
  return Deno.readTextFileSync(new URL(`${name}.reply.hex`, dir)).trim().split("\n").map(
    hexToBytes,
  );
}

/**
 * Zeroes the alignment padding after each top-level attribute: iproute2's addattr_l
 * leaves whatever its buffer held there, and the kernel ignores it.
 */
function zeroPadding(hex: string): string {
  const b = hexToBytes(hex);
  const v = new DataView(b.buffer);
  const type = v.getUint16(4, true);
  const fixed = type >= 16 && type < 20 ? 16 : type >= 20 && type < 24 ? 8 : 12;
  let off = 16 + fixed;
  while (off + 4 <= b.length) {
    const len = v.getUint16(off, true);
    if (len < 4) break;
    const aligned = (len + 3) & ~3;
    b.fill(0, off + len, Math.min(off + aligned, b.length));
    off += aligned;
  }
  return toHex(b);
}

function encoded(fn: (w: MessageWriter) => void): string {
  const w = new MessageWriter(64);
  fn(w);
  const b = w.bytes();
  return toHex(b.subarray(0, new DataView(b.buffer).getUint32(0, true)));
}

const v4 = parsePrefix("10.244.0.0/24");
const v6 = parsePrefix("2001:db8:1::/48");

const cases: Record<string, (w: MessageWriter) => void> = {
  route_add_v4_blackhole_t100: (w) =>
    encodeRoute(w, { dst: v4, table: 100, protocol: 245, type: "blackhole" }),
  route_add_v4_blackhole_t1000: (w) =>
    encodeRoute(w, { dst: v4, table: 1000, protocol: 245, type: "blackhole" }),
  route_del_v4_blackhole_t1000: (w) =>
    encodeRoute(w, { dst: v4, table: 1000, protocol: 245, type: "blackhole" }, { op: "delete" }),
  route_add_v6_blackhole_t1000: (w) =>
    encodeRoute(w, { dst: v6, table: 1000, protocol: 245, type: "blackhole" }),
  route_del_v6_blackhole_t1000: (w) =>
    encodeRoute(w, { dst: v6, table: 1000, protocol: 245, type: "blackhole" }, { op: "delete" }),
  route_add_v4_unreachable_metric: (w) =>
    encodeRoute(w, {
      dst: parsePrefix("10.1.0.0/16"),
      table: 1000,
      protocol: 245,
      type: "unreachable",
      priority: 100,
    }),
  route_add_mpls_encap: (w) =>
    encodeRoute(w, {
      dst: parsePrefix("10.9.0.0/24"),
      table: 1000,
      protocol: 245,
      mplsEncap: [100, 200],
      gateway: parseIp("10.0.0.1"),
      oif: 1,
    }),
  mpls_route_add: (w) =>
    encodeMplsRoute(w, { label: 100, newdst: [200], via: parseIp("10.0.0.1"), oif: 1 }),
  route_dump_t1000: (w) => encodeRouteDump(w, { table: 1000 }),
  link_add_vrf: (w) => encodeNewLink(w, "vrf-blue", { link: { kind: "vrf", table: 1000 } }),
  link_add_dummy: (w) => encodeNewLink(w, "dummy0", { link: { kind: "dummy" } }),
  link_set_up: (w) => encodeSetLink(w, 3, { up: true }),
  link_del: (w) => encodeDelLink(w, 3),
  rule_add_l3mdev: (w) => encodeRule(w, { family: 4, l3mdev: true, priority: 1000 }),
  rule_add_table: (w) => encodeRule(w, { family: 4, priority: 2000, table: 1000 }),
  // Expose method dummy: host addresses on bgp-nic (ifindex 2 here) and enslaving it.
  addr_add_v4_host: (w) => encodeAddr(w, 2, { address: parsePrefix("192.168.100.10/32") }),
  addr_add_v6_host: (w) => encodeAddr(w, 2, { address: parsePrefix("fd00:100::10/128") }),
  addr_del_v4_host: (w) =>
    encodeAddr(w, 2, { address: parsePrefix("192.168.100.10/32"), delete: true }),
  addr_del_v6_host: (w) =>
    encodeAddr(w, 2, { address: parsePrefix("fd00:100::10/128"), delete: true }),
  link_set_master: (w) => encodeSetLink(w, 2, { master: 4, up: true }),
};

for (const [name, fn] of Object.entries(cases)) {
  Deno.test(`golden: ${name} matches iproute2`, () => {
    assertEquals(zeroPadding(encoded(fn)), zeroPadding(fixtureRequest(name)));
  });
}

Deno.test("golden: every captured request has a case", () => {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name)
    .filter((n) => n.endsWith(".request.hex") && !n.includes("eexist"))
    .map((n) => n.replace(".request.hex", "")).sort();
  assertEquals(names, Object.keys(cases).sort());
});

Deno.test("decode: EEXIST reply (capped=false) carries errno and the echoed request", () => {
  const [reply] = fixtureReplies("route_add_v4_blackhole_t1000_eexist");
  const [m] = parseMessages(reply);
  assertEquals(m.type, NLMSG_ERROR);
  const ack = decodeAck(m);
  assertEquals(ack.errno, 17);
  assertEquals(ack.request.type, RTM_NEWROUTE);
});

Deno.test("decode: EOPNOTSUPP reply carries the extended ACK text", () => {
  const replies = fixtureReplies("link_add_vrf");
  const acks = replies.flatMap((r) => parseMessages(r)).map(decodeAck);
  const last = acks[acks.length - 1];
  assertEquals(last.errno, 95);
  assertStringIncludes(last.extack ?? "", "Unknown device type");
});

Deno.test("decode: route dump reply round-trips through decodeRoute", () => {
  const msgs = fixtureReplies("route_dump_t1000").flatMap((r) => parseMessages(r));
  assertEquals(msgs[msgs.length - 1].type, NLMSG_DONE);
  const routes = msgs.filter((m) => m.type === RTM_NEWROUTE).map(decodeRoute);
  assertEquals(routes.length, 1);
  const r = routes[0];
  assertEquals(r.table, 1000);
  assertEquals(r.protocol, 245);
  assertEquals(r.type, "unreachable");
  assertEquals(r.priority, 100);
  assertEquals(r.dst?.length, 16);
  // Re-encoding the decoded route gives the bytes iproute2 sent to create it.
  assertEquals(
    encoded((w) =>
      encodeRoute(w, {
        dst: r.dst!,
        table: r.table,
        protocol: r.protocol,
        type: "unreachable",
        priority: r.priority,
      })
    ),
    fixtureRequest("route_add_v4_unreachable_metric"),
  );
});

Deno.test("decode: link dump reply from the kernel (veth-a)", () => {
  const msgs = fixtureReplies("link_set_up").flatMap((r) => parseMessages(r));
  const links = msgs.filter((m) => m.type === 16).map(decodeLink);
  assertEquals(links.length, 1);
  assertEquals(links[0].name, "veth-a");
  assertEquals(links[0].kind, "veth");
  assertEquals(links[0].index, 3);
});
