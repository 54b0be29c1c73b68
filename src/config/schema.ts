/**
 * The `vpnv4-agent.yaml` schema. Every object is strict (unknown keys are errors) and every
 * field carries a description that the README's configuration reference is generated from.
 */
import { z } from "zod";
import { tryParseIp, tryParsePrefix } from "../net/mod.ts";

/** Largest 4-byte ASN. */
export const ASN_MAX = 4294967295;

const asn = z.number().int().min(1).max(ASN_MAX);

const ipv4 = z.string().refine((s) => tryParseIp(s)?.family === 4, {
  message: "must be an IPv4 address",
});
const ipAddress = z.string().refine((s) => tryParseIp(s) !== undefined, {
  message: "must be an IPv4 or IPv6 address",
});
/** A strict CIDR prefix (host bits zero). */
export const cidr = z.string().refine((s) => tryParsePrefix(s) !== undefined, {
  message: "must be a CIDR prefix like 10.0.0.0/8 or fd00::/8 with host bits zero",
});

const safeText = z.string().max(80).refine((s) => /^[\x20-\x7e]*$/.test(s) && !/[!#]/.test(s), {
  message: "must be printable ASCII without '!' or '#' (it is written into FRR configuration)",
});
const ifName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, {
  message: "must be a Linux interface name (1-15 of A-Z a-z 0-9 _ . -)",
});

/** The BGP peer families the agent can activate. */
export const PEER_FAMILIES = ["vpnv4", "vpnv6", "ipv4", "ipv6"] as const;

const peer = z.strictObject({
  address: ipAddress.describe("Peer address (IPv4 or IPv6)."),
  remote_asn: asn.describe("Peer AS number (1..4294967295)."),
  description: safeText.optional().describe("Free text shown in FRR."),
  families: z.array(z.enum(PEER_FAMILIES)).min(1).default(["vpnv4", "vpnv6"])
    .describe("Address families to activate: vpnv4, vpnv6, ipv4, ipv6."),
  password: z.string().min(1).max(80).refine((s) => /^[\x21-\x7e]+$/.test(s) && !/[!#]/.test(s), {
    message: "must be printable ASCII without spaces, '!' or '#' (FRR reads those as comments)",
  }).optional().describe("TCP MD5 password (never logged or shown in status)."),
  ebgp_multihop: z.number().int().min(1).max(255).optional().describe("eBGP multihop TTL."),
  timers: z.strictObject({
    keepalive: z.number().int().min(0).max(65535).describe("Keepalive seconds."),
    hold: z.number().int().min(0).max(65535).describe("Hold time seconds (0 or >= 3)."),
  }).refine((t) => t.hold === 0 || t.hold >= 3, { message: "hold must be 0 or at least 3" })
    .optional().describe("BGP timers."),
  update_source: z.union([ipAddress, ifName]).optional()
    .describe("Source address or interface for the session."),
});

const rdBase = z.union([
  asn,
  z.string().regex(/^[0-9]+$/).transform(Number).pipe(asn),
  ipv4,
]).describe("RD/RT administrator: an ASN (2- or 4-byte) or an IPv4 address.");

const tableRange = z.strictObject({
  min: z.number().int().min(1).max(0xffffffff).describe("First route table id."),
  max: z.number().int().min(1).max(0xffffffff).describe("Last route table id."),
}).refine((r) => r.min <= r.max, { message: "min must not exceed max" })
  .refine((r) => r.max - r.min + 1 - reservedTablesIn(r.min, r.max) >= 1, {
    message: "range holds no usable table id (0 and 253-255 are reserved)",
  });

function reservedTablesIn(min: number, max: number): number {
  return [253, 254, 255].filter((t) => t >= min && t <= max).length;
}

const tlsFiles = z.strictObject({
  key: z.string().min(1).describe("Client private key (PEM)."),
  cert: z.string().min(1).describe("Client certificate (PEM)."),
  ca: z.string().min(1).describe("CA certificate (PEM)."),
});

const ovnRemote = z.string().regex(
  /^(unix:[^,\s]+|(tcp|ssl):[^,\s]+:[0-9]{1,5})(,(unix:[^,\s]+|(tcp|ssl):[^,\s]+:[0-9]{1,5}))*$/,
  {
    message: "must be unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT, comma-separated for clusters",
  },
);

const fileSource = z.strictObject({
  type: z.literal("file"),
  path: z.string().min(1).describe("Tenants file (YAML or JSON)."),
});

