/**
 * The netlink transport against the real kernel, each test in a fresh netns.
 * Needs root; `ip` is the witness.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { ip, isRoot, withNetns } from "../support/netns.ts";
import { parseIp, parsePrefix } from "../../src/net/mod.ts";
import {
  decodeLink,
  decodeRoute,
  decodeRule,
  encodeLinkDump,
  encodeRoute,
  encodeRouteDump,
  encodeRule,
  encodeRuleDump,
  IFINFOMSG_LEN,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  NetlinkError,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_NEWRULE,
  RTNLGRP_IPV4_ROUTE,
} from "../../src/netlink/mod.ts";
import { type MonitorEvent, NetlinkMonitor, NetlinkTransport } from "../../src/kernel/mod.ts";

const ignore = !isRoot;
const blackhole = (cidr: string, table: number) => ({
  dst: parsePrefix(cidr),
  table,
  protocol: 245,
  type: "blackhole" as const,
});

Deno.test({
  name: "transport: routes go into the namespace's table, not the host's",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      const table = 100000 + Math.floor(Math.random() * 100000);
      const t = NetlinkTransport.open({ netns: ns });
      try {
        await t.request((w, h) => encodeRoute(w, blackhole("10.244.1.0/24", table), h));
        await t.request((w, h) => encodeRoute(w, blackhole("2001:db8:5::/48", table), h));
      } finally {
        await t.close();
      }
      assertStringIncludes(
        await ip(ns, "route", "show", "table", String(table)),
        "blackhole 10.244.1.0/24 proto 245",
      );
      assertStringIncludes(
        await ip(ns, "-6", "route", "show", "table", String(table)),
        "blackhole 2001:db8:5::/48 dev lo proto 245",
      );
      const host = await new Deno.Command("ip", {
        args: ["route", "show", "table", String(table)],
        stderr: "null",
      }).output();
      assertEquals(new TextDecoder().decode(host.stdout), "");
    }),
});

Deno.test({
  name: "transport: EEXIST, ESRCH, ENODEV and extended ACK text as NetlinkError",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      const t = NetlinkTransport.open({ netns: ns });
      try {
        const r = blackhole("10.1.0.0/24", 1000);
        await t.request((w, h) => encodeRoute(w, r, h));
        const eexist = await assertRejects(
          () => t.request((w, h) => encodeRoute(w, r, h)),
          NetlinkError,
          "EEXIST",
        );
        assertEquals(eexist.errno, 17);
        const esrch = await assertRejects(
          () =>
            t.request((w, h) =>
              encodeRoute(w, blackhole("10.9.0.0/24", 1000), { ...h, op: "delete" })
            ),
          NetlinkError,
        );
        assertEquals(esrch.code, "ESRCH");
        const enodev = await assertRejects(
          () => t.request((w, h) => encodeRoute(w, { ...r, type: "unicast", oif: 999 }, h)),
          NetlinkError,
        );
        assertEquals(enodev.code, "ENODEV");
        // A gateway with no route to it: the kernel explains itself in the extended ACK.
        const unreach = await assertRejects(
          () =>
            t.request((w, h) =>
              encodeRoute(w, {
                dst: parsePrefix("10.2.0.0/24"),
                table: 1000,
                gateway: parseIp("192.0.2.1"),
              }, h)
            ),
          NetlinkError,
        );
        assert(unreach.extack, `expected extack text, got ${unreach.message}`);
        assertStringIncludes(unreach.message, unreach.extack);
        // An unknown link kind: "Unknown device type" (EOPNOTSUPP) in the extended ACK.
        const unknown = await assertRejects(
          () =>
            t.request((w, h) => {
              const m = w.beginMessage(
                RTM_NEWLINK,
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                h,
              );
              w.zeros(IFINFOMSG_LEN);
              w.attrString(IFLA_IFNAME, "bogus0");
              const li = w.beginNested(IFLA_LINKINFO);
              w.attr(IFLA_INFO_KIND, new TextEncoder().encode("vpnv4bogus"));
              w.endNested(li);
              w.endMessage(m);
            }),
          NetlinkError,
        );
        assertEquals(unknown.code, "EOPNOTSUPP");
        assertEquals(unknown.extack, "Unknown device type");
      } finally {
        await t.close();
      }
    }),
});

Deno.test({
  name: "transport: batch reports per-request failures by index (both ack modes)",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await ip(ns, "route", "add", "blackhole", "10.50.3.0/24", "table", "2000");
      await ip(ns, "route", "add", "blackhole", "10.50.7.0/24", "table", "2000");
      const t = NetlinkTransport.open({ netns: ns });
      try {
        for (const [ackMode, table] of [["errors", 2000], ["all", 2000]] as const) {
          const items = Array.from({ length: 10 }, (_, i) => `10.50.${i}.0/24`);
          const res = await t.batch(items, {
            ackMode,
            chunkBytes: 100, // several sends
            encode: (w, cidr, h) => encodeRoute(w, blackhole(cidr, table), h),
            describe: (cidr) => `add ${cidr}`,
          });
          assertEquals(res.sent, 10);
          assert(res.sends > 1, `expected several sends, got ${res.sends}`);
          if (ackMode === "errors") {
            assertEquals(res.failures.map((f) => [f.index, f.item, f.error.code]), [
              [3, "10.50.3.0/24", "EEXIST"],
              [7, "10.50.7.0/24", "EEXIST"],
            ]);
            assertStringIncludes(res.failures[0].error.message, "add 10.50.3.0/24: EEXIST");
          } else {
            assertEquals(res.failures.length, 10); // all exist now
            assertEquals(res.failures.map((f) => f.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
          }
        }
        const lines = (await ip(ns, "route", "show", "table", "2000")).trim().split("\n");
        assertEquals(lines.length, 10);
      } finally {
        await t.close();
      }
    }),
});

Deno.test({
  name: "transport: dumps of links, routes in a table (with protocol filter) and rules",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await ip(ns, "link", "add", "veth-x", "type", "veth", "peer", "name", "veth-y");
      for (let i = 0; i < 300; i++) {
        await ip(
          ns,
          "route",
          "add",
          "blackhole",
          `10.60.${i >> 8}.${i & 255}/32`,
          "table",
          "3000",
          "proto",
          "bgp",
        );
      }
      await ip(
        ns,
        "route",
        "add",
        "unreachable",
        "10.61.0.0/16",
        "table",
        "3000",
        "proto",
        "static",
      );
      await ip(ns, "route", "add", "blackhole", "10.62.0.0/16", "table", "3001");
      await ip(ns, "rule", "add", "pref", "1234", "table", "3000");
      const t = NetlinkTransport.open({ netns: ns });
      try {
        const links = await t.dump((w, h) => encodeLinkDump(w, h), {
          decode: (m) => m.type === RTM_NEWLINK ? decodeLink(m) : undefined,
        });
        assertEquals(links.map((l) => l.name).sort(), ["lo", "veth-x", "veth-y"]);
        assertEquals(links.find((l) => l.name === "veth-x")?.kind, "veth");
        const all = await t.dump((w, h) => encodeRouteDump(w, { ...h, table: 3000 }), {
          decode: (m) => m.type === RTM_NEWROUTE ? decodeRoute(m) : undefined,
        });
        assertEquals(all.length, 301); // multipart: several datagrams
        assert(all.every((r) => r.table === 3000));
        const bgp = await t.dump(
          (w, h) => encodeRouteDump(w, { ...h, table: 3000, protocol: 186 }),
          { decode: (m) => m.type === RTM_NEWROUTE ? decodeRoute(m) : undefined },
        );
        assertEquals(bgp.length, 300);
        assert(bgp.every((r) => r.protocol === 186 && r.type === "blackhole"));
        const rules = await t.dump((w, h) => encodeRuleDump(w, h), {
          decode: (m) => m.type === RTM_NEWRULE ? decodeRule(m) : undefined,
        });
        assert(rules.some((r) => r.priority === 1234 && r.table === 3000), Deno.inspect(rules));
      } finally {
        await t.close();
      }
    }),
});

Deno.test({
  name: "transport: FIB rules (table and l3mdev) are added and deleted",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      const t = NetlinkTransport.open({ netns: ns });
      try {
        await t.request((w, h) =>
          encodeRule(w, { family: 4, priority: 500, table: 4000, protocol: 245 }, h)
        );
        await t.request((w, h) => encodeRule(w, { family: 4, priority: 600, l3mdev: true }, h));
        await t.request((w, h) => encodeRule(w, { family: 6, priority: 500, table: 4000 }, h));
        const shown = await ip(ns, "rule", "show");
        assertStringIncludes(shown, "500:\tfrom all lookup 4000 proto 245");
        assertStringIncludes(shown, "600:\tfrom all lookup [l3mdev-table]");
        assertStringIncludes(await ip(ns, "-6", "rule", "show"), "500:\tfrom all lookup 4000");
        await t.request((w, h) =>
          encodeRule(w, { family: 4, priority: 500, table: 4000 }, { ...h, delete: true })
        );
        assertEquals((await ip(ns, "rule", "show")).includes("lookup 4000"), false);
      } finally {
        await t.close();
      }
    }),
});

async function nextMatching(
  it: AsyncIterator<MonitorEvent>,
  pred: (e: MonitorEvent) => boolean,
): Promise<MonitorEvent> {
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error("monitor ended");
    if (pred(r.value)) return r.value;
  }
}

Deno.test({
  name: "monitor: sees route add/del made by ip, and link events",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      const mon = NetlinkMonitor.open({ netns: ns });
      const it = mon[Symbol.asyncIterator]();
      try {
        await ip(ns, "route", "add", "blackhole", "10.70.0.0/24", "table", "5000", "proto", "bgp");
        const add = await nextMatching(it, (e) => e.kind === "route");
        assert(add.kind === "route");
        assertEquals(add.op, "add");
        assertEquals(add.route.dst, parsePrefix("10.70.0.0/24"));
        assertEquals([add.route.table, add.route.protocol, add.route.type], [
          5000,
          186,
          "blackhole",
        ]);
        await ip(ns, "-6", "route", "add", "unreachable", "2001:db8:70::/48", "table", "5000");
        const add6 = await nextMatching(it, (e) => e.kind === "route");
        assert(add6.kind === "route");
        assertEquals(add6.route.dst, parsePrefix("2001:db8:70::/48"));
        await ip(ns, "route", "del", "blackhole", "10.70.0.0/24", "table", "5000");
        const del = await nextMatching(
          it,
          (e) => e.kind === "route" && e.op === "del" && e.route.family === 4,
        );
        assert(del.kind === "route");
        assertEquals(del.route.dst, parsePrefix("10.70.0.0/24"));
        await ip(ns, "link", "add", "veth-m", "type", "veth", "peer", "name", "veth-n");
        const link = await nextMatching(it, (e) => e.kind === "link");
        assert(link.kind === "link" && link.op === "add");
        assert(["veth-m", "veth-n"].includes(link.link.name ?? ""));
      } finally {
        await mon.close();
        await it.return?.();
      }
    }),
});

Deno.test({
  name: "monitor: a receive-buffer overrun yields an overflow event (resync signal)",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      const mon = NetlinkMonitor.open({ netns: ns, rcvbuf: 4096, groups: [RTNLGRP_IPV4_ROUTE] });
      const it = mon[Symbol.asyncIterator]();
      try {
        // Far more notifications than a 4 KiB buffer holds, while nobody reads.
        const lines = Array.from(
          { length: 2000 },
          (_, i) => `route add blackhole 10.80.${i >> 8}.${i & 255}/32 table 6000`,
        ).join("\n");
        const file = await Deno.makeTempFile();
        try {
          await Deno.writeTextFile(file, lines + "\n");
          await ip(ns, "-batch", file);
        } finally {
          await Deno.remove(file);
        }
        const ev = await nextMatching(it, (e) => e.kind === "overflow");
        assertEquals(ev.kind, "overflow");
      } finally {
        await mon.close();
        await it.return?.();
      }
    }),
});
