/**
 * Runs `deploy/lab/lab.ts --inside --json` with extra flags where the kernel has VRF (directly
 * or in the QEMU guest) and returns its `LAB_RESULT`, asserting the lab passed every step.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { guestAvailable, hostHasVrf, runWhereVrf } from "../../deploy/lab/guest/mod.ts";
import type { LabResult } from "../../deploy/lab/scenario.ts";

/** True when neither this kernel nor the guest can run the lab (or we are not root). */
export const LAB_IGNORED: boolean = Deno.uid() !== 0 ||
  (!await hostHasVrf() && !(await guestAvailable()).ok);

/** Runs the lab with `flags`; throws with the lab's progress lines when a step failed. */
export async function runLab(flags: string[]): Promise<LabResult> {
  const script = [Deno.execPath(), "run", "-A", "deploy/lab/lab.ts", "--inside", "--json", ...flags]
    .join(" ");
  const { code, output } = await runWhereVrf(script, { timeoutMs: 600_000 });
  const line = output.split("\n").find((l) => l.startsWith("LAB_RESULT "));
  assert(line, `no LAB_RESULT line (exit ${code}):\n${output.slice(-6000)}`);
  const result = JSON.parse(line.slice("LAB_RESULT ".length)) as LabResult;
  const brief = output.split("\n").filter((l) => l.startsWith("[lab") || l.startsWith("   !"))
    .join("\n");
  assert(result.ok, `lab failed at "${result.failedStep}": ${result.error}\n${brief}`);
  assertEquals(code, 0, brief);
  return result;
}
