/**
 * Expose methods `table` and `dummy` end to end on a kernel with VRF and dummy (the QEMU
 * guest, one boot for both; directly when the host kernel has VRF): a real agent process and
 * FRR in a node namespace, a GoBGP ipv4/ipv6-unicast peer. The guest side is
 * tests/e2e/guest_scripts/expose_guest.ts; it asserts as it goes and prints its observations,
 * checked again here.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { guestAvailable, hostHasVrf, runWhereVrf } from "../../deploy/lab/guest/mod.ts";

const avail = await guestAvailable();
const direct = await hostHasVrf();
const ignore = Deno.uid() !== 0 || (!direct && !avail.ok);

interface MethodResult {
  method: "table" | "dummy";
  advertised: Record<string, number[] | undefined>;
  advertisedMs: number;
  withdrawnMs: number;
  mainTable: string[];
  vrfTable: string[];
  nic: string[];
  nicAfter: string[];
  expose: { id: string; synced: boolean }[];
  running: string;
}

const community = (text: string) => {
  const [a, b] = text.split(":").map(Number);
  return a * 65536 + b;
};

Deno.test({
  name:
    "guest: expose methods table and dummy advertise the VM /32 (64512:200) and subnet (64512:100), keep main clean, withdraw on move",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const script = "deno run -A tests/e2e/guest_scripts/expose_guest.ts";
    const { code, output } = await runWhereVrf(script, { timeoutMs: 540_000 });
    assertEquals(code, 0, output.slice(-6000));
    const line = output.split("\n").find((l) => l.startsWith("EXPOSE_RESULT "));
    assert(line, output.slice(-6000));
    const results = JSON.parse(line.slice("EXPOSE_RESULT ".length)) as MethodResult[];
    assertEquals(results.map((r) => r.method), ["table", "dummy"]);
    for (const r of results) {
      const host = [community("64512:200")], subnet = [community("64512:100")];
      assertEquals(r.advertised, {
        "192.168.100.10/32": host,
        "192.168.100.0/24": subnet,
        "fd00:100::10/128": host,
        "fd00:100::/64": subnet,
      }, r.method);
      assertEquals(r.mainTable, [], `${r.method}: no route for the VM in the node's main table`);
      assert(r.expose[0]?.synced, JSON.stringify(r.expose));
      assert(r.running.includes("table-map VPNV4-EXPOSE-TABLE-MAP"), r.running);
      assert(r.running.includes("import vrf bgp-vrf"), r.running);
      console.log(
        `${r.method}: advertised ${r.advertisedMs} ms after the agent started, ` +
          `withdrawn ${r.withdrawnMs} ms after the binding moved`,
      );
    }
    const [table, dummy] = results;
    assert(
      table.vrfTable.some((l) => l.startsWith("blackhole 192.168.100.10 ")),
      table.vrfTable.join("\n"),
    );
    assert(dummy.nic.includes("inet 192.168.100.10/32"), dummy.nic.join("\n"));
    assert(dummy.nic.includes("inet6 fd00:100::10/128"), dummy.nic.join("\n"));
    assert(
      !dummy.vrfTable.some((l) => l.startsWith("blackhole 192.168.100.10 ")),
      "method dummy keeps host IPs on bgp-nic, not as blackholes",
    );
    assertEquals(dummy.nicAfter, [], "withdrawn addresses left bgp-nic");
    assert(dummy.running.includes("redistribute connected route-map VPNV4-EXPOSE-IPV4"));
  },
});
