/**
 * The kernel side of expose method dummy on the real kernel (a fresh netns): host addresses
 * synced onto a device through netlink, link-local ones left alone, a link of another kind
 * refused. The dummy device itself needs CONFIG_DUMMY (the QEMU guest test covers it); on a
 * kernel without it the error names the option.
 */
import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { ip, isRoot, withNetns } from "../support/netns.ts";
import { waitFor } from "../support/proc.ts";
import { KernelPlane, KernelUnsupportedError, VrfConflictError } from "../../src/kernel/mod.ts";
import { formatPrefix, parsePrefix } from "../../src/net/mod.ts";
import { ensureNic, nicAddresses, syncNicAddresses } from "../../src/expose/mod.ts";

async function addrs(ns: string, dev: string): Promise<string[]> {
  const out = await ip(ns, "-o", "addr", "show", "dev", dev);
  return out.split("\n").filter((l) => l.trim() !== "" && !l.includes(" fe80:"))
    .map((l) => l.trim().split(/\s+/)[3]).sort();
}

Deno.test({
  name: "expose nic: host addresses synced through netlink, link-local kept, others refused",
  ignore: !isRoot,
  fn: () =>
    withNetns(async (ns) => {
      await ip(ns, "link", "add", "nic0", "type", "veth", "peer", "name", "nic1");
      await ip(ns, "link", "set", "nic0", "up");
      await ip(ns, "link", "set", "nic1", "up");
      await waitFor(
        async () => (await ip(ns, "-6", "addr", "show", "dev", "nic0")).includes("fe80:"),
        {
          timeoutMs: 10_000,
          describe: () => "nic0 never got its link-local address",
        },
      );
      await ip(ns, "addr", "add", "10.99.0.1/24", "dev", "nic0"); // not ours: goes
      const kernel = KernelPlane.open({ protocol: 245, netns: ns });
      try {
        const link = await kernel.getLink("nic0");
        assert(link);
        const want = ["192.168.100.10/32", "192.168.100.11/32", "fd00:100::10/128"]
          .map((t) => parsePrefix(t));
        let r = await syncNicAddresses(kernel, link.index, want);
        assertEquals(r, { added: 3, removed: 1, kept: 0 });
        assertEquals(await addrs(ns, "nic0"), [
          "192.168.100.10/32",
          "192.168.100.11/32",
          "fd00:100::10/128",
        ]);
        assertEquals(
          (await nicAddresses(kernel, link.index)).map(formatPrefix).sort(),
          ["192.168.100.10/32", "192.168.100.11/32", "fd00:100::10/128"],
        );
        // A VM moves away, another arrives: one delete, one add.
        r = await syncNicAddresses(kernel, link.index, [
          want[1],
          want[2],
          parsePrefix("192.168.100.12/32"),
        ]);
        assertEquals(r, { added: 1, removed: 1, kept: 2 });
        assertEquals(await addrs(ns, "nic0"), [
          "192.168.100.11/32",
          "192.168.100.12/32",
          "fd00:100::10/128",
        ]);
        await syncNicAddresses(kernel, link.index, []);
        assertEquals(await addrs(ns, "nic0"), []);
        const linkLocal = await ip(ns, "-6", "-o", "addr", "show", "dev", "nic0");
        assert(linkLocal.includes("fe80:"), "the link-local address stays");
        await assertRejects(
          () => syncNicAddresses(kernel, link.index, [parsePrefix("192.168.100.0/24")]),
          RangeError,
          "not a host address",
        );

        // A link of that name that is not a dummy is never touched.
        await assertRejects(() => ensureNic(kernel, "nic1", 1), VrfConflictError, "a veth");
        // Creating the dummy: works where the kernel has it, names CONFIG_DUMMY where not.
        try {
          const nic = await ensureNic(kernel, "bgp-nic", 0);
          assert(nic.created && nic.index > 0);
          const again = await ensureNic(kernel, "bgp-nic", 0);
          assertEquals(again, { name: "bgp-nic", index: nic.index, created: false });
        } catch (e) {
          assert(e instanceof KernelUnsupportedError, String(e));
          assertEquals(e.config, "CONFIG_DUMMY");
        }
      } finally {
        await kernel.close();
      }
    }),
});
