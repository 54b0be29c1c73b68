/**
 * The end-to-end lab (`deno task lab`) as a test: OVN NB → vpnv4-agent → kernel VRFs + FRR →
 * BGP VPNv4/VPNv6 → GoBGP ("FortiGate"). Runs deploy/lab/lab.ts --inside --withdraw in the
 * QEMU guest (or directly on a kernel with VRF) and asserts on GoBGP's raw RIBs, which the
 * lab prints in its `LAB_RESULT {json}` line:
 * - demo's VPNv4 and VPNv6 routes carry demo's RD and RT, one MPLS label and the node's
 *   nexthop, and are imported into GoBGP VRF demo and not demo-b (and vice versa);
 * - the return path: the WAN prefix GoBGP originates with demo's RT (and a real label) is
 *   imported by FRR into VRF demo's kernel table (protocol bgp, MPLS label stack ending in the
 *   VPN label) and written by the agent as one Logical_Router_Static_Route row on the logical
 *   router with the agent's external_ids; GoBGP withdrawing it removes the kernel route and
 *   the row;
 * - deleting a pod in NB withdraws its /32 (the other pod stays);
 * - deleting tenant demo-b in NB withdraws all of its routes (demo stays).
 */
import { assert, assertEquals } from "../support/assert.ts";
import type { GobgpPath } from "../support/gobgp.ts";
import { LAB_IGNORED, runLab } from "./_lab_run.ts";
import type { ReturnPathState } from "../../deploy/lab/return_path.ts";

type Rib = Record<string, GobgpPath[]>;

const ignore = LAB_IGNORED;

const NODE_NEXTHOPS = ["172.30.0.1", "::ffff:172.30.0.1", "fd00:172:30::1"];
const DEMO_V4 = ["10.244.0.5/32", "10.244.0.6/32"];
const DEMO_V6 = ["fd00:10:244::5/128"];
const DEMO_B_V4 = ["10.245.0.5/32", "10.245.0.6/32"];
const DELETED_POD = "10.244.0.6/32";
const WAN = "203.0.113.0/24";
const WAN_LABEL = 100;
const IMPORT_NEXTHOP = "100.64.0.1";

function assertReturnPath(state: ReturnPathState | undefined): void {
  assert(state, "the lab reported no return path");
  assertEquals({ vrf: state.vrf, prefix: state.prefix }, { vrf: "demo", prefix: WAN });
  const k = state.kernel;
  assert(k, `${WAN} is not in VRF demo's kernel table`);
  assertEquals(k.protocol, "bgp", `kernel route ${JSON.stringify(k)}`);
  assertEquals(k.gateway, "172.30.0.2", `kernel route ${JSON.stringify(k)}`);
  const labels = (k.labels ?? "").split("/").map(Number);
  assertEquals(labels.at(-1), WAN_LABEL, `kernel route labels ${k.labels}: no VPN label`);
  assertEquals(state.rows.length, 1, `NB rows for ${WAN}: ${JSON.stringify(state.rows)}`);
  const row = state.rows[0];
  assertEquals(row.ipPrefix, WAN);
  assertEquals(row.nexthop, IMPORT_NEXTHOP);
  assert(row.onRouter, `row ${row.uuid} is not referenced by ovn_cluster_router`);
  assertEquals(
    {
      owner: row.externalIds["vpnv4-agent:owner"],
      tenant: row.externalIds["vpnv4-agent:tenant"],
      vrf: row.externalIds["vpnv4-agent:vrf"],
    },
    { owner: "vpnv4-agent", tenant: "demo", vrf: "demo" },
  );
}

/** The path for `prefix` under `rd` in a VPN RIB (keys are `RD:PREFIX`). */
function vpnPath(rib: Rib, rd: string, prefix: string): GobgpPath | undefined {
  const paths = rib[`${rd}:${prefix}`] ?? [];
  return paths.find((p) => p.best) ?? paths[0];
}

/** True when a VRF RIB holds `prefix` (keyed with or without an RD). */
function inVrf(rib: Rib, prefix: string): boolean {
  return Object.entries(rib).some(([key, paths]) =>
    key === prefix || key.endsWith(`:${prefix}`) || paths.some((p) => p.nlri.prefix === prefix)
  );
}

