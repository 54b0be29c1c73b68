/**
 * Tenant allocation: a stable VRF device name, route table id, RD and RT for every tenant,
 * persisted in the state file.
 * @module
 */
export type { Allocation } from "./model.ts";
export * from "./route_distinguisher.ts";
export { AllocationError, StateFileError } from "./errors.ts";
export {
  type AllocationSettings,
  allocationSettings,
  isUsableTable,
  RESERVED_TABLES,
  usableTableCount,
  validateAllocationConfig,
} from "./config.ts";
export {
  chooseVrfName,
  type ChooseVrfNameOptions,
  HASHED_VRF_CHARS,
  HASHED_VRF_PREFIX,
  hashedVrfName,
  type HashedVrfNameOptions,
  IFNAME_MAX,
  isValidIfName,
  READABLE_VRF_MAX,
  readableVrfName,
  RESERVED_VRF_NAMES,
} from "./vrf_name.ts";
export { type HashFunction, sha256 } from "./hash.ts";
export {
  type AllocationState,
  emptyState,
  parseState,
  readStateFile,
  serializeState,
  STATE_VERSION,
  type StateEntry,
  writeStateFile,
} from "./state.ts";
export {
  type AllocationPlan,
  planAllocations,
  type PlanOptions,
  type TenantRequest,
} from "./plan.ts";
export {
  type AllocateOptions,
  type AllocationResult,
  Allocator,
  type AllocatorOptions,
} from "./allocator.ts";
