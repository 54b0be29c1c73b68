import { assert, assertEquals, assertNotEquals, assertThrows } from "../support/assert.ts";
import {
  type Allocation,
  AllocationError,
  emptyState,
  isValidIfName,
  parseRouteDistinguisher,
  planAllocations,
  RESERVED_TABLES,
  serializeState,
} from "../../src/allocate/mod.ts";
import { collidingHash, makeConfig, shuffled, tenants } from "./_fixtures.ts";

const NOW = new Date("2026-11-23T01:00:00Z");
const LATER = new Date("2026-11-24T01:00:00Z");

function allocs(plan: { allocations: Map<string, Allocation> }): Allocation[] {
  return [...plan.allocations.values()];
}

function assertDistinct(list: Allocation[]): void {
  for (const key of ["vrf", "table", "rd", "rt"] as const) {
    const values = list.map((a) => a[key]);
    assertEquals(new Set(values).size, values.length, `duplicate ${key}: ${values}`);
  }
}

Deno.test("plan: every tenant gets vrf, table, RD and RT; all distinct", () => {
  const config = makeConfig();
  const names = ["demo", "demo-b", "kube-system", "Prod.EU", "0123456789abcdef0123456789abcdef"];
  const plan = planAllocations(emptyState(), tenants(...names), { config, now: NOW });
  assertEquals([...plan.allocations.keys()], [...names].sort());
  assertEquals(plan.allocations.get("demo")!.vrf, "demo");
  assertEquals(plan.allocations.get("demo-b")!.vrf, "demo-b");
  assert(plan.allocations.get("kube-system")!.vrf.startsWith("vt"));
  for (const a of allocs(plan)) {
    assert(isValidIfName(a.vrf));
    assert(a.table >= 1000 && a.table <= 1999);
    assertEquals(a.rd, `65000:${a.table}`);
    assertEquals(a.rt, `65000:${a.table}`);
    assertEquals(parseRouteDistinguisher(a.rd).type, 0);
  }
  assertDistinct(allocs(plan));
  assert(plan.changed);
  assertEquals(plan.allocated, [...names].sort());
});

Deno.test("plan: independent of the order tenants are listed in", () => {
  // a small range forces many table collisions, so probe order matters
  const config = makeConfig({ min: 1000, max: 1029 });
  const names = Array.from({ length: 25 }, (_, i) => i % 2 ? `ns-${i}` : `Namespace.${i}`);
  const reference = planAllocations(emptyState(), tenants(...names), { config, now: NOW });
  for (let seed = 1; seed <= 20; seed++) {
    const plan = planAllocations(emptyState(), tenants(...shuffled(names, seed)), {
      config,
      now: NOW,
    });
    assertEquals(allocs(plan), allocs(reference), `seed ${seed}`);
    assertEquals(serializeState(plan.state), serializeState(reference.state));
  }
  assertDistinct(allocs(reference));
});

Deno.test("plan: the same state gives the same allocations (idempotent, unchanged)", () => {
  const config = makeConfig();
  const first = planAllocations(emptyState(), tenants("a", "b", "c"), { config, now: NOW });
  const again = planAllocations(first.state, tenants("c", "b", "a"), { config, now: LATER });
  assertEquals(allocs(again), allocs(first));
  assertEquals(again.changed, false);
  assertEquals(again.state, first.state);
});

Deno.test("plan: colliding hashes probe to distinct tables and VRF names", () => {
  const config = makeConfig({ min: 1000, max: 1004 });
  const names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"];
  const plan = planAllocations(emptyState(), tenants(...names), {
    config,
    now: NOW,
    hash: collidingHash,
  });
  assertDistinct(allocs(plan));
  assertEquals(allocs(plan).map((a) => a.table).sort(), [1000, 1001, 1002, 1003, 1004]);
});

Deno.test("plan: a collision resolved once never reshuffles when more tenants arrive", () => {
  const config = makeConfig({ min: 1000, max: 1009 });
  const opts = { config, now: NOW, hash: collidingHash };
  const first = planAllocations(emptyState(), tenants("Zulu"), opts);
  const zulu = first.allocations.get("Zulu")!;
  const second = planAllocations(first.state, tenants("Alpha", "Zulu"), opts);
  assertEquals(second.allocations.get("Zulu"), zulu);
  // without the state, Alpha (first in name order) would have taken Zulu's values
  const fresh = planAllocations(emptyState(), tenants("Alpha", "Zulu"), opts);
  assertEquals(fresh.allocations.get("Alpha")!.table, zulu.table);
  assertNotEquals(second.allocations.get("Alpha")!.table, zulu.table);
});

