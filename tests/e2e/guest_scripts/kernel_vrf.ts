/**
 * Runs inside the QEMU guest (Debian kernel with vrf, dummy, mpls_router,
 * mpls_iptunnel): exercises the kernel plane for real, with `ip` as the witness.
 * Prints `OK <step>` per step and `KERNEL_VRF_DONE` at the end; exits 1 on failure.
 * Driven by tests/e2e/kernel_vrf_test.ts.
 */
import { parseIp, parsePrefix } from "../../../src/net/mod.ts";
import { encodeMplsRoute, encodeNewLink, encodeRoute } from "../../../src/netlink/mod.ts";
import {
  checkMpls,
  KernelPlane,
  MplsUnavailableError,
  VrfConflictError,
} from "../../../src/kernel/mod.ts";

const ns = `vpnv4-test-${crypto.randomUUID().slice(0, 8)}`;

async function sh(...cmd: string[]): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`${cmd.join(" ")}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function expectReject(
  fn: () => Promise<unknown>,
  cls: new (...a: never[]) => Error,
  what: string,
) {
  try {
    await fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw new Error(`${what}: expected ${cls.name}, got ${e}`);
  }
  throw new Error(`${what}: expected ${cls.name}, nothing thrown`);
}

await sh("ip", "netns", "add", ns);
const k = KernelPlane.open({ netns: ns });
try {
  // MPLS readiness in the guest's root namespace: labels 0 → auto warns, require fails.
  await Deno.writeTextFile("/proc/sys/net/mpls/platform_labels", "0");
  check(!(await checkMpls("auto")).ready, "auto with platform_labels=0 is not ready");
  const e = await expectReject(() => checkMpls("require"), MplsUnavailableError, "require");
  check(e.message.includes("platform_labels is 0"), e.message);
  await Deno.writeTextFile("/proc/sys/net/mpls/platform_labels", "1048575");
  const ok = await checkMpls("require");
  check(ok.ready && ok.platformLabels === 1048575, JSON.stringify(ok));
  console.log("OK mpls-readiness");

  // ensureVrf creates, brings up, is idempotent, and refuses another table.
  const v = await k.ensureVrf("vrf-red", 1000);
  check(v.created, "created");
  const shown = await sh("ip", "-n", ns, "-d", "link", "show", "vrf-red");
  check(shown.includes("vrf table 1000"), shown);
  check(/<[^>]*\bUP\b/.test(shown), `up: ${shown}`);
  const again = await k.ensureVrf("vrf-red", 1000);
  check(!again.created && again.index === v.index, "idempotent");
  const conflict = await expectReject(
    () => k.ensureVrf("vrf-red", 1001),
    VrfConflictError,
    "other table",
  );
  check(conflict.message.includes("table 1000"), conflict.message);
  check(
    (await sh("ip", "-n", ns, "-d", "link", "show", "vrf-red")).includes("vrf table 1000"),
    "kept",
  );
  console.log("OK ensure-vrf");

  // Blackhole routes in the VRF's table, next to a zebra route that must survive.
  await sh(
    "ip",
    "-n",
    ns,
    "route",
    "add",
    "blackhole",
    "10.99.0.0/24",
    "vrf",
    "vrf-red",
    "proto",
    "zebra",
  );
  const want = ["10.244.0.0/24", "10.244.1.0/24", "2001:db8:244::/48"].map((p) => parsePrefix(p));
  const r1 = await k.syncRoutes(1000, want);
  check(r1.added === 3 && r1.failures.length === 0, JSON.stringify(r1));
  const vrfRoutes = await sh("ip", "-n", ns, "route", "show", "vrf", "vrf-red");
  check(vrfRoutes.includes("blackhole 10.244.0.0/24 proto 245"), vrfRoutes);
  const r2 = await k.syncRoutes(1000, want.slice(1));
  check(r2.removed === 1 && r2.kept === 2, JSON.stringify(r2));
  const after = await sh("ip", "-n", ns, "route", "show", "vrf", "vrf-red");
  check(!after.includes("10.244.0.0/24") && after.includes("10.99.0.0/24 proto zebra"), after);
  const fromTable = await k.dumpRoutes(1000, { protocols: [11] });
  check(fromTable.length === 1 && fromTable[0].dst?.length === 24, "dump zebra route");
  console.log("OK vrf-routes");

  // dummy link + MPLS: label route (swap) and an IPv4 route with MPLS encap.
  await k.transport.request((w, h) => encodeNewLink(w, "dum0", { ...h, link: { kind: "dummy" } }));
  // Enslave before adding routes: a master change flushes the device's routes.
  await sh("ip", "-n", ns, "link", "set", "dum0", "master", "vrf-red");
  await sh("ip", "-n", ns, "link", "set", "dum0", "up");
  await sh("ip", "-n", ns, "addr", "add", "10.0.0.2/24", "dev", "dum0");
  await sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.mpls.platform_labels=1000");
  const dum = await k.getLink("dum0");
  check(dum?.kind === "dummy", "dummy created");
  const oif = dum!.index;
  await k.transport.request((w, h) =>
    encodeMplsRoute(
      w,
      { label: 100, newdst: [200], via: parseIp("10.0.0.1"), oif, protocol: 245 },
      h,
    )
  );
  const mpls = await sh("ip", "-n", ns, "-f", "mpls", "route", "show");
  check(mpls.includes("100 as to 200 via inet 10.0.0.1 dev dum0"), mpls);
  await k.transport.request((w, h) =>
    encodeRoute(w, {
      dst: parsePrefix("10.55.0.0/24"),
      table: 1000,
      protocol: 245,
      mplsEncap: [300, 400],
      gateway: parseIp("10.0.0.1"),
      oif,
    }, h)
  );
  const encap = await sh("ip", "-n", ns, "route", "show", "table", "1000", "10.55.0.0/24");
  check(/encap mpls +300\/400 via 10\.0\.0\.1 dev dum0/.test(encap), `encap route: ${encap}`);
  console.log("OK mpls-routes");

  // deleteVrf removes it; a second delete reports absence.
  check(await k.deleteVrf("vrf-red"), "deleted");
  const links = await sh("ip", "-n", ns, "link", "show");
  check(!links.includes("vrf-red"), links);
  check(!(await k.deleteVrf("vrf-red")), "second delete is false");
  console.log("OK delete-vrf");
  console.log("KERNEL_VRF_DONE");
} catch (e) {
  console.log(`FAIL ${(e as Error).stack ?? e}`);
  Deno.exitCode = 1;
} finally {
  await k.close();
  await sh("ip", "netns", "del", ns).catch(() => {});
}
