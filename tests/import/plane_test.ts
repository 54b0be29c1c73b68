/**
 * The return-path plane against a real ovsdb-server with the OVN NB schema and routes in a
 * fresh network namespace (root).
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { ip, isRoot, withNetns } from "../support/netns.ts";
import { type OvnDbInstance, startOvnDb } from "../support/ovn_nb.ts";
import { waitFor } from "../support/proc.ts";
import { type Config, configSchema, parseWithSchema } from "../../src/config/mod.ts";
import { parsePrefix } from "../../src/net/mod.ts";
import type { Desired } from "../../src/agent/plane.ts";
import { createImportPlane, type ImportPlane } from "../../src/import/mod.ts";

const ignore = !isRoot;
const TABLE = 1500;

function config(remote: string, extra = "", v6 = true): Config {
  return parseWithSchema(
    `bgp:
  asn: 65000
  router_id: 192.0.2.1
tenants:
  sources:
    - type: ovn
      connection: ${remote}
import:
  enabled: true
  nexthop_v4: 100.64.0.1
${v6 ? "  nexthop_v6: fd99::1\n" : ""}${extra}`,
    configSchema,
    { file: "test.yaml" },
  );
}

function desired(cfg: Config, tenants: [string, number, string[]][] = [["acme", TABLE, []]]) {
  const map = new Map(tenants.map(([name, table, prefixes]) => [name, {
    tenant: { name, prefixes: prefixes.map((p) => parsePrefix(p)) },
    allocation: { tenant: name, vrf: `vrf-${name}`, table, rd: "65000:1", rt: "65000:1" },
  }]));
  return { config: cfg, tenants: map, retired: [] } satisfies Desired;
}

/** Static routes, one `ip_prefix,nexthop,route_table,external_ids` line each (bare CSV). */
async function rows(nb: OvnDbInstance): Promise<string[]> {
  const out = await nb.nbctl([
    "--format=csv",
    "--data=bare",
    "--no-headings",
    "--columns=ip_prefix,nexthop,route_table,external_ids",
    "find",
    "Logical_Router_Static_Route",
  ]);
  return out.trim() === "" ? [] : out.trim().split("\n").sort();
}

async function setup(nb: OvnDbInstance): Promise<void> {
  await nb.nbctl(["lr-add", "ovn_cluster_router"]);
  await nb.nbctl(["lr-route-add", "ovn_cluster_router", "192.0.2.0/24", "10.0.0.254"]);
}

const FOREIGN = "192.0.2.0/24,10.0.0.254,,";