function assertExported(rib: Rib, rd: string, rt: string, prefix: string): void {
  const path = vpnPath(rib, rd, prefix);
  assert(path, `GoBGP lacks ${rd}:${prefix}; has ${Object.keys(rib).join(" ")}`);
  assertEquals(path.nlri.prefix, prefix);
  const [admin, assigned] = rd.split(":");
  assertEquals(
    { admin: String(path.nlri.rd?.admin), assigned: path.nlri.rd?.assigned },
    { admin, assigned: Number(assigned) },
  );
  const labels = path.nlri.labels ?? [];
  assertEquals(labels.length, 1, `${prefix}: labels ${labels}`);
  assert(labels[0] >= 16 && labels[0] < 1 << 20, `${prefix}: label ${labels[0]} not a real label`);
  const ext = path.attrs.find((a) => a.type === 16) as
    | { value: { subtype?: number; value: string }[] }
    | undefined;
  assert(ext?.value.some((c) => c.value === rt), `${prefix}: no RT ${rt}: ${JSON.stringify(ext)}`);
  const nh = (path.attrs.find((a) => a.type === 14) as { nexthop?: string } | undefined)?.nexthop ??
    (path.attrs.find((a) => a.type === 3) as { nexthop?: string } | undefined)?.nexthop;
  assert(nh && NODE_NEXTHOPS.includes(nh), `${prefix}: nexthop ${nh} is not the node's`);
}

Deno.test({
  name: "lab: OVN NB tenants reach GoBGP as VPNv4/VPNv6 (RD, RT, label, nexthop), the WAN route " +
    "comes back into the VRF and OVN NB, and withdrawals propagate",
  ignore,
  async fn() {
    const result = await runLab(["--withdraw"]);

    const demo = result.allocations.find((a) => a.tenant === "demo");
    const demoB = result.allocations.find((a) => a.tenant === "demo-b");
    assert(demo && demoB, JSON.stringify(result.allocations));
    assert(/^65000:\d+$/.test(demo.rd) && /^65000:\d+$/.test(demo.rt), JSON.stringify(demo));
    assert(demo.rd !== demoB.rd && demo.rt !== demoB.rt, "tenants share an RD or RT");
    assertEquals(demo.vrf, "demo");
    assertEquals(demoB.vrf, "demo-b");

    // 1. Export: RD, RT, label, nexthop; imported into the matching GoBGP VRF only.
    const ex = result.exported!;
    for (const p of DEMO_V4) assertExported(ex.vpnv4, demo.rd, demo.rt, p);
    for (const p of DEMO_V6) assertExported(ex.vpnv6, demo.rd, demo.rt, p);
    for (const p of DEMO_B_V4) assertExported(ex.vpnv4, demoB.rd, demoB.rt, p);
    for (const p of DEMO_V4) {
      assert(inVrf(ex.vrfs.demo.ipv4, p), `${p} not in GoBGP VRF demo`);
      assert(!inVrf(ex.vrfs["demo-b"].ipv4, p), `${p} leaked into GoBGP VRF demo-b`);
    }
    for (const p of DEMO_V6) {
      assert(inVrf(ex.vrfs.demo.ipv6, p), `${p} not in GoBGP VRF demo (ipv6)`);
      assert(!inVrf(ex.vrfs["demo-b"].ipv6, p), `${p} leaked into GoBGP VRF demo-b (ipv6)`);
    }
    for (const p of DEMO_B_V4) {
      assert(inVrf(ex.vrfs["demo-b"].ipv4, p), `${p} not in GoBGP VRF demo-b`);
      assert(!inVrf(ex.vrfs.demo.ipv4, p), `${p} leaked into GoBGP VRF demo`);
    }

    // 2. Return path: WAN prefix from GoBGP → VRF demo's table → OVN NB; withdrawn → removed.
    assertReturnPath(result.returnPath);
    const wanGone = result.afterWanWithdraw;
    assert(wanGone, "the lab did not withdraw the WAN prefix");
    assertEquals(wanGone.kernel, undefined, `${WAN} still in VRF demo after the withdrawal`);
    assertEquals(wanGone.rows, [], `${WAN} rows still in NB after the withdrawal`);

    // 3. A pod deleted in NB: its /32 is withdrawn, the other pod's stays.
    const pod = result.afterPodDelete!;
    assert(!vpnPath(pod.vpnv4, demo.rd, DELETED_POD), `${DELETED_POD} still at GoBGP`);
    assert(!inVrf(pod.vrfs.demo.ipv4, DELETED_POD), `${DELETED_POD} still in GoBGP VRF demo`);
    assertExported(pod.vpnv4, demo.rd, demo.rt, "10.244.0.5/32");
    assertExported(pod.vpnv6, demo.rd, demo.rt, "fd00:10:244::5/128");

    // 4. Tenant demo-b deleted in NB: all of its routes are withdrawn, demo's stay.
    const gone = result.afterTenantDelete!;
    for (const p of DEMO_B_V4) {
      assert(!vpnPath(gone.vpnv4, demoB.rd, p), `${p} still at GoBGP after deleting demo-b`);
      assert(!inVrf(gone.vrfs["demo-b"].ipv4, p), `${p} still in GoBGP VRF demo-b`);
    }
    assertExported(gone.vpnv4, demo.rd, demo.rt, "10.244.0.5/32");
    assert(inVrf(gone.vrfs.demo.ipv4, "10.244.0.5/32"), "demo lost 10.244.0.5/32");
  },
});
