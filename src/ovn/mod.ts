/**
 * OVN Northbound tenant source: tenants and addresses from Logical_Switch_Port rows.
 * @module
 */
export {
  NB_DATABASE,
  type OvnMonitorOptions,
  ovnMonitorSpec,
  type OvnSourceOptions,
  type OvnSourceSettings,
  OvnTenantSource,
  type SnapshotOptions,
  snapshotOvnTenants,
} from "./source.ts";
export {
  type IndexedRows,
  LS_COLUMNS,
  LSP_COLUMNS,
  type LspRow,
  type LsRow,
  TenantIndex,
  type TenantIndexOptions,
} from "./tenant_index.ts";
export {
  ADDRESS_KEYWORDS,
  parseAddressEntry,
  type ParsedAddresses,
  parsePortAddresses,
  parseSwitchSubnets,
  type PortAddress,
  type PortAddressColumns,
  WORKLOAD_PORT_TYPES,
} from "./addresses.ts";