const ovnSource = z.strictObject({
  type: z.literal("ovn"),
  connection: ovnRemote.describe("OVN NB remotes, e.g. unix:/run/ovn/ovnnb_db.sock."),
  tls: tlsFiles.optional().describe("Client TLS files for ssl: remotes."),
  namespace_keys: z.array(z.string().min(1).max(128)).min(1)
    .default(["k8s.ovn.org/namespace", "neutron:project_id"])
    .describe("Logical_Switch_Port external_ids keys that name the tenant, first match wins."),
  prefix_mode: z.enum(["host", "subnet"]).default("subnet")
    .describe("host: /32 and /128 per address; subnet: aggregate to the switch subnet."),
  subnets: z.record(z.string(), z.array(cidr)).default({})
    .describe("Per-tenant subnets used for aggregation in subnet mode."),
  debounce_ms: z.number().int().min(0).max(60000).default(200)
    .describe("Quiet time before a burst of changes is handed on."),
  row_cache: z.boolean().default(false)
    .describe("Cache NB rows (~220 B a port) so a reconnect resumes with monitor_cond_since."),
});

/** A tenant source entry. */
export const sourceSchema = z.discriminatedUnion("type", [fileSource, ovnSource]);

const policy = z.strictObject({
  allowed: z.array(cidr).default(["0.0.0.0/0", "::/0"])
    .describe("Only prefixes inside one of these ranges are exported."),
  deny: z.array(cidr).default([])
    .describe("Prefixes inside these ranges are never exported (default routes always are)."),
  max_prefixes_per_tenant: z.number().int().min(1).max(1_000_000).default(10000)
    .describe("A tenant with more prefixes is rejected as hostile."),
});

const communityList = z.array(
  z.string().regex(/^[0-9]{1,5}:[0-9]{1,5}$/, { message: "must be a standard community ASN:VALUE" })
    .refine((c) => c.split(":").every((n) => Number(n) <= 65535), {
      message: "each half of a standard community must be at most 65535",
    }),
);
const largeCommunityList = z.array(
  z.string().regex(/^[0-9]{1,10}:[0-9]{1,10}:[0-9]{1,10}$/, {
    message: "must be a large community GLOBAL:LOCAL1:LOCAL2",
  }).refine((c) => c.split(":").every((n) => Number(n) <= 0xffffffff), {
    message: "each part of a large community must be at most 4294967295",
  }),
);
const communities = (standard: string[]) =>
  z.strictObject({
    standard: communityList.default(standard).describe("Standard communities (ASN:VALUE)."),
    large: largeCommunityList.default([]).describe("Large communities (GLOBAL:LOCAL1:LOCAL2)."),
  }).default({ standard, large: [] });

