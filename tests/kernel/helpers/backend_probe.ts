/**
 * Helper run as a subprocess by ffi_test.ts (library choice is per process): opens a
 * transport in the netns given as argument, adds one route, prints the backend.
 */
import { NetlinkTransport } from "../../../src/kernel/mod.ts";
import { encodeRoute } from "../../../src/netlink/mod.ts";
import { parsePrefix } from "../../../src/net/mod.ts";

const t = NetlinkTransport.open({ netns: Deno.args[0] });
try {
  await t.request((w, h) =>
    encodeRoute(w, {
      dst: parsePrefix("10.90.0.0/24"),
      table: 900,
      protocol: 245,
      type: "blackhole",
    }, h)
  );
  console.log(`backend=${t.socket.backend}`);
} finally {
  await t.close();
}
