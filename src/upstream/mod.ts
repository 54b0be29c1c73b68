/**
 * Migration from the upstream ovn-bgp-agent: an oslo.config-style INI reader with line numbers,
 * the upstream option table, and the conversion to this agent's configuration.
 * @module
 */
export {
  type IniDocument,
  type IniEntry,
  IniSyntaxError,
  normalizeSection,
  parseIni,
} from "./ini.ts";
export {
  EXPOSING_METHODS,
  findOption,
  UPSTREAM_DRIVERS,
  UPSTREAM_OPTIONS,
  type UpstreamOption,
} from "./options.ts";
export {
  formatUpstreamIssue,
  UpstreamConfigError,
  type UpstreamIssue,
  type UpstreamSeverity,
} from "./issues.ts";
export { type Conversion, type ConvertOptions, convertUpstream } from "./convert.ts";
export {
  formatFinding,
  loadUpstreamConfig,
  type LoadUpstreamOptions,
  renderConversion,
  upstreamConfigLoader,
} from "./load.ts";