Deno.test("plan: reserved table ids 253-255 are skipped", () => {
  const config = makeConfig({ min: 250, max: 260 });
  const names = Array.from({ length: 8 }, (_, i) => `t${i}`);
  const plan = planAllocations(emptyState(), tenants(...names), { config, now: NOW });
  const tables = allocs(plan).map((a) => a.table).sort((a, b) => a - b);
  assertEquals(tables, [250, 251, 252, 256, 257, 258, 259, 260]);
  for (const t of tables) assert(!RESERVED_TABLES.has(t));
});

Deno.test("plan: exhausted range is an error naming allocation.table_range", () => {
  const config = makeConfig({ min: 252, max: 256 }); // usable: 252, 256
  const ok = planAllocations(emptyState(), tenants("a", "b"), { config, now: NOW });
  assertEquals(allocs(ok).map((a) => a.table).sort(), [252, 256]);
  const err = assertThrows(
    () => planAllocations(ok.state, tenants("a", "b", "c"), { config, now: NOW }),
    AllocationError,
    "allocation.table_range",
  );
  assertEquals(err.configPath, "allocation.table_range");
  assert(err.message.includes("tenant c"), err.message);
});

Deno.test("plan: retired tenants keep their values and get them back", () => {
  const config = makeConfig();
  const first = planAllocations(emptyState(), tenants("a", "kube-system", "c"), {
    config,
    now: NOW,
  });
  const gone = planAllocations(first.state, tenants("a", "c"), { config, now: LATER });
  assertEquals(gone.retired, ["kube-system"]);
  assert(gone.changed);
  const entry = gone.state.entries.get("kube-system")!;
  assertEquals(entry.retired_at, LATER.toISOString());
  assertEquals(gone.allocations.has("kube-system"), false);
  // a newcomer never takes a retired allocation while the range has room
  const newcomer = planAllocations(gone.state, tenants("a", "c", "d"), { config, now: LATER });
  assertNotEquals(newcomer.allocations.get("d")!.table, entry.table);
  const back = planAllocations(newcomer.state, tenants("a", "c", "d", "kube-system"), {
    config,
    now: LATER,
  });
  assertEquals(back.revived, ["kube-system"]);
  assertEquals(back.allocations.get("kube-system"), first.allocations.get("kube-system"));
  assertEquals(back.state.entries.get("kube-system")!.retired_at, undefined);
});

Deno.test("plan: retired allocations are reclaimed only when the range is full, oldest first", () => {
  const config = makeConfig({ min: 1000, max: 1002 });
  const t1 = new Date("2026-01-01T00:00:00Z");
  const t2 = new Date("2026-02-01T00:00:00Z");
  const t3 = new Date("2026-03-01T00:00:00Z");
  const s0 = planAllocations(emptyState(), tenants("a", "b", "c"), { config, now: t1 });
  const s1 = planAllocations(s0.state, tenants("a", "c"), { config, now: t2 }); // b retired t2
  const s2 = planAllocations(s1.state, tenants("c"), { config, now: t3 }); // a retired t3
  const s3 = planAllocations(s2.state, tenants("c", "d"), { config, now: t3 });
  assertEquals(s3.reclaimed, ["b"]);
  assertEquals(s3.allocations.get("d")!.table, s0.allocations.get("b")!.table);
  assertEquals(s3.state.entries.has("b"), false);
  assertEquals(s3.state.entries.get("a")!.table, s0.allocations.get("a")!.table);
});

Deno.test("plan: 4-byte ASN gives type 2, IPv4 base type 1, separate rt_base", () => {
  const four = planAllocations(emptyState(), tenants("a"), {
    config: makeConfig({ asn: 4200000000 }),
    now: NOW,
  });
  const a4 = four.allocations.get("a")!;
  assertEquals(a4.rd, `4200000000:${a4.table}`);
  assertEquals(parseRouteDistinguisher(a4.rd).type, 2);
  const ip = planAllocations(emptyState(), tenants("a"), {
    config: makeConfig({ rd_base: "192.0.2.1" }),
    now: NOW,
  });
  const aip = ip.allocations.get("a")!;
  assertEquals(aip.rd, `192.0.2.1:${aip.table}`);
  assertEquals(aip.rt, `192.0.2.1:${aip.table}`); // rt_base defaults to rd_base
  assertEquals(parseRouteDistinguisher(aip.rd).type, 1);
  const split = planAllocations(emptyState(), tenants("a"), {
    config: makeConfig({ rd_base: "192.0.2.1", rt_base: 65010 }),
    now: NOW,
  });
  const as = split.allocations.get("a")!;
  assertEquals(as.rt, `65010:${as.table}`);
});

