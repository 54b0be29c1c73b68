/**
 * CLI: `deno run -A deploy/lab/guest/run.ts 'SCRIPT' [--timeout MS] [--console]` runs SCRIPT in the
 * QEMU guest, streams its output and exits with the script's exit code.
 * @module
 */
import { runInGuest } from "./mod.ts";

if (import.meta.main) {
  const args = [...Deno.args];
  let timeoutMs: number | undefined;
  const t = args.indexOf("--timeout");
  if (t >= 0) {
    timeoutMs = Number(args[t + 1]);
    args.splice(t, 2);
  }
  const verbose = args.includes("--console");
  if (verbose) args.splice(args.indexOf("--console"), 1);
  if (args.length !== 1) {
    console.error("usage: deno run -A deploy/lab/guest/run.ts 'SCRIPT' [--timeout MS] [--console]");
    Deno.exit(2);
  }
  try {
    const result = await runInGuest(args[0], {
      timeoutMs,
      onOutput: (l) => console.log(l),
      onConsole: verbose ? (l) => console.error(`[console] ${l}`) : undefined,
    });
    console.error(`[guest] exit ${result.code} after ${result.durationMs} ms`);
    Deno.exit(result.code);
  } catch (e) {
    console.error(`[guest] ${(e as Error).message}`);
    Deno.exit(125);
  }
}
