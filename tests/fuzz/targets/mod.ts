/**
 * Every fuzz target, in run order.
 * @module
 */
import type { FuzzTarget } from "../harness.ts";
import { netlinkTarget } from "./netlink.ts";
import { ovsdbFramingTarget } from "./ovsdb_framing.ts";
import { ovsdbRpcTarget } from "./ovsdb_rpc.ts";
import { ovnRowsTarget } from "./ovn_rows.ts";
import { configTarget, frrRunningConfigTarget, tenantsTarget } from "./text_targets.ts";

/** The targets of `deno task fuzz`. */
export const TARGETS: readonly FuzzTarget[] = [
  netlinkTarget,
  ovsdbFramingTarget,
  ovsdbRpcTarget,
  ovnRowsTarget,
  configTarget,
  tenantsTarget,
  frrRunningConfigTarget,
];