Deno.test({
  name: "import plane: kernel bgp routes become owned static routes, and go again",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await using nb = await startOvnDb();
      await setup(nb);
      await ip(
        ns,
        "route",
        "add",
        "blackhole",
        "198.51.100.0/24",
        "table",
        `${TABLE}`,
        "proto",
        "bgp",
      );
      await ip(
        ns,
        "-6",
        "route",
        "add",
        "blackhole",
        "2001:db8:77::/48",
        "table",
        `${TABLE}`,
        "proto",
        "186",
      );
      // Not imported: another protocol, and a prefix inside the tenant's own export.
      await ip(
        ns,
        "route",
        "add",
        "blackhole",
        "203.0.113.0/24",
        "table",
        `${TABLE}`,
        "proto",
        "static",
      );
      await ip(ns, "route", "add", "blackhole", "10.1.2.0/24", "table", `${TABLE}`, "proto", "bgp");
      const cfg = config(nb.unixRemote);
      const plane = await createImportPlane(cfg, { netns: ns }) as ImportPlane;
      assert(plane, "enabled import gives a plane");
      try {
        const want = desired(cfg, [["acme", TABLE, ["10.1.0.0/16"]]]);
        const out = await plane.reconcile(want, { full: true });
        assertEquals(out.tenantErrors.size, 0);
        assertEquals(out.counts?.static_routes_added, 2);
        assertEquals(plane.importedRoutes("acme"), 2);
        const ids =
          "vpnv4-agent:owner=vpnv4-agent vpnv4-agent:tenant=acme vpnv4-agent:vrf=vrf-acme";
        assertEquals(
          await rows(nb),
          [
            `198.51.100.0/24,100.64.0.1,,${ids}`,
            FOREIGN,
            `2001:db8:77::/48,fd99::1,,${ids}`,
          ].sort(),
        );
        const list = await nb.nbctl(["lr-route-list", "ovn_cluster_router"]);
        assertStringIncludes(list, "198.51.100.0/24");
        assertStringIncludes(list, "2001:db8:77::/48");

        // Steady state: nothing to do.
        const again = await plane.reconcile(want, { full: true });
        assertEquals([again.counts?.static_routes_added, again.counts?.static_routes_kept], [0, 2]);

        // Drift: an admin deletes our row; the resync puts it back.
        await nb.nbctl(["lr-route-del", "ovn_cluster_router", "198.51.100.0/24"]);
        assertEquals((await plane.reconcile(want, { full: true })).counts?.static_routes_added, 1);

        // Withdrawn in the kernel → row removed; the foreign row stays.
        await ip(ns, "route", "del", "blackhole", "198.51.100.0/24", "table", `${TABLE}`);
        const after = await plane.reconcile(want, { full: true });
        assertEquals(after.counts?.static_routes_removed, 1);
        assertEquals(await rows(nb), [FOREIGN, `2001:db8:77::/48,fd99::1,,${ids}`].sort());

        // withdrawAll removes every owned row and nothing else.
        await plane.withdrawAll(want);
        assertEquals(await rows(nb), [FOREIGN]);
      } finally {
        await plane.close();
      }
    }),
});

Deno.test({
  name: "import plane: per-tenant route_table, missing nexthop family, retired tenant",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await using nb = await startOvnDb();
      await setup(nb);
      await ip(ns, "route", "add", "blackhole", "0.0.0.0/0", "table", "1501", "proto", "bgp");
      await ip(ns, "-6", "route", "add", "blackhole", "::/0", "table", "1501", "proto", "bgp");
      await ip(ns, "route", "add", "blackhole", "0.0.0.0/0", "table", "1502", "proto", "bgp");
      const cfg = config(nb.unixRemote, "  route_tables:\n    blue: rtb-blue\n", false);
      const plane = await createImportPlane(cfg, { netns: ns }) as ImportPlane;
      try {
        const both = desired(cfg, [["blue", 1501, []], ["red", 1502, []]]);
        const out = await plane.reconcile(both, { full: true });
        assertEquals(out.tenantErrors.size, 0);
        assertEquals(out.counts?.imports_skipped, 1); // ::/0 without nexthop_v6
        assert(plane.health().warnings.some((w) => w.includes("nexthop_v6")));
        const r = (await rows(nb)).filter((l) => l.includes("vpnv4-agent"));
        assertEquals(r.length, 2);
        assert(r.some((l) => l.startsWith("0.0.0.0/0,100.64.0.1,rtb-blue,")), r.join("\n"));
        assert(r.some((l) => l.startsWith("0.0.0.0/0,100.64.0.1,,") && l.includes("=red")));
        // Tenant red retired: its row goes, blue's stays.
        await plane.reconcile(desired(cfg, [["blue", 1501, []]]), { full: true });
        const left = (await rows(nb)).filter((l) => l.includes("vpnv4-agent"));
        assertEquals(left.length, 1);
        assertStringIncludes(left[0], "rtb-blue");
      } finally {
        await plane.close();
      }
    }),
});

Deno.test({
  name: "import plane: a missing router is a tenant error naming it, not a crash",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await using nb = await startOvnDb();
      await ip(
        ns,
        "route",
        "add",
        "blackhole",
        "198.51.100.0/24",
        "table",
        `${TABLE}`,
        "proto",
        "bgp",
      );
      const cfg = config(nb.unixRemote, "  router: lr-missing\n");
      const plane = await createImportPlane(cfg, { netns: ns }) as ImportPlane;
      try {
        const out = await plane.reconcile(desired(cfg), { full: true });
        assertStringIncludes(out.tenantErrors.get("acme") ?? "", "lr-missing");
        assertEquals(await rows(nb), []);
      } finally {
        await plane.close();
      }
    }),
});

