/**
 * FRR: renders the desired VRF/BGP VPN configuration and applies it through vtysh.
 *
 * - {@link renderFrrConfig}: desired state → blocks and text (pure, validates every value).
 * - {@link parseRunningConfig}: `show running-config` → blocks (never throws).
 * - {@link diffFrrConfig}: desired vs. running → the commands for the agent-owned part.
 * - {@link applyFrrConfig} / {@link FrrApplier}: compare with running-config (or, in the
 *   applier, with what FRR is known to hold), send the diff in one `vtysh -d bgpd -f` batch.
 * - {@link Vtysh}: the vtysh runner (timeout, batch apply, dryrun).
 * @module
 */
export type {
  ConfigBlock,
  ConfigSection,
  DesiredGlobal,
  DesiredPeer,
  DesiredTenant,
  FrrInput,
  FrrTenantInput,
  RenderedFrrConfig,
} from "./model.ts";
export {
  AGENT_OBJECT_PREFIX,
  AGENT_PEER_MARKER,
  blocksText,
  exportPolicyName,
  isAgentObjectName,
  legacyObjectName,
  parseLegacyObjectName,
  renderExportPolicy,
  renderFrrConfig,
} from "./render.ts";
export { FrrRenderError } from "./validate.ts";
export { findSection, parseRunningConfig } from "./running_config.ts";
export { diffFrrConfig, type DiffOptions, FrrConflictError, type FrrDiff } from "./diff.ts";
export {
  type ApplyLinesOptions,
  parseVtyshLineErrors,
  Vtysh,
  VtyshApplyError,
  VtyshError,
  type VtyshLineError,
  type VtyshResult,
  type VtyshSettings,
  VtyshTimeoutError,
} from "./vtysh.ts";
export {
  AGENT_DAEMON,
  type ApplierApplyOptions,
  applyFrrConfig,
  type ApplyOptions,
  type ApplyResult,
  type ApplySummary,
  bgpdPid,
  FrrApplier,
} from "./apply.ts";
export { RunningCache } from "./running_cache.ts";