const exposeSection = z.strictObject({
  enabled: z.boolean().default(false)
    .describe("Advertise chassis-local host routes (/32, /128) over ipv4/ipv6 unicast."),
  chassis: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/).optional()
      .describe("This node's OVN chassis name; default: read from the local OVS database."),
    ovs_connection: ovnRemote.default("unix:/run/openvswitch/db.sock")
      .describe("Local OVS database (Open_vSwitch.external_ids:system-id names the chassis)."),
  }).default({ ovs_connection: "unix:/run/openvswitch/db.sock" })
    .describe("Chassis identity."),
  binding_source: z.enum(["sb", "nb"]).default("sb")
    .describe("sb: Port_Binding.chassis; nb: Logical_Switch_Port options:requested-chassis."),
  sb_connection: ovnRemote.optional().describe("OVN SB remotes (required for binding_source sb)."),
  sb_tls: tlsFiles.optional().describe("Client TLS files for ssl: SB remotes."),
  nb_connection: ovnRemote.optional()
    .describe("OVN NB remotes; default: the connection of the first ovn tenant source."),
  nb_tls: tlsFiles.optional().describe("Client TLS files for ssl: NB remotes."),
  families: z.array(z.enum(["ipv4", "ipv6"])).min(1).default(["ipv4", "ipv6"])
    .describe("Unicast families exposed (to peers that have that family)."),
  method: z.enum(["table", "dummy", "network"]).default("table")
    .describe("table: VRF table blackholes; dummy: IPs on bgp_nic; network: bgpd network lines."),
  vrf: ifName.default("bgp-vrf").describe("VRF holding the exposed routes (upstream: bgp_vrf)."),
  table: z.number().int().min(1).max(0xffffffff)
    .refine((t) => t < 253 || t > 255, { message: "253-255 are reserved tables" })
    .default(10).describe("Route table of that VRF (upstream: bgp_vrf_table_id)."),
  nic: ifName.default("bgp-nic").describe("Dummy device for method dummy (upstream: bgp_nic)."),
  select: z.strictObject({
    provider_networks: z.boolean().default(true)
      .describe("IPs of ports on provider (localnet) networks bound here."),
    floating_ips: z.boolean().default(true)
      .describe("dnat_and_snat external IPs whose logical port is bound here."),
    gateway_ports: z.boolean().default(true).describe("Gateway router ports (cr-lrp) bound here."),
    tenant_networks: z.boolean().default(false)
      .describe("IPs of any port bound here (upstream: expose_tenant_networks)."),
    layer2: z.strictObject({
      networks: z.array(z.string().min(1).max(255)).default([])
        .describe("Logical_Switch names or k8s.ovn.org/network values of layer-2 UDNs."),
      namespaces: z.array(z.string().min(1).max(253)).default([])
        .describe("Only ports of these namespaces (empty: any)."),
      external_ids: z.record(z.string(), z.string()).default({})
        .describe("Logical_Switch_Port external_ids that must all match."),
    }).default({ networks: [], namespaces: [], external_ids: {} })
      .describe("KubeVirt VMs on layer-2 user-defined networks."),
  }).default({
    provider_networks: true,
    floating_ips: true,
    gateway_ports: true,
    tenant_networks: false,
    layer2: { networks: [], namespaces: [], external_ids: {} },
  }).describe("What is exposed."),
  subnets: z.boolean().default(false).describe("Also advertise the subnets of exposed ports."),
  aggregate: z.boolean().default(false)
    .describe("Advertise only the subnets, not the host routes inside them."),
  allowed: z.array(cidr).default(["0.0.0.0/0", "::/0"])
    .describe("Only addresses inside these ranges are exposed (default routes never are)."),
  communities: z.strictObject({
    host: communities(["64512:200"]).describe("Communities on host routes."),
    subnet: communities(["64512:100"]).describe("Communities on subnet routes."),
  }).default({
    host: { standard: ["64512:200"], large: [] },
    subnet: { standard: ["64512:100"], large: [] },
  }).describe("Communities set by the agent's route-maps."),
}).superRefine((e, ctx) => {
  if (e.enabled && e.binding_source === "sb" && !e.sb_connection) {
    ctx.addIssue({
      code: "custom",
      path: ["sb_connection"],
      message: "required when binding_source is sb",
    });
  }
});

/** Default of the `expose` section (disabled). */
export const EXPOSE_DEFAULTS = exposeSection.parse({});

