/**
 * Kernel plane: netlink transport (requests, batches, dumps, monitors, netns) and the
 * high-level VRF / route / MPLS operations.
 * @module
 */
export {
  type BatchFailure,
  type BatchOptions,
  type BatchResult,
  type MonitorEvent,
  type MonitorOptions,
  NetlinkMonitor,
  NetlinkOverrunError,
  NetlinkTransport,
  type RequestEncoder,
  type RequestHeader,
  type TransportOptions,
} from "./transport.ts";
export {
  KernelPlane,
  type KernelPlaneOptions,
  type RouteFailure,
  type SyncResult,
  type VrfState,
} from "./plane.ts";
export {
  KernelUnsupportedError,
  MissingCapabilityError,
  MplsUnavailableError,
  VrfConflictError,
} from "./errors.ts";
export { checkMpls, type CheckMplsOptions, type MplsMode, type MplsStatus } from "./mpls.ts";
