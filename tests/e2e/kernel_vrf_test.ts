/**
 * VRF, dummy and MPLS for real: runs tests/e2e/guest_scripts/kernel_vrf.ts inside the
 * QEMU guest (Debian kernel with the modules) and asserts on its exit code and output.
 */
import { guestAvailable, runInGuest } from "../../deploy/lab/guest/mod.ts";

const avail = await guestAvailable();
const ignore = !avail.ok || Deno.uid() !== 0;
if (ignore) console.warn(`kernel VRF guest test skipped: ${avail.reason ?? "needs root"}`);

Deno.test({
  name: "guest: ensureVrf/deleteVrf, syncRoutes in a VRF table, MPLS readiness and routes",
  ignore,
  async fn() {
    const { code, output } = await runInGuest(
      "deno run --allow-all --config deno.json tests/e2e/guest_scripts/kernel_vrf.ts",
      { timeoutMs: 300_000 },
    );
    for (
      const step of ["mpls-readiness", "ensure-vrf", "vrf-routes", "mpls-routes", "delete-vrf"]
    ) {
      if (!output.includes(`OK ${step}`)) {
        throw new Error(`step ${step} did not pass (exit ${code}):\n${output}`);
      }
    }
    if (code !== 0 || !output.includes("KERNEL_VRF_DONE")) {
      throw new Error(`guest script exit ${code}:\n${output}`);
    }
  },
});
