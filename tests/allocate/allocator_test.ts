import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import {
  type AllocationPlan,
  Allocator,
  planAllocations,
  StateFileError,
  type TenantRequest,
} from "../../src/allocate/mod.ts";
import { collidingHash, makeConfig, prng, shuffled, tempDir, tenants } from "./_fixtures.ts";

const NAMES = ["demo", "demo-b", "kube-system", "Prod.EU", "ns-1", "ns-2", "ns-3", "ns-4"];

async function listDir(path: string): Promise<string[]> {
  const names = [];
  for await (const e of Deno.readDir(path)) names.push(e.name);
  return names.sort();
}

Deno.test("allocator: restart gives the same values, whatever the order", async () => {
  await using dir = await tempDir();
  const statePath = `${dir.path}/state/state.json`;
  const config = makeConfig({ min: 1000, max: 1011 });
  const a1 = await Allocator.open({ config, statePath, hash: collidingHash });
  const first = a1.allocate(tenants(...NAMES.slice(0, 4)));
  assert(first.changed);
  assertEquals(await a1.save(), true);
  assertEquals(await a1.save(), false); // nothing changed since
  const later = a1.allocate(tenants(...NAMES));
  await a1.save();

  for (let seed = 1; seed <= 5; seed++) {
    const a2 = await Allocator.open({ config, statePath, hash: collidingHash });
    const again = a2.allocate(tenants(...shuffled(NAMES, seed)));
    assertEquals(again.changed, false);
    assertEquals([...again.allocations], [...later.allocations]);
    assertEquals(a2.get("kube-system"), later.allocations.get("kube-system"));
    assertEquals(await a2.save(), false);
  }
  assertEquals(await listDir(`${dir.path}/state`), ["state.json"]);
  assertEquals((await Deno.stat(statePath)).mode! & 0o777, 0o600);
});

Deno.test("allocator: a retired tenant comes back with the same values after restart", async () => {
  await using dir = await tempDir();
  const statePath = `${dir.path}/state.json`;
  const config = makeConfig();
  const a1 = await Allocator.open({ config, statePath });
  const before = a1.allocate(tenants("demo", "kube-system")).allocations.get("kube-system");
  await a1.save();
  const a2 = await Allocator.open({
    config,
    statePath,
    now: () => new Date("2026-12-01T00:00:00Z"),
  });
  assertEquals(a2.allocate(tenants("demo")).retired, ["kube-system"]);
  assertEquals(a2.get("kube-system"), undefined);
  await a2.save();
  const saved = JSON.parse(await Deno.readTextFile(statePath));
  const entry = saved.allocations.find((e: { tenant: string }) => e.tenant === "kube-system");
  assertEquals(entry.retired_at, "2026-12-01T00:00:00.000Z");
  const a3 = await Allocator.open({ config, statePath });
  a3.allocate(tenants("demo", "Other.Tenant"));
  const back = a3.allocate(tenants("demo", "Other.Tenant", "kube-system"));
  assertEquals(back.revived, ["kube-system"]);
  assertEquals(a3.get("kube-system"), before);
});

Deno.test("allocator: corrupt state refuses to open and leaves the file untouched", async () => {
  await using dir = await tempDir();
  const statePath = `${dir.path}/state.json`;
  const corrupt = '{"version": 1, "allocations": [{"tenant": "a", "vrf": "a", "table": 1000,';
  await Deno.writeTextFile(statePath, corrupt);
  await Deno.chmod(statePath, 0o640);
  const before = await Deno.stat(statePath);
  for (const readOnly of [false, true]) {
    const err = await assertRejects(
      () => Allocator.open({ config: makeConfig(), statePath, readOnly }),
      StateFileError,
      "bad JSON at position",
    );
    assertEquals(err.path, statePath);
  }
  assertEquals(await Deno.readTextFile(statePath), corrupt);
  const after = await Deno.stat(statePath);
  assertEquals(after.mtime, before.mtime);
  assertEquals(after.mode, before.mode);
  assertEquals(await listDir(dir.path), ["state.json"]);
});

