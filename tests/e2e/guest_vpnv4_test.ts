/**
 * VPNv4 export end to end in the QEMU guest: FRR (node) with VRF `demo` exports a
 * blackhole route of the VRF table to GoBGP (FortiGate simulator) over a veth between
 * two namespaces. The guest side is tests/e2e/guest_scripts/guest_vpnv4.ts.
 */
import { assert, assertEquals } from "../support/assert.ts";
import type { GobgpPath } from "../support/gobgp.ts";
import { guestAvailable, hostHasVrf, runWhereVrf } from "../../deploy/lab/guest/mod.ts";

const avail = await guestAvailable();
const direct = await hostHasVrf();
const ignore = Deno.uid() !== 0 || (!direct && !avail.ok);

Deno.test({
  name: "guest: FRR exports a VRF blackhole route as VPNv4 (RD, RT, label) to GoBGP",
  ignore,
  async fn() {
    const script = "deno run -A tests/e2e/guest_scripts/guest_vpnv4.ts";
    const { code, output } = await runWhereVrf(script, { timeoutMs: 300_000 });
    assertEquals(code, 0, output);
    const line = output.split("\n").find((l) => l.startsWith("VPNV4_RESULT "));
    assert(line, output);
    const result = JSON.parse(line.slice("VPNV4_RESULT ".length)) as {
      vpnv4: Record<string, GobgpPath[]>;
      vrf: Record<string, GobgpPath[]>;
    };
    const [path] = result.vpnv4["65000:1:10.244.0.0/24"];
    assertEquals(path.nlri.prefix, "10.244.0.0/24");
    assertEquals(path.nlri.rd, { type: 0, admin: 65000, assigned: 1 });
    const labels = path.nlri.labels ?? [];
    assertEquals(labels.length, 1);
    assert(labels[0] >= 16, `label ${labels[0]} is not a real MPLS label`);
    const extcomms = path.attrs.find((a) => a.type === 16) as
      | { value: { value: string }[] }
      | undefined;
    assert(extcomms?.value.some((c) => c.value === "65000:1"), JSON.stringify(path.attrs));
    assert("65000:1:10.244.0.0/24" in result.vrf, JSON.stringify(result.vrf));
  },
});
