/**
 * The upstream ovn-bgp-agent option table (ovn_bgp_agent/config.py, 2024-2025 releases) and
 * what this agent does with each option. Options marked `ignored` have no equivalent here;
 * the converter names every one it meets in a warning.
 */

/** How an upstream value is typed by oslo.config. */
export type UpstreamType = "str" | "int" | "bool" | "list" | "ip" | "port";

/** One upstream option. */
export interface UpstreamOption {
  /** oslo group (`DEFAULT`, `ovn`, `agent`, `local_ovn_cluster`). */
  section: string;
  name: string;
  type: UpstreamType;
  /** Upstream default, as the INI text would spell it. */
  default?: string;
  /** Older groups oslo.config still reads the option from (`deprecated_group`). */
  deprecatedSections?: string[];
  /** `mapped`: converted (see map.ts); otherwise the reason it has no equivalent. */
  fate: "mapped" | { ignored: string };
}

/** Upstream drivers and what this agent makes of them. */
export const UPSTREAM_DRIVERS = {
  ovn_bgp_driver: { binding: "sb" },
  nb_ovn_bgp_driver: { binding: "nb" },
  ovn_evpn_driver: {
    unsupported: "EVPN (VXLAN type-2/type-5) is not implemented by this agent; " +
      "use a VPNv4/VPNv6 tenant source (tenants.sources) or keep the upstream agent",
  },
  ovn_stretched_l2_bgp_driver: {
    unsupported: "stretched L2 (announcing provider networks via cr-lrp next hops) is not " +
      "implemented by this agent; keep the upstream agent for it",
  },
} as const satisfies Record<string, { binding: "sb" | "nb" } | { unsupported: string }>;

/** Upstream exposing methods; only `underlay` has an equivalent. */
export const EXPOSING_METHODS: Record<string, string | undefined> = {
  underlay: undefined,
  l2vni: "l2vni extends L2 over EVPN (type-2), which this agent does not implement",
  vrf: "vrf exposes per-network VRFs/VNIs over EVPN (type-5), which this agent does not " +
    "implement (for per-tenant L3VPN use tenants.sources)",
  dynamic: "dynamic mixes underlay, l2vni and vrf per port annotation; only underlay is " +
    "implemented here",
  ovn: "ovn redirects traffic through a local OVN cluster per node ([local_ovn_cluster]); " +
    "this agent programs the kernel and FRR instead",
};

const ROOT_HELPER = "this agent needs no root helper (it runs with CAP_NET_ADMIN)";
const EVPN_ONLY = "only used by the EVPN driver";
const LOCAL_CLUSTER = "only used by exposing_method ovn";

