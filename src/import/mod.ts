/**
 * Return path: routes imported from the VPN into tenant VRF tables → OVN NB
 * `Logical_Router_Static_Route` rows owned by the agent.
 * @module
 */
export {
  createImportPlane,
  ImportPlane,
  type ImportPlaneOptions,
  importTarget,
  type NbTarget,
} from "./plane.ts";
export {
  type DesiredRow,
  type DesiredRows,
  desiredRows,
  type DiffOptions,
  diffRows,
  type NbState,
  type OwnedRow,
  OWNER_KEY,
  OWNER_VALUE,
  parseState,
  readStateOps,
  ROUTER_TABLE,
  type RouterRef,
  type RowDiff,
  rowExternalIds,
  type RowSettings,
  type SkippedRoute,
  type SkipReason,
  STATIC_ROUTE_TABLE,
  TENANT_KEY,
  type TenantImport,
  VRF_KEY,
  withdrawOps,
} from "./rows.ts";