Deno.test("plan: a 16-bit administrator with table_range.max > 65535 is refused", () => {
  const err = assertThrows(
    () =>
      planAllocations(emptyState(), tenants("a"), {
        config: makeConfig({ asn: 4200000000, min: 1000, max: 70000 }),
        now: NOW,
      }),
    AllocationError,
    "allocation.table_range.max",
  );
  assertEquals(err.configPath, "allocation.table_range.max");
});

Deno.test("plan: RD/RT overrides win and are canonical", () => {
  const plan = planAllocations(
    emptyState(),
    [{ name: "a", rt: "65000:0100", rd: "198.51.100.1:7" }, { name: "b" }],
    { config: makeConfig(), now: NOW },
  );
  assertEquals(plan.allocations.get("a")!.rt, "65000:100");
  assertEquals(plan.allocations.get("a")!.rd, "198.51.100.1:7");
  assertEquals(plan.allocations.get("b")!.rd, `65000:${plan.allocations.get("b")!.table}`);
});

Deno.test("plan: override collisions name both tenants", () => {
  const config = makeConfig();
  const err = assertThrows(
    () =>
      planAllocations(emptyState(), [{ name: "x", rt: "65000:5" }, { name: "y", rt: "65000:5" }], {
        config,
        now: NOW,
      }),
    AllocationError,
    "tenant x and tenant y",
  );
  assertEquals(err.tenants, ["x", "y"]);
  // an override equal to another tenant's already allocated derived value
  const s = planAllocations(emptyState(), tenants("b"), { config, now: NOW });
  const bRt = s.allocations.get("b")!.rt;
  const err2 = assertThrows(
    () => planAllocations(s.state, [{ name: "a", rt: bRt }, { name: "b" }], { config, now: NOW }),
    AllocationError,
    "tenant a and tenant b",
  );
  assertEquals(err2.tenants, ["a", "b"]);
  assertThrows(
    () => planAllocations(emptyState(), [{ name: "a", rd: "nope" }], { config, now: NOW }),
    AllocationError,
    "tenant a: rd override",
  );
});

Deno.test("plan: new tenants avoid tables whose derived RD/RT equals an override", () => {
  const config = makeConfig({ min: 1000, max: 1003 });
  for (const hash of [collidingHash, undefined]) {
    const plan = planAllocations(
      emptyState(),
      [{ name: "a", rt: "65000:1000" }, { name: "b" }, { name: "c" }],
      { config, now: NOW, hash },
    );
    assertEquals(plan.allocations.get("a")!.rt, "65000:1000");
    assertEquals(allocs(plan).map((a) => a.table).sort(), [1001, 1002, 1003]);
    assertDistinct(allocs(plan));
  }
});

Deno.test("plan: duplicate and invalid tenant names are errors", () => {
  const config = makeConfig();
  assertThrows(
    () => planAllocations(emptyState(), tenants("a", "a"), { config }),
    AllocationError,
    "listed twice",
  );
  assertThrows(
    () => planAllocations(emptyState(), tenants("a/b"), { config }),
    AllocationError,
    "invalid tenant name",
  );
});

Deno.test("plan: tables outside a changed range are moved, VRF names kept", () => {
  const before = planAllocations(emptyState(), tenants("a", "b"), {
    config: makeConfig({ min: 1000, max: 1999 }),
    now: NOW,
  });
  const after = planAllocations(before.state, tenants("a", "b"), {
    config: makeConfig({ min: 3000, max: 3999 }),
    now: NOW,
  });
  assertEquals(after.moved, ["a", "b"]);
  for (const name of ["a", "b"]) {
    const a = after.allocations.get(name)!;
    assert(a.table >= 3000 && a.table <= 3999);
    assertEquals(a.vrf, before.allocations.get(name)!.vrf);
  }
});
