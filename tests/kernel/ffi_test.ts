/** FFI bindings: library selection, overrides, the one load error, errno errors, netns. */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { ip, isRoot, run, withNetns } from "../support/netns.ts";
import {
  FfiError,
  loadNativeLibraries,
  NetlinkSocket,
  trimMallocHeap,
  withNetns as enterNetns,
} from "../../ffi/mod.ts";

const probe = new URL("./helpers/backend_probe.ts", import.meta.url).pathname;
const config = new URL("../../deno.json", import.meta.url).pathname;

Deno.test("ffi: libmnl is preferred when present, libc is always loaded", () => {
  const libs = loadNativeLibraries();
  assert(libs.libc);
  if (Deno.env.get("VPNV4_LIBMNL_PATH") === undefined) assertEquals(libs.backend, "libmnl");
});

Deno.test("ffi: malloc_trim is bound on glibc and returns whether memory was released", () => {
  // undefined would mean the optional symbol was not found in glibc (a wrong binding).
  assertEquals(typeof trimMallocHeap(), "boolean");
});

Deno.test("ffi: entering a missing namespace is an FfiError naming errno", () => {
  const e = assertThrows(() => enterNetns("vpnv4-test-does-not-exist", () => 1), FfiError);
  assertEquals([e.call, e.code], ["open", "ENOENT"]);
  assertStringIncludes(e.message, "/run/netns/vpnv4-test-does-not-exist");
});

Deno.test("ffi: one clear error when neither libmnl nor libc loads", async () => {
  const res = await run(["deno", "run", "-A", "--config", config, probe, "unused"], {
    allowFail: true,
    env: { VPNV4_LIBMNL_PATH: "/nonexistent/libmnl.so", VPNV4_LIBC_PATH: "/nonexistent/libc.so" },
  });
  assert(res.code !== 0);
  assertStringIncludes(res.stderr, "NativeLibraryError: cannot load a netlink socket library");
  assertStringIncludes(res.stderr, "/nonexistent/libmnl.so");
  assertStringIncludes(res.stderr, "/nonexistent/libc.so");
});

for (
  const [label, env] of [
    ["libmnl", { VPNV4_LIBMNL_PATH: "libmnl.so.0" }],
    ["libc", { VPNV4_LIBMNL_PATH: "none" }],
  ] as const
) {
  Deno.test({
    name: `ffi: the ${label} backend programs a route inside a netns`,
    ignore: !isRoot,
    fn: () =>
      withNetns(async (ns) => {
        const res = await run(["deno", "run", "-A", "--config", config, probe, ns], { env });
        assertStringIncludes(res.stdout, `backend=${label}`);
        assertStringIncludes(
          await ip(ns, "route", "show", "table", "900"),
          "blackhole 10.90.0.0/24",
        );
      }),
  });
}

Deno.test({
  name: "ffi: close wakes a pending wait without leaking the op",
  ignore: !isRoot,
  fn: async () => {
    const s = NetlinkSocket.open();
    const waiting = s.waitReadable(-1);
    await s.close();
    assertEquals(await waiting, false);
    assert(s.closed);
  },
});
