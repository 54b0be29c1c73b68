/**
 * OVSDB JSON-RPC client (RFC 7047) and typed table cache.
 * @module
 */
export {
  backoffDelay,
  type BackoffOptions,
  type ClientState,
  DEFAULT_LARGE_MESSAGE_BYTES,
  type MonitorMethod,
  OvsdbClient,
  type OvsdbClientOptions,
  OvsdbConnectError,
  ZERO_TXN_ID,
} from "./client.ts";
export {
  type CacheEventHandler,
  DatabaseCache,
  type MonitorSpec,
  type Row,
  TableCache,
  type TableMonitorSpec,
} from "./cache.ts";
export { DEFAULT_LAZY_VALUE_CHARS, eager, LazyJson, members } from "./lazy_json.ts";
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  FramingError,
  JsonFramer,
  type JsonFramerOptions,
} from "./framing.ts";
export * as ops from "./ops.ts";
export type { Condition, Mutation, Operation, OperationResult, Value } from "./ops.ts";
export {
  ConnectionClosedError,
  JsonRpcConnection,
  type JsonRpcOptions,
  OvsdbRpcError,
} from "./rpc.ts";
export {
  type Atom,
  type ColumnSchema,
  type DatabaseSchema,
  type Datum,
  datumEqual,
  OvsdbSchemaError,
  parseSchema,
  type TableSchema,
} from "./schema.ts";
export {
  parseRemote,
  parseRemotes,
  type Remote,
  RemoteParseError,
  type TlsFiles,
} from "./transport.ts";
