/**
 * RT change end to end: the lab (deploy/lab/lab.ts --inside --rt-change) brings the two
 * tenants up, then rewrites the agent's configuration with `allocation.rt_base: 65100` and
 * sends SIGHUP. Asserted on GoBGP's raw VPN RIB after the change (from the `LAB_RESULT` line):
 * - every prefix of demo and demo-b is still there under the same RD, with the new RT
 *   `65100:<table>` and without the old `65000:<table>`;
 * - GoBGP's VRF demo, which imports only the old RT, no longer holds demo's prefixes;
 * - the VRF, table and RD did not change.
 * Runs in the QEMU guest (or directly on a kernel with VRF).
 */
import { assert, assertEquals } from "../support/assert.ts";
import type { GobgpPath } from "../support/gobgp.ts";
import { LAB_IGNORED, runLab } from "./_lab_run.ts";
import { routeTargets } from "../../deploy/lab/routes.ts";

type Rib = Record<string, GobgpPath[]>;

const ignore = LAB_IGNORED;

const PREFIXES: Record<string, { v4: string[]; v6: string[] }> = {
  "demo": { v4: ["10.244.0.5/32", "10.244.0.6/32"], v6: ["fd00:10:244::5/128"] },
  "demo-b": { v4: ["10.245.0.5/32", "10.245.0.6/32"], v6: [] },
};

function rtsAt(rib: Rib, rd: string, prefix: string): string[] | undefined {
  const paths = rib[`${rd}:${prefix}`];
  if (!paths?.length) return undefined;
  return routeTargets(paths.find((p) => p.best) ?? paths[0]);
}

Deno.test({
  name: "rt change: allocation.rt_base rewritten + SIGHUP → GoBGP holds the new RTs, not the old",
  ignore,
  async fn() {
    const result = await runLab(["--rt-change"]);

    const change = result.rtChange;
    assert(change, "the lab did not run the RT change");
    const after = result.exported!;
    for (const [tenant, prefixes] of Object.entries(PREFIXES)) {
      const before = result.allocations.find((a) => a.tenant === tenant);
      const now = change.allocations.find((a) => a.tenant === tenant);
      assert(before && now, `${tenant}: allocations ${JSON.stringify(change.allocations)}`);
      // Only the RT changes: same VRF, table and RD.
      assertEquals(
        { vrf: now.vrf, table: now.table, rd: now.rd },
        { vrf: before.vrf, table: before.table, rd: before.rd },
      );
      assertEquals(before.rt, `65000:${before.table}`);
      assertEquals(now.rt, `65100:${now.table}`);
      // Before the change GoBGP held the old RT (sanity of the baseline).
      for (const p of prefixes.v4) {
        assert(rtsAt(after.vpnv4, before.rd, p)?.includes(before.rt), `${p}: baseline RT`);
      }
      // After: the new RT, not the old one, on every prefix (VPNv4 and VPNv6).
      for (
        const [rib, list] of [[change.after.vpnv4, prefixes.v4], [
          change.after.vpnv6,
          prefixes.v6,
        ]] as const
      ) {
        for (const p of list) {
          const rts = rtsAt(rib, now.rd, p);
          assert(rts, `${now.rd}:${p} missing at GoBGP after the RT change`);
          assert(rts.includes(now.rt), `${now.rd}:${p}: RTs ${rts} lack the new ${now.rt}`);
          assert(!rts.includes(before.rt), `${now.rd}:${p}: RTs ${rts} still hold ${before.rt}`);
        }
      }
    }
    assertEquals(change.tenant, "demo");
    assertEquals(change.oldRt, result.allocations.find((a) => a.tenant === "demo")!.rt);
    // GoBGP's VRF demo imports only the old RT: demo's routes left it.
    const demoVrf = change.after.vrfs.demo.ipv4;
    for (const p of PREFIXES.demo.v4) {
      const held = Object.entries(demoVrf).some(([k, paths]) =>
        k.endsWith(p) && paths.some((x) => x.nlri.prefix === p)
      );
      assert(!held, `${p} still imported into GoBGP VRF demo (old RT) after the change`);
    }
  },
});
