/**
 * Sysctls read through libc (ffi/file.ts): what the product uses instead of Deno's file APIs,
 * which refuse /proc under the product flags.
 */
import { assertEquals, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { isRoot, run, withNetns } from "../support/netns.ts";
import { FfiError, readKernelFile } from "../../ffi/mod.ts";
import { checkMpls } from "../../src/kernel/mod.ts";

Deno.test("sysctl ffi: reads a sysctl; a missing file is ENOENT naming the path", async () => {
  assertEquals(
    readKernelFile("/proc/sys/net/ipv4/ip_forward"),
    await Deno.readTextFile("/proc/sys/net/ipv4/ip_forward"),
  );
  const e = assertThrows(() => readKernelFile("/proc/sys/net/vpnv4-none/x"), FfiError);
  assertEquals([e.call, e.code], ["open", "ENOENT"]);
  assertStringIncludes(e.message, "/proc/sys/net/vpnv4-none/x");
  const dir = assertThrows(() => readKernelFile("/proc/sys/net"), FfiError);
  assertEquals([dir.call, dir.code], ["read", "EISDIR"]);
});

Deno.test("sysctl ffi: larger files are read whole, up to maxBytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = "x".repeat(10_000) + "\n";
    await Deno.writeTextFile(`${dir}/f`, text);
    assertEquals(readKernelFile(`${dir}/f`), text);
    assertEquals(readKernelFile(`${dir}/f`, { maxBytes: 100 }), text.slice(0, 100));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "sysctl ffi: `netns` reads the namespace's own value (per-namespace sysctl)",
  ignore: !isRoot,
  fn: () =>
    withNetns(async (ns) => {
      await run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      assertEquals(readKernelFile("/proc/sys/net/ipv4/ip_forward", { netns: ns }).trim(), "1");
      await run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=0"]);
      assertEquals(readKernelFile("/proc/sys/net/ipv4/ip_forward", { netns: ns }).trim(), "0");
      // checkMpls follows the same namespace (no MPLS on this kernel, or 0 labels in a fresh one)
      const status = await checkMpls("auto", { netns: ns });
      assertEquals(status.ready, false);
    }),
});