Deno.test("allocator: read-only mode never writes", async () => {
  await using dir = await tempDir();
  const statePath = `${dir.path}/missing/state.json`;
  const ro = await Allocator.open({ config: makeConfig(), statePath, readOnly: true });
  const plan = ro.allocate(tenants("demo", "kube-system"));
  assertEquals(plan.allocations.size, 2);
  assert(ro.dirty);
  assertEquals(await ro.save(), false);
  assertEquals(await listDir(dir.path), []);

  // with an existing state: allocations come from it, new tenants live in memory only
  const rwPath = `${dir.path}/state.json`;
  const rw = await Allocator.open({ config: makeConfig(), statePath: rwPath });
  const saved = rw.allocate(tenants("demo")).allocations.get("demo");
  await rw.save();
  const text = await Deno.readTextFile(rwPath);
  const ro2 = await Allocator.open({ config: makeConfig(), statePath: rwPath, readOnly: true });
  ro2.allocate(tenants("demo", "new-one"));
  assertEquals(ro2.get("demo"), saved);
  assertEquals(await ro2.save(), false);
  assertEquals(await Deno.readTextFile(rwPath), text);
});

Deno.test("allocator: default state path comes from the configuration", async () => {
  await using dir = await tempDir();
  const config = makeConfig();
  config.allocation.state_file = `${dir.path}/cfg-state.json`;
  const a = await Allocator.open({ config });
  assertEquals(a.statePath, `${dir.path}/cfg-state.json`);
  a.allocate(tenants("demo"));
  await a.save();
  assertEquals(await listDir(dir.path), ["cfg-state.json"]);
});

Deno.test("allocator: repeated tenant sets give what planning from scratch gives", async () => {
  // The allocator skips planning when the names, overrides and configuration are those of its
  // last call. Every step is compared with planAllocations run on the state before the step.
  const NOW = new Date("2026-01-02T03:04:05Z");
  const pool = [...NAMES, "ns-5", "ns-6", "ns-7", "ns-8", "ns-9"];
  let fastSteps = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = prng(seed);
    let config = makeConfig({ min: 1000, max: 1009 });
    const a = await Allocator.open({
      config,
      statePath: "/nonexistent/x",
      readOnly: true,
      now: () => NOW,
    });
    let list: TenantRequest[] = tenants("demo", "ns-1");
    let previous: unknown;
    for (let step = 0; step < 60; step++) {
      const r = rnd();
      const next = list.map((t) => ({ ...t }));
      if (r < 0.35) {
        // the same tenants again (fresh objects, other order)
        next.reverse();
      } else if (r < 0.55) next.push({ name: pool[Math.floor(rnd() * pool.length)] });
      else if (r < 0.7) next.splice(Math.floor(rnd() * next.length), 1);
      else if (r < 0.8 && next.length > 0) {
        const i = Math.floor(rnd() * next.length);
        next[i] = { ...next[i], rt: rnd() < 0.5 ? undefined : `65000:${1000 + (step % 12)}` };
      } else if (r < 0.85 && next.length > 1) {
        // listed twice, added or in place of another (same count)
        if (rnd() < 0.5) next.push({ ...next[0] });
        else next[next.length - 1] = { ...next[0] };
      } else if (r < 0.9) config = makeConfig({ min: 1000, max: rnd() < 0.5 ? 1009 : 1004 });
      const before = a.state;
      let expected: AllocationPlan | Error;
      try {
        expected = planAllocations(before, next, { config, now: NOW });
      } catch (e) {
        expected = e as Error;
      }
      let got: AllocationPlan | Error;
      try {
        got = a.allocate(next, { config });
      } catch (e) {
        got = e as Error;
      }
      const where = `seed ${seed} step ${step}`;
      if (expected instanceof Error || got instanceof Error) {
        assertEquals(String(got), String(expected), where);
        continue;
      }
      assertEquals([...got.allocations], [...expected.allocations], where);
      const { state: _s, allocations: _a, ...gotRest } = got;
      const { state: _t, allocations: _b, ...expectedRest } = expected;
      assertEquals(gotRest, expectedRest, where);
      assertEquals([...a.state.entries], [...expected.state.entries], where);
      if (got.allocations === previous) fastSteps++; // planning builds a new map
      previous = got.allocations;
      list = next;
    }
  }
  assert(fastSteps > 100, `only ${fastSteps} steps could take the fast path`);
});
