/** Chassis identity from a real local OVS database (vswitch.ovsschema) or the configuration. */
import { assertEquals, assertRejects } from "../support/assert.ts";
import { startOvsLocal } from "../support/ovs_local.ts";
import { ChassisIdentityError, resolveChassis } from "../../src/expose/mod.ts";

const chassis = (c: { name?: string; ovs_connection: string }) => ({ chassis: c });

Deno.test("expose chassis: system-id and hostname from OVS; config wins; bad ids refused", async () => {
  await using ovs = await startOvsLocal({ systemId: "4c1e2f0a-node-a", hostname: "worker-a" });
  assertEquals(await resolveChassis(chassis({ ovs_connection: ovs.unixRemote })), {
    name: "4c1e2f0a-node-a",
    hostname: "worker-a",
  });
  assertEquals(
    await resolveChassis(chassis({ name: "node-x", ovs_connection: "unix:/nonexistent" })),
    { name: "node-x" },
  );
  await ovs.vsctl(["set", "Open_vSwitch", ".", 'external_ids:system-id="a b;vtysh -c"']);
  await assertRejects(
    () => resolveChassis(chassis({ ovs_connection: ovs.unixRemote })),
    ChassisIdentityError,
    "system-id is not a valid chassis name",
  );
  await ovs.vsctl(["remove", "Open_vSwitch", ".", "external_ids", "system-id"]);
  await assertRejects(
    () => resolveChassis(chassis({ ovs_connection: ovs.unixRemote })),
    ChassisIdentityError,
    "system-id is missing",
  );
  await assertRejects(
    () => resolveChassis(chassis({ ovs_connection: "unix:/nonexistent/db.sock" })),
    ChassisIdentityError,
    "cannot read the chassis identity",
  );
});
