/**
 * A real OVN Southbound database (ovsdb-server with Debian's `ovn-sb.ovsschema`, no OVN
 * daemons) with helpers for the rows ovn-controller/northd would write: chassis, datapaths
 * and port bindings. Filled with `ovn-sbctl`, the tool operators use.
 *
 * ```ts
 * await using sb = await startOvnSb();
 * await sb.addChassis("node-a");
 * await sb.addPortBinding("vm1");
 * await sb.bind("vm1", "node-a");
 * ```
 * @module
 */
import { type OvnDbInstance, startOvnDb } from "./ovn_nb.ts";

/** A running SB database with binding helpers. */
export interface OvnSbInstance extends OvnDbInstance {
  /** Runs `ovn-sbctl --db=… ARGS…` (same as `nbctl`, named for readability). */
  sbctl(args: string[]): Promise<string>;
  /** Adds a Chassis (and its geneve Encap) named `name`; returns its uuid. */
  addChassis(name: string, options?: { hostname?: string; ip?: string }): Promise<string>;
  /** Adds a Port_Binding for `logicalPort` (on a fresh datapath unless given); returns its uuid. */
  addPortBinding(
    logicalPort: string,
    options?: { type?: string; datapath?: string },
  ): Promise<string>;
  /** Sets `Port_Binding.chassis` of `logicalPort` to `chassis` in one transaction (unset: null). */
  bind(logicalPort: string, chassis: string | null): Promise<void>;
  /** uuid of a row found by column value. */
  uuidOf(table: string, column: string, value: string): Promise<string>;
}

let tunnelKey = 1;
let encapHost = 1;

/** Starts an SB database. */
export async function startOvnSb(): Promise<OvnSbInstance> {
  const db = await startOvnDb({ schema: "sb" });
  const sbctl = (args: string[]) => db.nbctl(args);
  const uuidOf = async (table: string, column: string, value: string) => {
    const out = (await sbctl(["--bare", "--columns=_uuid", "find", table, `${column}=${value}`]))
      .trim();
    if (!/^[0-9a-f-]{36}$/.test(out)) {
      throw new Error(`no single ${table} row with ${column}=${value}: ${JSON.stringify(out)}`);
    }
    return out;
  };
  return {
    ...db,
    sbctl,
    uuidOf,
    async addChassis(name, options = {}) {
      // Encap (type, ip) is unique: each chassis gets its own 127.0.0.x unless given.
      const ip = options.ip ?? `127.0.${Math.floor(encapHost / 250)}.${(encapHost++ % 250) + 1}`;
      await sbctl(["chassis-add", name, "geneve", ip]);
      if (options.hostname) await sbctl(["set", "Chassis", name, `hostname=${options.hostname}`]);
      return await uuidOf("Chassis", "name", name);
    },
    async addPortBinding(logicalPort, options = {}) {
      const dp = options.datapath ??
        (await sbctl(["create", "Datapath_Binding", `tunnel_key=${tunnelKey++}`])).trim();
      const out = await sbctl([
        "create",
        "Port_Binding",
        `logical_port="${logicalPort}"`,
        `datapath=${dp}`,
        `tunnel_key=${tunnelKey++}`,
        ...(options.type ? [`type=${options.type}`] : []),
      ]);
      return out.trim();
    },
    async bind(logicalPort, chassis) {
      const pb = await uuidOf("Port_Binding", "logical_port", `"${logicalPort}"`);
      if (chassis === null) {
        await sbctl(["clear", "Port_Binding", pb, "chassis"]);
        return;
      }
      const ch = await uuidOf("Chassis", "name", chassis);
      await sbctl(["set", "Port_Binding", pb, `chassis=${ch}`]);
    },
  };
}
