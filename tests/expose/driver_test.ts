/**
 * The upstream driver contract: the expose-mode driver on the real kernel (a fresh netns,
 * table 10) and the VPNv4-mode driver over the tenant model.
 */
import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { ip, isRoot, withNetns } from "../support/netns.ts";
import { KernelPlane } from "../../src/kernel/mod.ts";
import type { IpPrefix } from "../../src/net/mod.ts";
import { buildTenantSet, compilePolicy, type SourceUpdate } from "../../src/tenants/mod.ts";
import {
  applyDifference,
  DriverInputError,
  ExposeModeDriver,
  Vpnv4ModeDriver,
} from "../../src/expose/mod.ts";

async function table10(ns: string): Promise<string[]> {
  const out = (await ip(ns, "-4", "route", "show", "table", "all", "proto", "245")) +
    (await ip(ns, "-6", "route", "show", "table", "all", "proto", "245"));
  return out.split("\n").filter((l) => l.includes(" table 10 ")).map((l) => l.split(" ")[1]).sort();
}

Deno.test({
  name:
    "expose driver: refcounted expose/withdraw on the real kernel, bursts coalesced, hostile input refused",
  ignore: !isRoot,
  fn: () =>
    withNetns(async (ns) => {
      const kernel = KernelPlane.open({ protocol: 245, netns: ns });
      let syncs = 0;
      const driver = new ExposeModeDriver({
        syncPrefixes: async (p: readonly IpPrefix[]) => {
          syncs++;
          await kernel.syncRoutes(10, p);
        },
        syncFrr: () => Promise.resolve(),
        snapshot: () => undefined,
      }, { allowed: ["192.168.0.0/16", "fd00::/8"] });
      try {
        const p1 = { logicalPort: "p1" }, p2 = { logicalPort: "p2" };
        await driver.exposeIp(["192.168.100.10", "fd00::10"], p1);
        await driver.exposeIp(["192.168.100.10/24"], p2); // upstream passes ADDR/LEN too
        await driver.exposeSubnet("192.168.100.1/24", p1);
        assertEquals(await table10(ns), ["192.168.100.0/24", "192.168.100.10", "fd00::10"]);
        await driver.withdrawIp(["192.168.100.10", "fd00::10"], p1);
        assert((await table10(ns)).includes("192.168.100.10"), "p2 still wants it");
        await driver.withdrawIp(["192.168.100.10"], p2);
        await driver.withdrawSubnet("192.168.100.0/24", p1);
        assertEquals(await table10(ns), []);

        for (
          const bad of [
            "0.0.0.0",
            "127.0.0.1",
            "10.1.1.1",
            "224.0.0.1",
            "1.2.3",
            "fe80::1",
            "x; reboot",
          ]
        ) {
          await assertRejects(() => driver.exposeIp([bad], p1), DriverInputError);
        }
        await assertRejects(() => driver.exposeSubnet("0.0.0.0/0", p1), DriverInputError);
        await assertRejects(() => driver.exposeSubnet("192.0.0.0/4", p1), DriverInputError);
        await assertRejects(
          () => driver.exposeIp(["192.168.1.1"], { logicalPort: "" }),
          DriverInputError,
        );
        assertEquals(await table10(ns), []);

        // A burst of 50 upstream-style calls is one or two kernel syncs, not 50.
        syncs = 0;
        const after = {
          hosts: Array.from({ length: 50 }, (_, i) => ({
            prefix: { family: 4 as const, bytes: new Uint8Array([192, 168, 1, i + 1]), length: 32 },
            text: `192.168.1.${i + 1}/32`,
            reason: "layer2" as const,
            port: `vm${i}`,
          })),
          subnets: [],
        };
        await applyDifference(driver, { hosts: [], subnets: [] }, after);
        assertEquals((await table10(ns)).length, 50);
        assert(syncs <= 2, `${syncs} kernel syncs for one burst`);
        await applyDifference(driver, after, { hosts: [], subnets: [] });
        assertEquals(await table10(ns), []);
      } finally {
        await kernel.close();
      }
    }),
});

Deno.test("vpnv4 driver: the contract over the tenant model", async () => {
  let frrSyncs = 0;
  const driver = new Vpnv4ModeDriver({
    namespaceKeys: ["k8s.ovn.org/namespace", "neutron:project_id"],
    onFrrSync: () => {
      frrSyncs++;
      return Promise.resolve();
    },
  });
  const updates: SourceUpdate[] = [];
  await driver.start({ onUpdate: (u) => updates.push(u) });
  assertEquals(updates[0].tenants, []);
  const row = (port: string, ns?: string) => ({
    logicalPort: port,
    externalIds: new Map(ns ? [["k8s.ovn.org/namespace", ns]] : []),
  });
  await driver.exposeIp(["10.244.0.5", "fd00:10:244::5"], row("web", "demo"));
  await driver.exposeSubnet("10.245.0.0/24", row("gw", "demo-b"));
  await driver.exposeRemoteIp(["10.244.0.6"], row("remote", "demo"));
  await assertRejects(
    () => driver.exposeIp(["10.244.0.7"], row("orphan")),
    DriverInputError,
    "names a tenant",
  );
  await assertRejects(() => driver.exposeIp(["0.0.0.0"], row("web", "demo")), DriverInputError);
  const last = updates[updates.length - 1];
  assertEquals(last.changed, new Set(["demo"]));
  const set = buildTenantSet(
    last.tenants,
    compilePolicy({
      allowed: ["0.0.0.0/0", "::/0"],
      deny: [],
      max_prefixes_per_tenant: 100,
    }),
  );
  assertEquals(set.rejected, []);
  assertEquals(
    [...set.tenants.values()].map((t) => [t.name, t.prefixes.length]),
    [["demo", 3], ["demo-b", 1]],
  );
  // A withdraw whose row lost its external_ids still finds the tenant the port had.
  await driver.withdrawIp(["10.244.0.5", "fd00:10:244::5"], row("web"));
  await driver.withdrawRemoteIp(["10.244.0.6"], row("remote", "demo"));
  await driver.withdrawSubnet("10.245.0.0/24", row("gw", "demo-b"));
  await driver.sync();
  assertEquals(updates[updates.length - 1].tenants, []);
  assertEquals(updates[updates.length - 1].changed, undefined);
  await driver.frrSync();
  assertEquals(frrSyncs, 1);
  await driver.stop();
});
