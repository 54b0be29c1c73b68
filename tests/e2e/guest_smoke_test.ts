/**
 * The QEMU guest harness boots Debian's kernel and gives scripts VRF, dummy and MPLS,
 * the real exit code and output, and a working deno.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { guestAvailable, runInGuest } from "../../deploy/lab/guest/mod.ts";

const avail = await guestAvailable();
const ignore = !avail.ok || Deno.uid() !== 0;
if (ignore) console.warn(`guest tests skipped: ${avail.reason ?? "needs root"}`);

const SMOKE = String.raw`
set -e
ip link add vrf-t10 type vrf table 10
ip link set vrf-t10 up
ip link add dum0 type dummy
ip link set dum0 master vrf-t10 up
ip route add blackhole 10.244.0.0/24 table 10
echo "LINKS $(ip -j -d link show)"
echo "ROUTES $(ip -j route show table 10)"
test -e /proc/sys/net/mpls/platform_labels && echo "MPLS platform_labels=$(cat /proc/sys/net/mpls/platform_labels)"
echo "CWD $PWD"
echo "ENV $SMOKE_VALUE"
deno eval 'import { hostHasVrf } from "./deploy/lab/guest/mod.ts"; console.log("HOSTHASVRF " + await hostHasVrf());'
echo to-stderr >&2
exit 7
`;

function field(output: string, key: string): string {
  const line = output.split("\n").find((l) => l.startsWith(key + " "));
  assert(line, `no ${key} line in output:\n${output}`);
  return line.slice(key.length + 1);
}

Deno.test({
  name: "guest: VRF bound to table 10, dummy enslaved, MPLS loaded, exit code and env",
  ignore,
  async fn() {
    const streamed: string[] = [];
    const { code, output } = await runInGuest(SMOKE, {
      env: { SMOKE_VALUE: "it's here" },
      onOutput: (l) => streamed.push(l),
    });
    assertEquals(code, 7, output);
    type Link = {
      ifname: string;
      master?: string;
      linkinfo?: { info_kind?: string; info_data?: { table?: number } };
    };
    const links: Link[] = JSON.parse(field(output, "LINKS"));
    const vrf = links.find((l) => l.ifname === "vrf-t10");
    assertEquals(vrf?.linkinfo?.info_kind, "vrf");
    assertEquals(vrf?.linkinfo?.info_data?.table, 10);
    const dummy = links.find((l) => l.ifname === "dum0");
    assertEquals(dummy?.linkinfo?.info_kind, "dummy");
    assertEquals(dummy?.master, "vrf-t10");
    const routes: { type: string; dst: string }[] = JSON.parse(field(output, "ROUTES"));
    assert(routes.some((r) => r.type === "blackhole" && r.dst === "10.244.0.0/24"), output);
    assertMatch(field(output, "MPLS"), /^platform_labels=\d+$/);
    assertEquals(
      field(output, "CWD"),
      new URL("../../", import.meta.url).pathname.replace(/\/$/, ""),
    );
    assertEquals(field(output, "ENV"), "it's here");
    assertEquals(field(output, "HOSTHASVRF"), "true");
    assert(output.includes("to-stderr"), output);
    assertEquals(streamed.join("\n"), output.replace(/\n$/, ""));
  },
});

Deno.test({
  name: "guest: a hanging script is killed at timeoutMs with a clear error",
  ignore,
  async fn() {
    await assertRejects(
      () => runInGuest("echo started; sleep 600", { timeoutMs: 15_000 }),
      Error,
      "timed out after 15000 ms",
    );
  },
});
