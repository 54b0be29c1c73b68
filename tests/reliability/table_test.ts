/**
 * The README's reliability table is the rendering of the committed records in
 * tests/reliability/results/ (written by the tests themselves), like the config reference.
 */
import { assert, assertEquals } from "../support/assert.ts";
import {
  checkReliabilityRecord,
  readReliabilityRecords,
  type ReliabilityRecord,
  renderReliabilityTable,
  serializeReliabilityRecord,
} from "../support/reliability.ts";
import { reliabilitySection, tableCells } from "../../scripts/reliability_table.ts";

Deno.test("README's reliability table matches the committed records", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const records = await readReliabilityRecords();
  assert(records.length > 0, "no records in tests/reliability/results/");
  assertEquals(
    tableCells(reliabilitySection(readme)),
    tableCells(renderReliabilityTable(records)),
    "run: deno task reliability",
  );
});

Deno.test("committed reliability records are in canonical form and say what was lost", async () => {
  const records = await readReliabilityRecords();
  for (const r of records) {
    const text = await Deno.readTextFile(
      new URL(`../reliability/results/${r.id}.json`, import.meta.url),
    );
    assertEquals(text, serializeReliabilityRecord(r), `${r.id}.json is not canonical`);
    // Deterministic content: no temp paths, netns names or ports.
    assert(!/\/tmp\/|vpnv4-test-|127\.0\.0\.1:\d+/.test(text), `${r.id}: ${text}`);
  }
});

Deno.test("reliability records: validation and rendering escape table syntax", () => {
  const ok: ReliabilityRecord = {
    id: "x-1",
    kind: "fault",
    what: "a | b",
    happened: "seen",
    lost: "nothing",
  };
  checkReliabilityRecord(ok);
  let threw = false;
  try {
    checkReliabilityRecord({ ...ok, id: "Bad Id" });
  } catch {
    threw = true;
  }
  assert(threw, "an invalid id must be refused");
  const table = renderReliabilityTable([ok]);
  assert(table.includes("a \\| b"), table);
  assertEquals(tableCells(table).length, 3);
  // 5 cells between 6 unescaped pipes; the escaped one stays inside its cell.
  assertEquals(tableCells(table)[2], "|fault|`x-1`|a \\| b|seen|nothing|");
});
