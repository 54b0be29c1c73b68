/**
 * A real local OVS database (ovsdb-server with Debian's `vswitch.ovsschema`, no
 * ovs-vswitchd) holding the `Open_vSwitch` row whose `external_ids:system-id` names the OVN
 * chassis, filled with `ovs-vsctl` the way ovn-controller's host is set up.
 *
 * ```ts
 * await using ovs = await startOvsLocal({ systemId: "node-a", hostname: "worker-1" });
 * // connect the code under test to ovs.unixRemote
 * ```
 * @module
 */
import { type OvnDbInstance, startOvnDb } from "./ovn_nb.ts";
import { runOk } from "./proc.ts";

/** The schema shipped by Debian `openvswitch-common`. */
export const VSWITCH_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";

/** A running local OVS database. */
export interface OvsLocalInstance extends OvnDbInstance {
  /** Runs `ovs-vsctl --db=… --no-wait ARGS…` and returns stdout. */
  vsctl(args: string[]): Promise<string>;
}

/** Starts the database, creates the Open_vSwitch row and sets the given external_ids. */
export async function startOvsLocal(
  options: { systemId?: string; hostname?: string; externalIds?: Record<string, string> } = {},
): Promise<OvsLocalInstance> {
  const db = await startOvnDb({ schema: VSWITCH_SCHEMA });
  const vsctl = (args: string[]) =>
    runOk("ovs-vsctl", [`--db=${db.unixRemote}`, "--no-wait", ...args]);
  try {
    await vsctl(["init"]);
    const ids: Record<string, string> = { ...options.externalIds };
    if (options.systemId !== undefined) ids["system-id"] = options.systemId;
    if (options.hostname !== undefined) ids.hostname = options.hostname;
    for (const [k, v] of Object.entries(ids)) {
      await vsctl(["set", "Open_vSwitch", ".", `external_ids:${k}=${JSON.stringify(v)}`]);
    }
  } catch (e) {
    await db.stop();
    throw e;
  }
  return { ...db, vsctl };
}
