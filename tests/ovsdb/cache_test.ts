/**
 * DatabaseCache with the OVN NB schema, fed with update2 notation: compact rows, shared map
 * datums, map-key filtering, and lazily parsed input giving the same rows and events.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { assert, assertEquals } from "../support/assert.ts";
import { DatabaseCache, LazyJson, parseSchema, type Row } from "../../src/ovsdb/mod.ts";
import { uniform } from "../fuzz/prng.ts";

const schema = parseSchema(JSON.parse(await Deno.readTextFile("/usr/share/ovn/ovn-nb.ovsschema")));
const LSP = ["type", "addresses", "dynamic_addresses", "external_ids"];
const NS = "k8s.ovn.org/namespace";

function uuid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
}

function ids(pairs: Record<string, string>): unknown {
  return ["map", Object.entries(pairs)];
}

function port(i: number, ns: string, extra: Record<string, string> = {}) {
  return {
    addresses: `0a:58:00:00:00:01 10.0.${i >> 8}.${i & 255}`,
    external_ids: ids({ [NS]: ns, ...extra }),
  };
}

function plain(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Map ? [...v] : v;
  return out;
}

Deno.test("cache: rows are plain objects; equal external_ids share one Map", () => {
  const cache = new DatabaseCache(schema, { Logical_Switch_Port: LSP });
  const rows: Record<string, unknown> = {};
  for (let i = 0; i < 30; i++) rows[uuid(i)] = { initial: port(i, `ns${i % 3}`) };
  rows[uuid(99)] = { initial: { addresses: "unknown" } }; // no external_ids at all
  cache.replaceAll({ Logical_Switch_Port: rows }, 2);
  const t = cache.table("Logical_Switch_Port");
  const r0 = t.get(uuid(0))!, r3 = t.get(uuid(3))!, r1 = t.get(uuid(1))!;
  assertEquals(Object.getPrototypeOf(r0), Object.prototype);
  assertEquals(Object.keys(r0), ["_uuid", ...LSP]);
  assertEquals(r0.addresses, ["0a:58:00:00:00:01 10.0.0.0"]);
  assertEquals(r0.type, "");
  assertEquals(r0.dynamic_addresses, undefined);
  assert(r0.external_ids === r3.external_ids, "same namespace, same Map");
  assert(r0.external_ids !== r1.external_ids);
  assertEquals([...(r1.external_ids as Map<string, string>)], [[NS, "ns1"]]);
  assertEquals((t.get(uuid(99))!.external_ids as Map<string, string>).size, 0);

  // A modify of one row's map leaves the rows it shared the Map with alone.
  cache.applyUpdates({
    Logical_Switch_Port: { [uuid(0)]: { modify: { external_ids: ids({ pod: "true" }) } } },
  }, 2);
  assertEquals([...(t.get(uuid(0))!.external_ids as Map<string, string>)], [
    [NS, "ns0"],
    ["pod", "true"],
  ]);
  assertEquals([...(t.get(uuid(3))!.external_ids as Map<string, string>)], [[NS, "ns0"]]);
});

Deno.test("cache: mapKeys keeps only the listed keys, in rows and in diffs", () => {
  const cache = new DatabaseCache(schema, {
    Logical_Switch_Port: { columns: LSP, mapKeys: { external_ids: [NS, "neutron:cidrs"] } },
  });
  const events: string[] = [];
  cache.addEventHandler({
    onAdd: (_t, r) => events.push(`add ${r._uuid.slice(-1)}`),
    onUpdate: (_t, _o, r) => events.push(`update ${r._uuid.slice(-1)}`),
  });
  cache.replaceAll({
    Logical_Switch_Port: {
      [uuid(1)]: { initial: port(1, "a", { "neutron:device_id": "x".repeat(36), other: "y" }) },
    },
  }, 2);
  const t = cache.table("Logical_Switch_Port");
  assertEquals([...(t.get(uuid(1))!.external_ids as Map<string, string>)], [[NS, "a"]]);
  // A diff touching only dropped keys changes nothing: no update event.
  cache.applyUpdates({
    Logical_Switch_Port: { [uuid(1)]: { modify: { external_ids: ids({ other: "z" }) } } },
  }, 2);
  // A diff of a kept key: the value replaced, a new kept key added.
  cache.applyUpdates({
    Logical_Switch_Port: {
      [uuid(1)]: { modify: { external_ids: ids({ [NS]: "b", "neutron:cidrs": "10.0.0.1/24" }) } },
    },
  }, 2);
  assertEquals([...(t.get(uuid(1))!.external_ids as Map<string, string>)], [
    [NS, "b"],
    ["neutron:cidrs", "10.0.0.1/24"],
  ]);
  // Deleting a kept key by its current value.
  cache.applyUpdates({
    Logical_Switch_Port: { [uuid(1)]: { modify: { external_ids: ids({ [NS]: "b" }) } } },
  }, 2);
  assertEquals([...(t.get(uuid(1))!.external_ids as Map<string, string>)], [
    ["neutron:cidrs", "10.0.0.1/24"],
  ]);
  assertEquals(events, ["add 1", "update 1", "update 1"]);
});

Deno.test("cache: compactSets keeps one-atom sets as the atom, through any diff", () => {
  // Two caches fed the same random updates (update2 diffs and whole rows, 0 to 3 addresses):
  // the compact one must hold the atom where the plain one holds a one-element array, the
  // same array otherwise, and send the same events.
  const expand = (d: unknown) => Array.isArray(d) ? [...d].sort() : [d];
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = uniform(seed);
    const plainCache = new DatabaseCache(schema, { Logical_Switch_Port: LSP });
    const compact = new DatabaseCache(schema, {
      Logical_Switch_Port: { columns: LSP, compactSets: ["addresses"] },
    });
    const events: string[][] = [[], []];
    [plainCache, compact].forEach((c, i) =>
      c.addEventHandler({
        onAdd: (_t, r) => events[i].push(`add ${r._uuid}`),
        onUpdate: (_t, _o, r) => events[i].push(`update ${r._uuid}`),
        onDelete: (_t, r) => events[i].push(`delete ${r._uuid}`),
      })
    );
    const pool = ["a 10.0.0.1", "b 10.0.0.2", "c 10.0.0.3", "unknown"];
    const some = () => pool.filter(() => rnd() < 0.4);
    const wire = (atoms: string[]) => atoms.length === 1 ? atoms[0] : ["set", atoms];
    const live = new Set<string>();
    for (let step = 0; step < 200; step++) {
      const id = uuid(Math.floor(rnd() * 6));
      const r = rnd();
      let update: unknown;
      if (!live.has(id)) {
        update = { insert: { addresses: wire(some()) } };
        live.add(id);
      } else if (r < 0.15) {
        update = { delete: null };
        live.delete(id);
      } else update = { modify: { addresses: wire(some()) } }; // toggles these atoms
      for (const c of [plainCache, compact]) {
        c.applyUpdates({ Logical_Switch_Port: { [id]: update } }, 2);
      }
    }
    const p = plainCache.table("Logical_Switch_Port"), c = compact.table("Logical_Switch_Port");
    assertEquals(c.size, p.size);
    for (const row of p.rows()) {
      const a = row.addresses as string[];
      const b = c.get(row._uuid)!.addresses;
      if (a.length === 1) assertEquals(b, a[0], `seed ${seed}`);
      else assertEquals(expand(b), [...a].sort(), `seed ${seed}`);
    }
    assertEquals(events[1], events[0], `seed ${seed}`);
  }
});

Deno.test("cache: lazily parsed updates give the same rows and events as parsed ones", () => {
  const rand = uniform(11);
  const batches: unknown[] = [];
  const live = new Set<number>();
  const initial: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++) {
    initial[uuid(i)] = { initial: port(i, `ns${i % 7}`) };
    live.add(i);
  }
  batches.push({ Logical_Switch_Port: initial, Logical_Switch: {} });
  for (let b = 0; b < 30; b++) {
    const tu: Record<string, unknown> = {};
    for (let k = 0; k < 20; k++) {
      const i = Math.floor(rand() * 260);
      const r = rand();
      if (uuid(i) in tu) continue;
      if (!live.has(i)) {
        tu[uuid(i)] = { insert: port(i, `ns${i % 5}`) };
        live.add(i);
      } else if (r < 0.3) {
        tu[uuid(i)] = { delete: null };
        live.delete(i);
      } else if (r < 0.6) {
        tu[uuid(i)] = { modify: { external_ids: ids({ [NS]: `ns${Math.floor(rand() * 9)}` }) } };
      } else {
        tu[uuid(i)] = { modify: { addresses: ["set", [`0a:58:00:00:00:02 10.9.0.${k}`]] } };
      }
    }
    batches.push({ Logical_Switch_Port: tu });
  }
  const run = (lazy: boolean) => {
    const cache = new DatabaseCache(schema, { Logical_Switch_Port: LSP, Logical_Switch: ["name"] });
    const events: string[] = [];
    cache.addEventHandler({
      onAdd: (_t, r) => events.push(`add ${r._uuid}`),
      onUpdate: (_t, o, r) => events.push(`update ${o._uuid} ${JSON.stringify(plain(r))}`),
      onDelete: (_t, r) => events.push(`delete ${r._uuid}`),
      onBatch: () => events.push("batch"),
    });
    const wrap = (v: unknown) => {
      if (!lazy) return v;
      const text = JSON.stringify(v);
      return new LazyJson(text, 0, text.length, 64);
    };
    cache.replaceAll(wrap(batches[0]), 2);
    for (const b of batches.slice(1)) cache.applyUpdates(wrap(b), 2);
    const rows = [...cache.table("Logical_Switch_Port").rows()].map(plain);
    return { events, rows };
  };
  const parsed = run(false), lazy = run(true);
  assertEquals(lazy.rows, parsed.rows);
  assertEquals(lazy.events, parsed.events);
  assertEquals(parsed.rows.length, live.size);
  assert(parsed.events.filter((e) => e.startsWith("update")).length > 100);
});

Deno.test("cache: shared Maps no row uses any more are let go (bounded heap under churn)", () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const cache = new DatabaseCache(schema, { Logical_Switch_Port: LSP });
  const initial: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++) initial[uuid(i)] = { initial: port(i, "start") };
  cache.replaceAll({ Logical_Switch_Port: initial }, 2);
  const batch = (b: number) => {
    // Every batch moves all rows to namespaces never seen before, two rows per namespace.
    const tu: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) {
      tu[uuid(i)] = {
        modify: { external_ids: ids({ [NS]: `b${b}-${i >> 1}-${"x".repeat(40)}` }) },
      };
    }
    cache.applyUpdates({ Logical_Switch_Port: tu }, 2);
  };
  for (let b = 0; b < 50; b++) batch(b);
  gc();
  const before = Deno.memoryUsage().heapUsed;
  for (let b = 50; b < 550; b++) batch(b); // 50,000 distinct Maps made and dropped
  gc();
  const grown = Deno.memoryUsage().heapUsed - before;
  const t = cache.table("Logical_Switch_Port");
  assert(t.get(uuid(0))!.external_ids === t.get(uuid(1))!.external_ids, "still shared");
  assert(t.get(uuid(0))!.external_ids !== t.get(uuid(2))!.external_ids);
  assert(grown < 4 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
});

Deno.test("cache: keepRows false keeps nothing and hands on whole rows and snapshots", () => {
  const cache = new DatabaseCache(schema, {
    Logical_Switch: ["name"],
    Logical_Switch_Port: { columns: LSP, keepRows: false },
  });
  assert(cache.needsWholeRows);
  assert(!new DatabaseCache(schema, { Logical_Switch_Port: LSP }).needsWholeRows);
  const events: unknown[] = [];
  cache.addEventHandler({
    onAdd: (t, r) => events.push(["add", t, r._uuid]),
    onUpdate: (t, _, r) => events.push(["update", t, r._uuid]),
    onDelete: (t, r) => events.push(["delete", t, r._uuid]),
    onRow: (t, u, r) => events.push(["row", t, u, r && plain(r)]),
    onSnapshot: (t, phase) => events.push(["snapshot", t, phase]),
  });
  cache.replaceAll({
    Logical_Switch: { [uuid(50)]: { new: { name: "sw" } } },
    Logical_Switch_Port: { [uuid(1)]: { new: port(1, "a") } },
  }, 1);
  const row1 = {
    _uuid: uuid(1),
    type: "",
    addresses: ["0a:58:00:00:00:01 10.0.0.1"],
    dynamic_addresses: undefined,
    external_ids: [[NS, "a"]],
  };
  assertEquals(events.splice(0), [
    ["add", "Logical_Switch", uuid(50)],
    ["snapshot", "Logical_Switch_Port", "begin"],
    ["row", "Logical_Switch_Port", uuid(1), row1],
    ["snapshot", "Logical_Switch_Port", "end"],
  ]);
  assertEquals(cache.table("Logical_Switch_Port").size, 0);
  assertEquals(cache.table("Logical_Switch").size, 1);
  // Notation 1: a modify carries the whole new row (and the changed columns' old values).
  cache.applyUpdates({
    Logical_Switch_Port: {
      [uuid(1)]: { old: { external_ids: ids({ [NS]: "a" }) }, new: port(1, "b") },
      [uuid(2)]: { new: port(2, "b") },
      [uuid(3)]: { old: port(3, "c") },
    },
  }, 1);
  const ns = (e: unknown) => {
    const [kind, , u, r] = e as [string, string, string, { external_ids: unknown } | undefined];
    return [kind, u, r?.external_ids];
  };
  assertEquals(events.splice(0).map(ns), [
    ["row", uuid(1), [[NS, "b"]]],
    ["row", uuid(2), [[NS, "b"]]],
    ["row", uuid(3), undefined],
  ]);
  assertEquals(cache.table("Logical_Switch_Port").size, 0);
  // Diffs (notation 2) cannot be applied without the previous row.
  let error: Error | undefined;
  try {
    cache.applyUpdates({ Logical_Switch_Port: { [uuid(1)]: { modify: { type: "x" } } } }, 2);
  } catch (e) {
    error = e as Error;
  }
  assert(error?.message.includes("Logical_Switch_Port keeps no rows"), String(error));
});
