import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { Allocator, StateFileError } from "../../src/allocate/mod.ts";
import { collidingHash, makeConfig, shuffled, tempDir, tenants } from "./_fixtures.ts";

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
