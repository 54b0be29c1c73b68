/** The pure return-path rows: desired rows, diff → ops, select parsing. */
import { assert, assertEquals } from "../support/assert.ts";
import { parsePrefix } from "../../src/net/mod.ts";
import {
  type DesiredRow,
  desiredRows,
  diffRows,
  type NbState,
  type OwnedRow,
  OWNER_KEY,
  OWNER_VALUE,
  parseState,
  TENANT_KEY,
  VRF_KEY,
  withdrawOps,
} from "../../src/import/mod.ts";

const P = (s: string) => parsePrefix(s);
const SETTINGS = { nexthopV4: "100.64.0.1", nexthopV6: "fd99::1" };
const ROUTER = { uuid: "r-main", name: "ovn_cluster_router", staticRoutes: [] as string[] };

function owned(uuid: string, over: Partial<OwnedRow> = {}): OwnedRow {
  return {
    uuid,
    ipPrefix: "198.51.100.0/24",
    nexthop: "100.64.0.1",
    routeTable: "",
    tenant: "acme",
    vrf: "vrf-acme",
    policy: "",
    outputPort: "",
    ...over,
  };
}

function state(rows: OwnedRow[], refs: string[] = rows.map((r) => r.uuid)): NbState {
  return { rows, routers: [{ ...ROUTER, staticRoutes: [...refs, "foreign-1"] }] };
}

function want(routes: string[], over: { exported?: string[]; tenant?: string } = {}) {
  return desiredRows([{
    tenant: over.tenant ?? "acme",
    vrf: `vrf-${over.tenant ?? "acme"}`,
    exported: (over.exported ?? []).map(P),
    routes: routes.map(P),
  }], SETTINGS).rows;
}

Deno.test("desiredRows: one row per tenant and prefix, nexthop per family, route_table", () => {
  const d = desiredRows([
    {
      tenant: "b",
      vrf: "vrf-b",
      exported: [],
      routes: [P("0.0.0.0/0"), P("2001:db8::/32"), P("0.0.0.0/0")],
    },
    { tenant: "a", vrf: "vrf-a", exported: [], routes: [P("203.0.113.0/24")] },
  ], { ...SETTINGS, routeTables: { b: "rtb-b" } });
  assertEquals(d.rows, [
    {
      tenant: "a",
      vrf: "vrf-a",
      ipPrefix: "203.0.113.0/24",
      nexthop: "100.64.0.1",
      routeTable: "",
    },
    {
      tenant: "b",
      vrf: "vrf-b",
      ipPrefix: "0.0.0.0/0",
      nexthop: "100.64.0.1",
      routeTable: "rtb-b",
    },
    {
      tenant: "b",
      vrf: "vrf-b",
      ipPrefix: "2001:db8::/32",
      nexthop: "fd99::1",
      routeTable: "rtb-b",
    },
  ]);
  assertEquals([...d.perTenant], [["b", 2], ["a", 1]]);
});

Deno.test("desiredRows: a family without nexthop, own prefixes and multicast are skipped", () => {
  const d = desiredRows([{
    tenant: "a",
    vrf: "vrf-a",
    exported: [P("10.1.0.0/16")],
    routes: [
      P("10.1.2.0/24"), // inside the tenant's own prefix
      P("10.0.0.0/8"), // covers it: allowed
      P("2001:db8::/32"),
      P("fe80::/64"),
      P("239.1.0.0/16"),
    ],
  }], { nexthopV4: "100.64.0.1" });
  assertEquals(d.rows.map((r) => r.ipPrefix), ["10.0.0.0/8"]);
  assertEquals(d.skipped.map((s) => [s.prefix, s.reason]), [
    ["10.1.2.0/24", "own-prefix"],
    ["2001:db8::/32", "no-nexthop"],
    ["fe80::/64", "not-unicast"],
    ["239.1.0.0/16", "not-unicast"],
  ]);
});

Deno.test("diffRows: inserts rows and references them from the router in one mutate", () => {
  const d = diffRows(want(["198.51.100.0/24", "::/0"]), state([]), {
    router: "ovn_cluster_router",
  });
  assertEquals(d.insert.length, 2);
  assertEquals(d.ops.length, 3);
  assertEquals(d.ops[0], {
    op: "insert",
    table: "Logical_Router_Static_Route",
    row: {
      ip_prefix: "198.51.100.0/24",
      nexthop: "100.64.0.1",
      route_table: "",
      external_ids: ["map", [
        [OWNER_KEY, OWNER_VALUE],
        [TENANT_KEY, "acme"],
        [VRF_KEY, "vrf-acme"],
      ]],
    },
    "uuid-name": "import0",
  });
  assertEquals(d.routerOpIndex, 2);
  assertEquals(d.ops[2], {
    op: "mutate",
    table: "Logical_Router",
    where: [["_uuid", "==", ["uuid", "r-main"]]],
    mutations: [["static_routes", "insert", ["set", [
      ["named-uuid", "import0"],
      ["named-uuid", "import1"],
    ]]]],
  });
});