/** Every upstream option the converter knows. */
export const UPSTREAM_OPTIONS: readonly UpstreamOption[] = [
  { section: "DEFAULT", name: "driver", type: "str", default: "ovn_bgp_driver", fate: "mapped" },
  { section: "DEFAULT", name: "bgp_AS", type: "str", default: "64999", fate: "mapped" },
  { section: "DEFAULT", name: "bgp_router_id", type: "str", fate: "mapped" },
  { section: "DEFAULT", name: "bgp_nic", type: "str", default: "bgp-nic", fate: "mapped" },
  { section: "DEFAULT", name: "bgp_vrf", type: "str", default: "bgp-vrf", fate: "mapped" },
  { section: "DEFAULT", name: "bgp_vrf_table_id", type: "int", default: "10", fate: "mapped" },
  { section: "DEFAULT", name: "reconcile_interval", type: "int", default: "300", fate: "mapped" },
  {
    section: "DEFAULT",
    name: "frr_reconcile_interval",
    type: "int",
    default: "15",
    fate: "mapped",
  },
  {
    section: "DEFAULT",
    name: "expose_tenant_networks",
    type: "bool",
    default: "False",
    fate: "mapped",
  },
  {
    section: "DEFAULT",
    name: "expose_ipv6_gua_tenant_networks",
    type: "bool",
    default: "False",
    fate: "mapped",
  },
  {
    section: "DEFAULT",
    name: "advertisement_method_tenant_networks",
    type: "str",
    default: "host",
    fate: "mapped",
  },
  {
    section: "DEFAULT",
    name: "require_snat_disabled_for_tenant_networks",
    type: "bool",
    default: "False",
    fate: "mapped",
  },
  { section: "DEFAULT", name: "address_scopes", type: "list", fate: "mapped" },
  { section: "DEFAULT", name: "exposing_method", type: "str", default: "underlay", fate: "mapped" },
  {
    section: "DEFAULT",
    name: "ovsdb_connection",
    type: "str",
    default: "unix:/usr/local/var/run/openvswitch/db.sock",
    fate: "mapped",
  },
  {
    section: "DEFAULT",
    name: "ovsdb_connection_timeout",
    type: "int",
    default: "180",
    fate: { ignored: "OVSDB transactions here time out per request, not per option" },
  },
  {
    section: "DEFAULT",
    name: "clear_vrf_routes_on_startup",
    type: "bool",
    default: "False",
    fate: {
      ignored: "this agent removes only routes it owns (kernel.route_protocol) and never " +
        "flushes the VRF table",
    },
  },
  { section: "DEFAULT", name: "evpn_local_ip", type: "ip", fate: { ignored: EVPN_ONLY } },
  { section: "DEFAULT", name: "evpn_nic", type: "str", fate: { ignored: EVPN_ONLY } },
  {
    section: "DEFAULT",
    name: "evpn_udp_dstport",
    type: "port",
    default: "4789",
    fate: { ignored: EVPN_ONLY },
  },
  { section: "DEFAULT", name: "debug", type: "bool", default: "False", fate: "mapped" },
  { section: "DEFAULT", name: "use_json", type: "bool", default: "False", fate: "mapped" },
  ...(["ovn_sb", "ovn_nb"] as const).flatMap((db): UpstreamOption[] => [
    {
      section: "ovn",
      name: `${db}_connection`,
      type: "str",
      default: "",
      deprecatedSections: ["DEFAULT"],
      fate: "mapped",
    },
    {
      section: "ovn",
      name: `${db}_private_key`,
      type: "str",
      default: "/etc/pki/tls/private/ovn_bgp_agent.key",
      deprecatedSections: ["DEFAULT"],
      fate: "mapped",
    },
    {
      section: "ovn",
      name: `${db}_certificate`,
      type: "str",
      default: "/etc/pki/tls/certs/ovn_bgp_agent.crt",
      deprecatedSections: ["DEFAULT"],
      fate: "mapped",
    },
    {
      section: "ovn",
      name: `${db}_ca_cert`,
      type: "str",
      default: "/etc/ipa/ca.crt",
      deprecatedSections: ["DEFAULT"],
      fate: "mapped",
    },
  ]),
  { section: "agent", name: "root_helper", type: "str", fate: { ignored: ROOT_HELPER } },
  { section: "agent", name: "root_helper_daemon", type: "str", fate: { ignored: ROOT_HELPER } },
  {
    section: "agent",
    name: "use_helper_for_ns_read",
    type: "bool",
    fate: { ignored: ROOT_HELPER },
  },
  ...["ovn_nb_connection", "external_nics", "peer_ips", "provider_networks_pool_prefixes"].map(
    (name): UpstreamOption => ({
      section: "local_ovn_cluster",
      name,
      type: name === "ovn_nb_connection" ? "str" : "list",
      fate: { ignored: LOCAL_CLUSTER },
    }),
  ),
];

/** oslo.log options (registered in DEFAULT by every OpenStack service). */
const OSLO_LOG =
  /^(verbose|log_file|log_dir|logfile|logdir|watch_log_file|use_syslog|use_journal|use_eventlog|use_stderr|syslog_log_facility|log_config_append|log_config|log_date_format|log_rotation_type|log_rotate_interval|log_rotate_interval_type|max_logfile_count|max_logfile_size_mb|logging_[a-z_]+|default_log_levels|publish_errors|instance_format|instance_uuid_format|rate_limit_[a-z_]+|fatal_deprecations)$/;

/** Why an oslo.log option has no equivalent, or undefined for other names. */
export function osloLogOption(section: string, name: string): string | undefined {
  if (section !== "DEFAULT" || !OSLO_LOG.test(name)) return undefined;
  return "logging option: this agent logs to stderr; use log.level and log.format";
}

/** Finds an option by its current group or one of its deprecated groups. */
export function findOption(section: string, name: string): UpstreamOption | undefined {
  return UPSTREAM_OPTIONS.find((o) =>
    o.name === name && (o.section === section || o.deprecatedSections?.includes(section))
  );
}

/** Upstream groups this converter knows. */
export const KNOWN_SECTIONS = new Set(UPSTREAM_OPTIONS.map((o) => o.section));