Deno.test({
  name: "import plane: the route monitor calls onChange for an imported route",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await using nb = await startOvnDb();
      await setup(nb);
      const cfg = config(nb.unixRemote);
      let calls = 0;
      const plane = await createImportPlane(cfg, {
        netns: ns,
        debounceMs: 10,
        onChange: () => calls++,
      }) as ImportPlane;
      try {
        await plane.reconcile(desired(cfg), { full: true }); // learns the tenant tables
        // A route of another table or protocol is not ours to watch.
        await ip(ns, "route", "add", "blackhole", "198.51.1.0/24", "table", "1999", "proto", "bgp");
        await ip(
          ns,
          "route",
          "add",
          "blackhole",
          "198.51.2.0/24",
          "table",
          `${TABLE}`,
          "proto",
          "static",
        );
        await ip(
          ns,
          "route",
          "add",
          "blackhole",
          "198.51.100.0/24",
          "table",
          `${TABLE}`,
          "proto",
          "bgp",
        );
        await waitFor(() => calls > 0, {
          timeoutMs: 10_000,
          describe: () => "onChange not called",
        });
        const out = await plane.reconcile(desired(cfg), { full: true });
        assertEquals(out.counts?.static_routes_added, 1);
      } finally {
        await plane.close();
      }
    }),
});

Deno.test({
  name: "import plane: incremental rounds dump only the tables the monitor saw change",
  ignore,
  fn: () =>
    withNetns(async (ns) => {
      await using nb = await startOvnDb();
      await setup(nb);
      const cfg = config(nb.unixRemote);
      let calls = 0;
      const plane = await createImportPlane(cfg, {
        netns: ns,
        debounceMs: 10,
        onChange: () => calls++,
      }) as ImportPlane;
      const three = desired(cfg, [["a", 1501, []], ["b", 1502, []], ["c", 1503, []]]);
      try {
        await plane.reconcile(three, { full: false }); // first round: every table
        assertEquals(plane.lastDumps, 3);
        await plane.reconcile(three, { full: false }); // nothing changed: the cache serves
        assertEquals(plane.lastDumps, 0);
        await ip(
          ns,
          "route",
          "add",
          "blackhole",
          "198.51.100.0/24",
          "table",
          "1502",
          "proto",
          "bgp",
        );
        await waitFor(() => calls > 0, { timeoutMs: 10_000, describe: () => "no onChange" });
        const out = await plane.reconcile(three, { full: false });
        assertEquals([plane.lastDumps, out.counts?.static_routes_added], [1, 1]);
        assertEquals(plane.importedRoutes("b"), 1);
        // A new tenant is dumped; a full round dumps everything; the cached rows stay.
        const four = desired(cfg, [
          ["a", 1501, []],
          ["b", 1502, []],
          ["c", 1503, []],
          ["d", 1504, []],
        ]);
        const more = await plane.reconcile(four, { full: false });
        assertEquals([plane.lastDumps, more.counts?.static_routes_kept], [1, 1]);
        await plane.reconcile(four, { full: true });
        assertEquals(plane.lastDumps, 4);
        // Withdrawn in the kernel: the monitor marks table 1502, the row goes.
        calls = 0;
        await ip(ns, "route", "del", "blackhole", "198.51.100.0/24", "table", "1502");
        await waitFor(() => calls > 0, { timeoutMs: 10_000, describe: () => "no onChange" });
        const gone = await plane.reconcile(four, { full: false });
        assertEquals([plane.lastDumps, gone.counts?.static_routes_removed], [1, 1]);
        assertEquals(await rows(nb), [FOREIGN]);
      } finally {
        await plane.close();
      }
    }),
});

Deno.test("import plane: disabled import gives no plane", async () => {
  const cfg = parseWithSchema(
    `bgp:
  asn: 65000
  router_id: 192.0.2.1
tenants:
  sources:
    - type: file
      path: t.yaml
`,
    configSchema,
    { file: "test.yaml" },
  );
  assertEquals(await createImportPlane(cfg), undefined);
});
