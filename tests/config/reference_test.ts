import { assert, assertEquals } from "../support/assert.ts";
import { configReference } from "../../src/config/reference.ts";

Deno.test("README's configuration reference matches the schema", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const start = "<!-- config-reference:start -->\n";
  const end = "\n<!-- config-reference:end -->";
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  assert(i >= 0 && j > i, "README lacks the config-reference markers");
  const current = readme.slice(i + start.length, j);
  if (Deno.env.get("UPDATE_README") === "1") {
    await Deno.writeTextFile(
      new URL("../../README.md", import.meta.url),
      readme.slice(0, i + start.length) + configReference() + readme.slice(j),
    );
    return;
  }
  // deno fmt pads Markdown tables: compare cell by cell.
  const cells = (text: string) =>
    text.split("\n").filter((l) => l.trim()).map((l) =>
      l.split("|").map((c) => c.trim().replace(/^-+$/, "-")).join("|")
    );
  assertEquals(
    cells(current),
    cells(configReference()),
    "run: UPDATE_README=1 deno test -A tests/config/reference_test.ts",
  );
});
