/**
 * FRR: renders the desired VRF/BGP VPN configuration and applies it through vtysh.
 *
 * - {@link renderFrrConfig}: desired state → blocks and text (pure).
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
  agentObjectName,
  blocksText,
  parseAgentObjectName,
  renderFrrConfig,
} from "./render.ts";
export { FrrRenderError } from "./validate.ts";
