/**
 * Codec micro-benchmarks (no root): `deno bench bench/netlink_codec_bench.ts`.
 * Group "encode": one IPv4 blackhole route is the baseline. Group "decode": the
 * allocation-free scanRoute is the baseline for the full decodeRoute.
 */
import { parseIp, parsePrefix } from "../src/net/mod.ts";
import {
  decodeRoute,
  encodeRoute,
  forEachMessage,
  MessageWriter,
  newRouteScan,
  parseMessages,
  RTM_NEWROUTE,
  scanRoute,
} from "../src/netlink/mod.ts";

const v4 = parsePrefix("10.244.0.0/24");
const v6 = parsePrefix("2001:db8:1::/48");
const w = new MessageWriter(1 << 20);
const gw = parseIp("10.0.0.1");

Deno.bench("encode IPv4 blackhole route", { group: "encode", baseline: true }, () => {
  w.reset();
  encodeRoute(w, { dst: v4, table: 1000, protocol: 245, type: "blackhole" }, { seq: 1 });
});

Deno.bench("encode IPv6 blackhole route", { group: "encode" }, () => {
  w.reset();
  encodeRoute(w, { dst: v6, table: 1000, protocol: 245, type: "blackhole" }, { seq: 1 });
});

Deno.bench("encode IPv4 route with MPLS encap and gateway", { group: "encode" }, () => {
  w.reset();
  encodeRoute(w, {
    dst: v4,
    table: 1000,
    protocol: 245,
    mplsEncap: [100, 200],
    gateway: gw,
    oif: 2,
  }, { seq: 1 });
});

// A datagram like one chunk of a route dump: 1,000 blackhole routes.
const dump = new MessageWriter(1 << 16);
for (let i = 0; i < 1000; i++) {
  encodeRoute(dump, {
    dst: { family: 4, bytes: new Uint8Array([10, i >> 8, i & 255, 0]), length: 24 },
    table: 1000,
    protocol: 245,
    type: "blackhole",
  }, { seq: i });
}
const datagram = dump.bytes().slice();
const scan = newRouteScan();

Deno.bench("scan 1,000 route messages (scanRoute)", { group: "decode", baseline: true }, () => {
  let n = 0;
  forEachMessage(datagram, (m) => {
    if (m.type === RTM_NEWROUTE && scanRoute(m, scan).table === 1000) n++;
  });
  if (n !== 1000) throw new Error("bad scan");
});

Deno.bench("decode 1,000 route messages (decodeRoute)", { group: "decode" }, () => {
  let n = 0;
  for (const m of parseMessages(datagram)) if (decodeRoute(m).table === 1000) n++;
  if (n !== 1000) throw new Error("bad decode");
});
