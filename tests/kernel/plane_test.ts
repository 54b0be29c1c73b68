/** The kernel plane against the real kernel (root), each test in a fresh netns. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { ip, isRoot, withNetns } from "../support/netns.ts";
import { compactPrefix, formatPrefix, parsePrefix } from "../../src/net/mod.ts";
import {
  checkMpls,
  KernelPlane,
  KernelUnsupportedError,
  MplsUnavailableError,
  VrfConflictError,
} from "../../src/kernel/mod.ts";

const ignore = !isRoot;

async function tableLines(ns: string, table: number, family = "-4"): Promise<string[]> {
  const out = await ip(ns, family, "route", "show", "table", String(table));
  return out.trim() === "" ? [] : out.trim().split("\n");
}

Deno.test({
  name: "syncRoutes: installs, removes stale, leaves other protocols alone",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      // Routes of zebra, bgp and the admin in the same table must survive.
      await ip(ns, "route", "add", "blackhole", "10.10.0.0/24", "table", "1000", "proto", "zebra");
      await ip(ns, "route", "add", "blackhole", "10.10.1.0/24", "table", "1000", "proto", "bgp");
      await ip(ns, "route", "add", "unreachable", "10.10.2.0/24", "table", "1000");
      const k = KernelPlane.open({ netns: ns });
      try {
        const want = ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24", "2001:db8:20::/48"]
          .map((p) => parsePrefix(p));
        const r1 = await k.syncRoutes(1000, want);
        assertEquals([r1.added, r1.removed, r1.kept, r1.failures.length], [4, 0, 0, 0]);
        const r2 = await k.syncRoutes(1000, want.slice(1));
        assertEquals([r2.added, r2.removed, r2.kept], [0, 1, 3]);
        const lines = await tableLines(ns, 1000);
        assertEquals(lines.length, 5);
        assert(!lines.some((l) => l.includes("10.20.0.0/24")));
        for (const p of ["10.10.0.0/24 proto zebra", "10.10.1.0/24 proto bgp", "10.10.2.0/24"]) {
          assert(lines.some((l) => l.includes(p)), `${p} missing: ${lines}`);
        }
        const r3 = await k.syncRoutes(1000, []);
        assertEquals(r3.removed, 3);
        assertEquals((await tableLines(ns, 1000)).length, 3); // only the others' routes
        assertEquals((await tableLines(ns, 1000, "-6")).length, 0);
      } finally {
        await k.close();
      }
    }),
});

Deno.test({
  name: "syncRoutes: a prefix held by another protocol is reported, not replaced",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await ip(ns, "route", "add", "blackhole", "10.30.0.0/24", "table", "1100", "proto", "static");
      const k = KernelPlane.open({ netns: ns });
      try {
        const r = await k.syncRoutes(1100, [
          parsePrefix("10.30.0.0/24"),
          parsePrefix("10.30.1.0/24"),
        ]);
        assertEquals(r.added, 1);
        assertEquals(r.failures.length, 1);
        assertEquals(formatPrefix(r.failures[0].prefix), "10.30.0.0/24");
        assertEquals(r.failures[0].error.code, "EEXIST");
        assertStringIncludes(r.failures[0].error.message, "add blackhole 10.30.0.0/24 table 1100");
        assertStringIncludes((await tableLines(ns, 1100)).join("\n"), "10.30.0.0/24 proto static");
      } finally {
        await k.close();
      }
    }),
});

Deno.test({
  name: "syncRoutes: adopts its own routes after a restart without delete and re-add",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      const want = Array.from({ length: 500 }, (_, i) =>
        parsePrefix(`10.40.${i >> 8}.${i & 255}/32`));
      const first = KernelPlane.open({ netns: ns, protocol: 250 });
      try {
        assertEquals((await first.syncRoutes(1200, want)).added, 500);
      } finally {
        await first.close();
      }
      // "Restart": a new plane; watch the table for any change while it syncs.
      const k = KernelPlane.open({ netns: ns, protocol: 250 });
      const mon = k.monitorRoutes();
      const it = mon[Symbol.asyncIterator]();
      try {
        const r = await k.syncRoutes(1200, want);
        assertEquals([r.added, r.removed, r.kept], [0, 0, 500]);
        // A marker change made after the sync must be the first event the monitor sees.
        await ip(ns, "route", "add", "blackhole", "10.41.0.0/24", "table", "1201");
        const ev = await it.next();
        assert(!ev.done && ev.value.kind === "route");
        assertEquals(ev.value.route.table, 1201);
        assertStringIncludes((await tableLines(ns, 1200))[0], "proto 250");
      } finally {
        await mon.close();
        await it.return?.();
        await k.close();
      }
    }),
});

Deno.test({
  name: "dumpRoutes: reads bgp and zebra routes of a table",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await ip(ns, "route", "add", "blackhole", "10.50.0.0/24", "table", "1300", "proto", "bgp");
      await ip(ns, "route", "add", "blackhole", "10.50.1.0/24", "table", "1300", "proto", "zebra");
      await ip(ns, "route", "add", "blackhole", "10.50.2.0/24", "table", "1300", "proto", "static");
      await ip(
        ns,
        "-6",
        "route",
        "add",
        "blackhole",
        "2001:db8:50::/48",
        "table",
        "1300",
        "proto",
        "bgp",
      );
      const k = KernelPlane.open({ netns: ns });
      try {
        const routes = await k.dumpRoutes(1300, { protocols: [186, 11] });
        assertEquals(routes.map((r) => `${formatPrefix(r.dst!)} ${r.protocol}`).sort(), [
          "10.50.0.0/24 186",
          "10.50.1.0/24 11",
          "2001:db8:50::/48 186",
        ]);
        assertEquals((await k.dumpRoutes(1300, { family: 4 })).length, 3);
        assertEquals(await k.dumpRoutes(1399), []); // no such table yet
      } finally {
        await k.close();
      }
    }),
});

Deno.test({
  name: "ensureVrf: existing non-VRF link is reported, not clobbered; deleteVrf refuses it",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await ip(ns, "link", "add", "tenant-a", "type", "veth", "peer", "name", "tenant-a-p");
      const k = KernelPlane.open({ netns: ns });
      try {
        await assertRejects(() => k.ensureVrf("tenant-a", 1000), VrfConflictError, "is a veth");
        await assertRejects(() => k.deleteVrf("tenant-a"), VrfConflictError, "not a VRF");
        assertStringIncludes(await ip(ns, "link", "show", "tenant-a"), "tenant-a@tenant-a-p");
        assertEquals(await k.deleteVrf("absent0"), false);
      } finally {
        await k.close();
      }
    }),
});

const hasVrf = await (async () => {
  try {
    return (await Deno.readTextFile("/proc/modules")).includes("vrf ") ||
      (await Deno.stat("/sys/module/vrf")).isDirectory;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "ensureVrf: a kernel without CONFIG_NET_VRF gives KernelUnsupportedError",
  ignore: ignore || hasVrf,
  fn: () =>
    withNetns(async (ns) => {
      const k = KernelPlane.open({ netns: ns });
      try {
        const e = await assertRejects(() => k.ensureVrf("vrf-x", 1000), KernelUnsupportedError);
        assertEquals(e.config, "CONFIG_NET_VRF");
        assertStringIncludes(e.message, "CONFIG_NET_VRF");
        assertEquals(e.message.includes("\n    at "), false);
      } finally {
        await k.close();
      }
    }),
});

Deno.test("checkMpls: require / auto / off against a sysctl tree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals((await checkMpls("off", { sysctlNetDir: dir })).ready, false);
    await assertRejects(
      () => checkMpls("require", { sysctlNetDir: dir }),
      MplsUnavailableError,
      "CONFIG_MPLS_ROUTING",
    );
    const auto = await checkMpls("auto", { sysctlNetDir: dir });
    assertEquals(auto.ready, false);
    await Deno.mkdir(`${dir}/mpls`);
    await Deno.writeTextFile(`${dir}/mpls/platform_labels`, "0\n");
    await assertRejects(
      () => checkMpls("require", { sysctlNetDir: dir }),
      MplsUnavailableError,
      "platform_labels is 0",
    );
    await Deno.writeTextFile(`${dir}/mpls/platform_labels`, "100000\n");
    const ok = await checkMpls("require", { sysctlNetDir: dir });
    assertEquals([ok.ready, ok.platformLabels], [true, 100000]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "syncRoutes: compact prefixes (as tenant sets hold them) match the kernel's routes",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      const texts = [
        ...Array.from({ length: 300 }, (_, i) => `10.50.${i >> 8}.${i & 255}/32`),
        "10.51.0.0/16",
        "200.1.2.0/24", // above 128.0.0.0: the integer is negative as int32
        "fd00:50::/64",
        "fd00:50::5/128",
      ];
      const want = texts.map((t) => compactPrefix(parsePrefix(t)));
      const k = KernelPlane.open({ netns: ns });
      try {
        const r1 = await k.syncRoutes(1300, want);
        assertEquals([r1.added, r1.removed, r1.kept, r1.failures.length], [304, 0, 0, 0]);
        const r2 = await k.syncRoutes(1300, want);
        assertEquals([r2.added, r2.removed, r2.kept], [0, 0, 304]);
        const r3 = await k.syncRoutes(1300, want.slice(150));
        assertEquals([r3.added, r3.removed, r3.kept], [0, 150, 154]);
        const v4 = await tableLines(ns, 1300);
        assertEquals(v4.length, 152);
        assert(v4.some((l) => l.startsWith("blackhole 200.1.2.0/24")), v4.join("\n"));
        assertEquals((await tableLines(ns, 1300, "-6")).length, 2);
      } finally {
        await k.close();
      }
    }),
});
