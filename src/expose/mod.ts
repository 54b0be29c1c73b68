/**
 * Expose mode: chassis-local host-route exposure (upstream ovn-bgp-agent parity).
 *
 * - {@link resolveChassis}: this node's chassis name (configured, or the local OVS database).
 * - {@link selectExposure}: NB/SB rows → the host and subnet routes this chassis exposes.
 * - {@link BgpDriver}: the upstream driver contract; {@link ExposeModeDriver} (FRR network
 *   lines, or the VRF table / bgp-nic, with FRR route-maps) and {@link Vpnv4ModeDriver}
 *   (tenant model → VPNv4) implement it.
 * - {@link ensureNic}, {@link syncNicAddresses}: bgp-nic of method dummy over netlink.
 * - {@link ExposeSource}: follows OVN and drives a driver with expose/withdraw calls.
 * @module
 */
export type {
  ChassisIdentity,
  ExposedPrefix,
  ExposeReason,
  ExposeRejection,
  ExposureSet,
  PortRef,
} from "./model.ts";
export {
  CHASSIS_NAME,
  ChassisIdentityError,
  OVS_DATABASE,
  resolveChassis,
  type ResolveChassisOptions,
} from "./chassis.ts";
export {
  exposedPrefixes,
  type ExposeTables,
  forbiddenReason,
  NAMESPACE_KEY,
  NETWORK_KEY,
  selectExposure,
  type SelectorSettings,
} from "./selectors.ts";
export { NB_EXPOSE_SPEC, SB_EXPOSE_SPEC } from "./rows.ts";
export {
  type BgpDriver,
  DriverInputError,
  type ExposeBackend,
  ExposeModeDriver,
  hostOf,
  subnetOf,
  type Vpnv4DriverOptions,
  Vpnv4ModeDriver,
} from "./driver.ts";
export {
  ensureNic,
  nicAddresses,
  type NicState,
  type NicSyncResult,
  syncNicAddresses,
} from "./nic.ts";
export {
  applyDifference,
  ExposeSource,
  type ExposeSourceOptions,
  type ExposeSourceSettings,
} from "./source.ts";
