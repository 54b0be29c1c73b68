/**
 * `deno task reliability`: renders the records the test suite wrote to
 * `tests/reliability/results/` (run the suite with `VPNV4_RECORD_RELIABILITY=1` first) into the
 * README's reliability table, between `<!-- reliability:begin -->` and `<!-- reliability:end -->`,
 * then formats the README with `deno fmt`. `--check` only reports whether the table is current.
 * @module
 */
import { readReliabilityRecords, renderReliabilityTable } from "../tests/support/reliability.ts";

/** Markers around the generated table in README.md. */
export const RELIABILITY_MARKERS = {
  begin: "<!-- reliability:begin -->",
  end: "<!-- reliability:end -->",
} as const;

const README = new URL("../README.md", import.meta.url);

/** Returns the README text with the section between the markers replaced by `table`. */
export function replaceReliabilitySection(readme: string, table: string): string {
  const i = readme.indexOf(RELIABILITY_MARKERS.begin);
  const j = readme.indexOf(RELIABILITY_MARKERS.end);
  if (i < 0 || j < i) {
    throw new Error(
      `README.md lacks the ${RELIABILITY_MARKERS.begin} … ${RELIABILITY_MARKERS.end} markers`,
    );
  }
  return readme.slice(0, i + RELIABILITY_MARKERS.begin.length) + "\n\n" + table + "\n\n" +
    readme.slice(j);
}

/** The text between the markers (trimmed). */
export function reliabilitySection(readme: string): string {
  const i = readme.indexOf(RELIABILITY_MARKERS.begin);
  const j = readme.indexOf(RELIABILITY_MARKERS.end);
  if (i < 0 || j < i) throw new Error("README.md lacks the reliability markers");
  return readme.slice(i + RELIABILITY_MARKERS.begin.length, j).trim();
}

/**
 * A Markdown table reduced to its cells (deno fmt pads cells and separator dashes), for
 * comparing a formatted README with freshly rendered text.
 */
export function tableCells(text: string): string[] {
  return text.split("\n").filter((l) => l.trim()).map((l) =>
    l.split(/(?<!\\)\|/).map((c) => c.trim().replace(/^-+$/, "-")).join("|")
  );
}

if (import.meta.main) {
  const records = await readReliabilityRecords();
  const readme = await Deno.readTextFile(README);
  const next = replaceReliabilitySection(readme, renderReliabilityTable(records));
  if (Deno.args.includes("--check")) {
    const same = JSON.stringify(tableCells(reliabilitySection(readme))) ===
      JSON.stringify(tableCells(reliabilitySection(next)));
    console.log(same ? "README reliability table is current" : "README reliability table is stale");
    Deno.exit(same ? 0 : 1);
  }
  await Deno.writeTextFile(README, next);
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", README.pathname],
  }).output();
  if (fmt.code !== 0) {
    throw new Error(`deno fmt README.md failed: ${new TextDecoder().decode(fmt.stderr)}`);
  }
  console.log(`README.md: reliability table with ${records.length} record(s)`);
}
