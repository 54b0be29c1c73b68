/**
 * This node's OVN chassis identity: `expose.chassis.name` when configured, otherwise
 * `Open_vSwitch.external_ids:system-id` (and `hostname`) read from the local OVS database
 * over OVSDB JSON-RPC.
 * @module
 */
import type { ExposeConfig } from "../config/mod.ts";
import { ops, OvsdbClient, type OvsdbClientOptions } from "../ovsdb/mod.ts";
import type { ChassisIdentity } from "./model.ts";

/** The local OVS database name. */
export const OVS_DATABASE = "Open_vSwitch";

/** What a chassis name may look like (the same grammar as `expose.chassis.name`). */
export const CHASSIS_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

/** The chassis identity could not be determined. */
export class ChassisIdentityError extends Error {
  override name = "ChassisIdentityError";
}

/** Options of {@link resolveChassis}. */
export interface ResolveChassisOptions {
  /** Overrides of the OVSDB client options (tests). */
  client?: Partial<Omit<OvsdbClientOptions, "remotes" | "database">>;
}

/**
 * Returns the configured chassis name, or reads `system-id` and `hostname` from the
 * `Open_vSwitch` row of the local OVS database. Throws {@link ChassisIdentityError} naming
 * the field when neither gives a valid name.
 */
export async function resolveChassis(
  config: Pick<ExposeConfig, "chassis">,
  options: ResolveChassisOptions = {},
): Promise<ChassisIdentity> {
  if (config.chassis.name !== undefined) {
    if (!CHASSIS_NAME.test(config.chassis.name)) {
      throw new ChassisIdentityError(`expose.chassis.name: invalid chassis name`);
    }
    return { name: config.chassis.name };
  }
  const remote = config.chassis.ovs_connection;
  const client = new OvsdbClient({
    remotes: remote,
    database: OVS_DATABASE,
    reconnect: false,
    leaderOnly: false,
    ...options.client,
  });
  try {
    await client.connect();
    const [res] = await client.transact([
      ops.select("Open_vSwitch", [], { columns: ["external_ids"] }),
    ]);
    const rows = (res as { rows?: Array<{ external_ids?: unknown }> }).rows ?? [];
    if (rows.length !== 1) {
      throw new ChassisIdentityError(
        `expose.chassis.ovs_connection ${remote}: expected one Open_vSwitch row, found ${rows.length}`,
      );
    }
    const ids = decodeMap(rows[0].external_ids);
    const name = ids.get("system-id");
    if (name === undefined || !CHASSIS_NAME.test(name)) {
      throw new ChassisIdentityError(
        `expose.chassis.ovs_connection ${remote}: Open_vSwitch external_ids:system-id is ${
          name === undefined ? "missing" : "not a valid chassis name"
        }; set expose.chassis.name`,
      );
    }
    const hostname = ids.get("hostname");
    return hostname !== undefined && HOSTNAME.test(hostname) ? { name, hostname } : { name };
  } catch (e) {
    if (e instanceof ChassisIdentityError) throw e;
    throw new ChassisIdentityError(
      `expose.chassis.ovs_connection ${remote}: cannot read the chassis identity`,
      { cause: e },
    );
  } finally {
    await client.close().catch(() => {});
  }
}

/** Decodes a wire map (`["map", [[k, v], …]]`) into string pairs. */
function decodeMap(wire: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(wire) || wire[0] !== "map" || !Array.isArray(wire[1])) return out;
  for (const pair of wire[1] as unknown[]) {
    if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") {
      out.set(pair[0], pair[1]);
    }
  }
  return out;
}
