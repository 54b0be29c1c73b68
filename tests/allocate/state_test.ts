import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../support/assert.ts";
import {
  emptyState,
  parseState,
  planAllocations,
  readStateFile,
  serializeState,
  StateFileError,
  writeStateFile,
} from "../../src/allocate/mod.ts";
import { makeConfig, tempDir, tenants } from "./_fixtures.ts";

const entry = (over: Record<string, unknown> = {}) => ({
  tenant: "demo",
  vrf: "demo",
  table: 1000,
  allocated_at: "2026-11-23T01:00:00.000Z",
  ...over,
});
const file = (allocations: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ version: 1, allocations, ...extra });

Deno.test("state: serialize and parse round-trip", () => {
  const plan = planAllocations(emptyState(), tenants("a", "kube-system"), {
    config: makeConfig(),
    now: new Date("2026-11-23T01:00:00Z"),
  });
  const gone = planAllocations(plan.state, tenants("a"), {
    config: makeConfig(),
    now: new Date("2026-11-24T01:00:00Z"),
  });
  const text = serializeState(gone.state);
  const back = parseState(text, "/x/state.json");
  assertEquals(back, gone.state);
  assertEquals(serializeState(back), text);
  assertEquals(JSON.parse(text).version, 1);
});

Deno.test("state: corrupt contents are StateFileErrors saying what is wrong", () => {
  const cases: [string, string][] = [
    ["", "bad JSON at position 0"],
    ['{"version": 1, "allocations": [}', "bad JSON at position 31"],
    ["not json", "bad JSON at position"],
    [JSON.stringify({ version: 2, allocations: [] }), "unsupported version 2"],
    [JSON.stringify({ allocations: [] }), 'no "version" field'],
    ["[]", "invalid entry"],
    [file([], { extra: 1 }), 'unknown field "extra"'],
    [file([entry({ colour: "red" })]), 'allocations[0]: unknown field "colour"'],
    [file([entry({ table: 254 })]), "allocations[0].table: is a reserved table id"],
    [file([entry({ table: 0 })]), "allocations[0].table"],
    [file([entry({ table: 1.5 })]), "allocations[0].table"],
    [file([entry({ vrf: "a/b" })]), "allocations[0].vrf: is not a valid interface name"],
    [file([entry({ vrf: "x".repeat(16) })]), "allocations[0].vrf"],
    [file([entry({ tenant: "" })]), "allocations[0].tenant"],
    [file([entry({ allocated_at: "yesterday" })]), "allocations[0].allocated_at"],
    [file([entry({ retired_at: 5 })]), "allocations[0].retired_at"],
    [file([entry(), entry({ vrf: "other", table: 1001 })]), "duplicate tenant demo"],
    [
      file([entry(), entry({ tenant: "b", vrf: "demo", table: 1001 })]),
      "duplicate VRF name demo (tenants demo and b)",
    ],
    [
      file([entry(), entry({ tenant: "b", vrf: "b", table: 1000 })]),
      "allocations[1].table: duplicate table 1000 (tenants demo and b)",
    ],
  ];
  for (const [text, want] of cases) {
    const err = assertThrows(() => parseState(text, "/var/lib/x/state.json"), StateFileError);
    assertStringIncludes(err.message, "/var/lib/x/state.json", text);
    assertStringIncludes(err.message, want, text);
    assertEquals(err.path, "/var/lib/x/state.json");
  }
});

Deno.test("state: missing file is empty; unreadable path is a StateFileError", async () => {
  await using dir = await tempDir();
  assertEquals((await readStateFile(`${dir.path}/nope.json`)).entries.size, 0);
  await Deno.mkdir(`${dir.path}/isdir`);
  const err = await assertRejects(() => readStateFile(`${dir.path}/isdir`), StateFileError);
  assertStringIncludes(err.message, "cannot read");
});

Deno.test("state: atomic write creates 0700 folder, 0600 file, leaves no temp files", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/sub/state.json`;
  const plan = planAllocations(emptyState(), tenants("a", "b"), { config: makeConfig() });
  await writeStateFile(path, plan.state);
  assertEquals((await Deno.stat(`${dir.path}/sub`)).mode! & 0o777, 0o700);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  const second = planAllocations(plan.state, tenants("a", "b", "c"), { config: makeConfig() });
  await writeStateFile(path, second.state);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  const names = [];
  for await (const e of Deno.readDir(`${dir.path}/sub`)) names.push(e.name);
  assertEquals(names, ["state.json"]);
  assertEquals((await readStateFile(path)).entries.size, 3);
});

Deno.test("state: a failed write leaves the old target and no temp file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/state.json`;
  await Deno.mkdir(path); // rename over a directory fails
  await Deno.writeTextFile(`${path}/keep`, "x");
  const err = await assertRejects(() => writeStateFile(path, emptyState()), StateFileError);
  assertMatch(err.message, /cannot write/);
  const names = [];
  for await (const e of Deno.readDir(dir.path)) names.push(e.name);
  assertEquals(names, ["state.json"]);
  assert((await Deno.stat(`${path}/keep`)).isFile);
});