/** The whole configuration file. */
export const configSchema = z.strictObject({
  bgp: z.strictObject({
    asn: asn.describe("Local AS number (2- or 4-byte)."),
    router_id: ipv4.describe("BGP router id (IPv4 address)."),
    peers: z.array(peer).default([]).describe("BGP peers (FortiGate, PE routers)."),
  }).describe("BGP speaker settings."),
  allocation: z.strictObject({
    rd_base: rdBase.optional().describe("RD administrator; defaults to bgp.asn."),
    rt_base: rdBase.optional().describe("RT administrator; defaults to rd_base."),
    table_range: tableRange.default({ min: 1000, max: 1999 })
      .describe("Route table ids given to tenant VRFs."),
    state_file: z.string().min(1).default("/var/lib/vpnv4-agent/state.json")
      .describe("Where allocations are persisted (atomic writes)."),
  }).default({
    table_range: { min: 1000, max: 1999 },
    state_file: "/var/lib/vpnv4-agent/state.json",
  }).describe("Tenant VRF/table/RD/RT allocation."),
  tenants: z.strictObject({
    sources: z.array(sourceSchema).default([])
      .describe("Where tenants come from (at least one unless only expose is used)."),
    policy: policy.default({
      allowed: ["0.0.0.0/0", "::/0"],
      deny: [],
      max_prefixes_per_tenant: 10000,
    })
      .describe("Which prefixes may be exported."),
  }).default({
    sources: [],
    policy: { allowed: ["0.0.0.0/0", "::/0"], deny: [], max_prefixes_per_tenant: 10000 },
  }).describe("Tenant discovery and prefix policy."),
  expose: exposeSection.default(EXPOSE_DEFAULTS)
    .describe("Chassis-local host-route exposure (upstream ovn-bgp-agent parity)."),
  frr: z.strictObject({
    vtysh: z.string().min(1).default("/usr/bin/vtysh").describe("Path of vtysh."),
    pathspace: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional()
      .describe("FRR pathspace (vtysh -N)."),
    mode: z.enum(["incremental", "full"]).default("incremental")
      .describe("incremental: send only changed blocks; full: re-send every agent block."),
    timeout_ms: z.number().int().min(100).max(600000).default(30000)
      .describe("A vtysh call taking longer is killed and reported."),
  }).default({ vtysh: "/usr/bin/vtysh", mode: "incremental", timeout_ms: 30000 })
    .describe("How FRR is driven."),
  kernel: z.strictObject({
    vrf_mode: z.enum(["device", "table"]).default("device")
      .describe("device: create VRF devices; table: only route tables (no VRF support)."),
    mpls: z.enum(["require", "auto", "off"]).default("auto")
      .describe("require: fail without MPLS; auto: warn and continue; off: do not check."),
    route_protocol: z.number().int().min(5).max(255).refine((p) => p !== 186 && p !== 11, {
      message: "must not be bgp (186) or zebra (11)",
    }).default(245).describe("rtm_protocol marking the agent's own routes."),
  }).default({ vrf_mode: "device", mpls: "auto", route_protocol: 245 })
    .describe("Kernel programming."),
  import: z.strictObject({
    enabled: z.boolean().default(false)
      .describe("Write routes learned from the VPN into OVN NB (return path)."),
    connection: ovnRemote.optional()
      .describe("OVN NB remotes; default: the connection of the first ovn tenant source."),
    tls: tlsFiles.optional().describe("Client TLS files for ssl: remotes."),
    router: z.string().min(1).max(255).default("ovn_cluster_router")
      .describe("Logical_Router that gets the static routes."),
    route_tables: z.record(z.string(), z.string().min(1).max(255)).default({})
      .describe("Per-tenant Logical_Router_Static_Route route_table (tenant name → table)."),
    nexthop_v4: ipv4.optional().describe("Nexthop of imported IPv4 routes (required for IPv4)."),
    nexthop_v6: ipAddress.optional().describe("Nexthop of imported IPv6 routes."),
    protocols: z.array(z.number().int().min(1).max(255)).min(1).default([186])
      .describe("rtm_protocol values that mark routes imported from the VPN (186 = bgp)."),
  }).default({ enabled: false, router: "ovn_cluster_router", route_tables: {}, protocols: [186] })
    .describe("Return path: VPN routes → OVN Logical_Router_Static_Route."),
  reconcile: z.strictObject({
    interval_s: z.number().int().min(5).max(86400).default(300)
      .describe("Full resync of every plane (repairs drift), seconds."),
    debounce_ms: z.number().int().min(0).max(60000).default(250)
      .describe("Quiet time after a source change before reconciling."),
    frr_check_s: z.number().int().min(1).max(3600).default(5)
      .describe("How often FRR is checked for lost agent configuration (restart), seconds."),
    max_backoff_s: z.number().int().min(1).max(3600).default(60)
      .describe("Upper bound of the retry backoff after a failed plane or tenant."),
  }).default({ interval_s: 300, debounce_ms: 250, frr_check_s: 5, max_backoff_s: 60 })
    .describe("The reconcile loop."),
  http: z.strictObject({
    listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):[0-9]{1,5}$/, {
      message: "must be HOST:PORT (IPv6 in brackets)",
    }).default("127.0.0.1:9183").describe("Health, status and metrics listener."),
  }).default({ listen: "127.0.0.1:9183" }).describe("HTTP server."),
  log: z.strictObject({
    level: z.enum(["trace", "debug", "info", "warning", "error", "fatal"]).default("info")
      .describe("Lowest level logged."),
    format: z.enum(["text", "json"]).default("text").describe("text or json lines."),
  }).default({ level: "info", format: "text" }).describe("Logging."),
}).superRefine((cfg, ctx) => {
  if (cfg.tenants.sources.length === 0 && !cfg.expose.enabled) {
    ctx.addIssue({
      code: "custom",
      path: ["tenants", "sources"],
      message: "at least one tenant source is required unless expose.enabled is true",
    });
  }
  const seen = new Set<string>();
  cfg.bgp.peers.forEach((p, i) => {
    if (seen.has(p.address)) {
      ctx.addIssue({
        code: "custom",
        path: ["bgp", "peers", i, "address"],
        message: `duplicate peer ${p.address}`,
      });
    }
    seen.add(p.address);
  });
});

/** The validated configuration. */
export type Config = z.output<typeof configSchema>;
/** A configured BGP peer. */
export type PeerConfig = Config["bgp"]["peers"][number];
/** A configured tenant source. */
export type SourceConfig = z.output<typeof sourceSchema>;
/** The `type: ovn` tenant source. */
export type OvnSourceConfig = Extract<SourceConfig, { type: "ovn" }>;
/** The `type: file` tenant source. */
export type FileSourceConfig = Extract<SourceConfig, { type: "file" }>;
/** The `expose` section. */
export type ExposeConfig = Config["expose"];
/** Prefix policy. */
export type PolicyConfig = Config["tenants"]["policy"];
