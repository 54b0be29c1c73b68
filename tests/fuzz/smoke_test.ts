/**
 * A short, fixed-seed fuzz run of every target inside `deno task test`, so CI exercises the
 * fuzzers and the parsers they cover (the full run is `deno task fuzz`).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { runFuzz } from "./runner.ts";
import { TARGETS } from "./targets/mod.ts";

Deno.test("fuzz smoke: every target ~2 s with seed 20240901, no findings", async () => {
  const results = await runFuzz({ seed: 20240901, iterations: 1_000_000, timeBudgetMs: 2000 });
  assertEquals(results.map((r) => r.target), TARGETS.map((t) => t.name));
  for (const r of results) {
    // Every target ran its seeds and some mutants, and both parsed and refused inputs.
    assert(r.cases > 5, `${r.target}: only ${r.cases} cases`);
    assertEquals(
      r.findings.map((f) => `${f.kind} ${f.signature} ${f.input.slice(0, 200)}`),
      [],
      `${r.target} has findings`,
    );
  }
  const refused = results.filter((r) => r.expected > 0).map((r) => r.target);
  assert(refused.length >= 6, `targets that saw expected errors: ${refused.join(", ")}`);
});
