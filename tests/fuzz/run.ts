/**
 * `deno task fuzz`: bounded, seeded, reproducible fuzzing of the parsers that take outside
 * data (netlink replies, OVSDB framing and JSON-RPC, OVN NB rows, config and tenants files,
 * FRR running-config).
 *
 * ```sh
 * deno task fuzz                                   # every target, 20 s each, random seed
 * deno task fuzz --seed 42 --time-budget-s 60 --iterations 1000000 --target netlink
 * deno task fuzz --target netlink --replay BASE64  # run one input and print its outcome
 * ```
 *
 * Exits 1 when any target has a FINDING (printed with the seed and the minimised input in
 * base64), 2 on usage errors.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { fromBase64, runCase } from "./harness.ts";
import { runFuzz } from "./runner.ts";
import { TARGETS } from "./targets/mod.ts";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
};

const program = new Command()
  .name("fuzz")
  .description("Fuzz the agent's parsers (bounded in time and iterations, seeded).")
  .option("--seed <n>", "PRNG seed (default: random, printed)", int("seed"))
  .option("--iterations <n>", "cases per target", int("iterations"), 1_000_000)
  .option("--time-budget-s <s>", "seconds per target", int("time-budget-s"), 20)
  .option("--target <name...>", `targets (${TARGETS.map((t) => t.name).join(", ")})`)
  .option("--hang-ms <ms>", "a case running longer than this is a hang", int("hang-ms"), 10_000)
  .option("--heap-limit-mb <n>", "heap growth that is a finding", int("heap-limit-mb"), 64)
  .option("--replay <base64>", "run one input against the (single) --target and print the outcome")
  .exitOverride();

let opts;
try {
  opts = program.parse(Deno.args, { from: "user" }).opts();
} catch (e) {
  const code = (e as { exitCode?: number }).exitCode;
  Deno.exit(code === 0 ? 0 : 2);
}

if (opts.replay !== undefined) {
  const target = TARGETS.find((t) => t.name === opts.target?.[0]);
  if (!target || opts.target?.length !== 1) {
    console.error("--replay needs exactly one --target");
    Deno.exit(2);
  }
  await target.setup?.();
  const outcome = await runCase(target, fromBase64(opts.replay));
  await target.teardown?.();
  console.log(JSON.stringify(outcome, null, 2));
  Deno.exit(outcome.kind === "finding" ? 1 : 0);
}

const seed = opts.seed ?? (crypto.getRandomValues(new Uint32Array(1))[0] >>> 0);
console.log(
  `fuzz: seed ${seed}, ${opts.timeBudgetS} s and at most ${opts.iterations} cases per target`,
);
const results = await runFuzz({
  seed,
  iterations: opts.iterations,
  timeBudgetMs: opts.timeBudgetS * 1000,
  targets: opts.target,
  hangMs: opts.hangMs,
  heapLimitMb: opts.heapLimitMb,
  log: (l) => console.log(l),
});
const findings = results.flatMap((r) => r.findings);
const report = `${Deno.env.get("TMPDIR") ?? "/tmp"}/vpnv4-fuzz-${seed}.json`;
await Deno.writeTextFile(report, JSON.stringify({ seed, results }, null, 2));
const cases = results.reduce((s, r) => s + r.cases, 0);
console.log(
  `\nsummary: ${results.length} targets, ${cases} cases, ${findings.length} findings (report ${report})`,
);
for (const f of findings) {
  console.log(`\nFINDING ${f.target} [${f.kind}] ${f.signature}`);
  console.log(`  ${f.message.split("\n")[0]}`);
  console.log(`  seed ${f.seed}, case ${f.caseIndex}, input ${f.originalBytes} bytes, minimised:`);
  if (f.input.length <= 2000) {
    console.log(`  ${f.input}`);
    console.log(`  replay: deno task fuzz --target ${f.target} --replay ${f.input}`);
  } else console.log(`  (${f.input.length} base64 characters: see ${report})`);
}
Deno.exit(findings.length > 0 ? 1 : 0);