Deno.test("diffRows: unchanged rows give no operations", () => {
  const d = diffRows(want(["198.51.100.0/24"]), state([owned("u1")]), {
    router: "ovn_cluster_router",
  });
  assertEquals([d.ops.length, d.kept, d.insert.length, d.remove.length], [0, 1, 0, 0]);
});

Deno.test("diffRows: stale rows are unreferenced, foreign rows never appear", () => {
  const d = diffRows([], state([owned("u1")]), { router: "ovn_cluster_router" });
  assertEquals(d.remove.map((r) => r.uuid), ["u1"]);
  assertEquals(d.ops, [{
    op: "mutate",
    table: "Logical_Router",
    where: [["_uuid", "==", ["uuid", "r-main"]]],
    mutations: [["static_routes", "delete", ["set", [["uuid", "u1"]]]]],
  }]);
  assert(!JSON.stringify(d.ops).includes("foreign-1"));
});

Deno.test("diffRows: a changed nexthop or route_table replaces the row; duplicates go", () => {
  const rows: DesiredRow[] = want(["198.51.100.0/24", "203.0.113.0/24"]);
  const d = diffRows(
    rows,
    state([
      owned("u1", { nexthop: "100.64.0.9" }),
      owned("u2", { ipPrefix: "203.0.113.0/24" }),
      owned("u3", { ipPrefix: "203.0.113.0/24" }),
    ]),
    { router: "ovn_cluster_router" },
  );
  assertEquals(d.insert.map((r) => r.ipPrefix), ["198.51.100.0/24"]);
  assertEquals(d.remove.map((r) => r.uuid), ["u1", "u3"]);
  assertEquals(d.kept, 1);
});

Deno.test("diffRows: per-tenant route_table change is drift", () => {
  const rows = desiredRows([{
    tenant: "acme",
    vrf: "vrf-acme",
    exported: [],
    routes: [P("198.51.100.0/24")],
  }], { ...SETTINGS, routeTables: { acme: "rtb-acme" } }).rows;
  const d = diffRows(rows, state([owned("u1")]), { router: "ovn_cluster_router" });
  assertEquals([d.insert[0].routeTable, d.remove[0].uuid], ["rtb-acme", "u1"]);
});

Deno.test("diffRows: a host route written as bare address by ovn-nbctl still matches", () => {
  const d = diffRows(want(["192.0.2.7/32"]), state([owned("u1", { ipPrefix: "192.0.2.7" })]), {
    router: "ovn_cluster_router",
  });
  assertEquals([d.ops.length, d.kept], [0, 1]);
});

Deno.test("diffRows: missing router → error, no inserts; keepTenants rows stay", () => {
  const missing = diffRows(want(["198.51.100.0/24"]), { rows: [], routers: [] }, {
    router: "ovn_cluster_router",
  });
  assertEquals(missing.ops, []);
  assertEquals(missing.routerError, "logical router ovn_cluster_router not found in OVN NB");
  const kept = diffRows([], state([owned("u1")]), {
    router: "ovn_cluster_router",
    keepTenants: new Set(["acme"]),
  });
  assertEquals(kept.ops, []);
});

Deno.test("diffRows: owned rows on another router are unreferenced there", () => {
  const s: NbState = {
    rows: [owned("u1")],
    routers: [ROUTER, { uuid: "r-old", name: "old_router", staticRoutes: ["u1"] }],
  };
  const d = diffRows(want(["198.51.100.0/24"]), s, { router: "ovn_cluster_router" });
  assertEquals(d.insert.length, 1);
  assertEquals(d.ops.at(-1), {
    op: "mutate",
    table: "Logical_Router",
    where: [["_uuid", "==", ["uuid", "r-old"]]],
    mutations: [["static_routes", "delete", ["set", [["uuid", "u1"]]]]],
  });
  assertEquals(withdrawOps(s).length, 1);
});

Deno.test("parseState: decodes select rows and drops rows without the owner marker", () => {
  const s = parseState([
    {
      _uuid: ["uuid", "u1"],
      ip_prefix: "198.51.100.0/24",
      nexthop: "100.64.0.1",
      route_table: "",
      policy: ["set", []],
      output_port: ["set", []],
      external_ids: ["map", [[OWNER_KEY, OWNER_VALUE], [TENANT_KEY, "acme"], [VRF_KEY, "v"]]],
    },
    {
      _uuid: ["uuid", "u2"],
      ip_prefix: "0.0.0.0/0",
      nexthop: "1.1.1.1",
      route_table: "",
      external_ids: ["map", [[OWNER_KEY, "someone-else"]]],
    },
  ], [
    { _uuid: ["uuid", "r1"], name: "lr", static_routes: ["uuid", "u1"] },
    { _uuid: ["uuid", "r2"], name: "lr2", static_routes: ["set", []] },
  ]);
  assertEquals(s.rows, [owned("u1", { vrf: "v" })]);
  assertEquals(s.routers, [
    { uuid: "r1", name: "lr", staticRoutes: ["u1"] },
    { uuid: "r2", name: "lr2", staticRoutes: [] },
  ]);
});
