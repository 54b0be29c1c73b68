/**
 * Upstream ovn-bgp-agent INI → `vpnv4-agent.yaml`. Every option in the file is either mapped,
 * or named in a warning (no equivalent, no effect) or an error (no equivalent and ignoring it
 * would expose more than upstream did, or an unsupported driver / exposing method).
 *
 * Decisions (also in the README, "Migrating from ovn-bgp-agent"):
 * - driver ovn_bgp_driver → expose.binding_source sb; nb_ovn_bgp_driver → nb; the EVPN and
 *   stretched-L2 drivers are errors.
 * - exposing_method underlay → expose.method table (routes in bgp_vrf's table, no dummy device
 *   needed; a note says `dummy` keeps upstream's addresses-on-bgp_nic); every other method is
 *   an error.
 * - reconcile_interval outside 5..86400 s is clamped with a warning (upstream accepted it;
 *   a resync more often than every 5 s only burns CPU).
 * - BGP neighbors live in frr.conf upstream: bgp.peers is empty and the agent leaves the
 *   operator's neighbors alone (a note says so).
 * - bgp_router_id is required (this agent writes `bgp router-id`); `routerId` can supply it.
 * - Options upstream leaves at a default are converted with upstream's default, so the
 *   converted agent behaves like the upstream one (ovsdb_connection, TLS files).
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { ASN_MAX, type Config, configSchema } from "../config/mod.ts";
import { type IniDocument, type IniEntry, IniSyntaxError, parseIni } from "./ini.ts";
import {
  EXPOSING_METHODS,
  findOption,
  KNOWN_SECTIONS,
  osloLogOption,
  UPSTREAM_DRIVERS,
  UPSTREAM_OPTIONS,
  type UpstreamOption,
} from "./options.ts";
import { UpstreamConfigError, type UpstreamIssue, type UpstreamSeverity } from "./issues.ts";

/** Options of {@link convertUpstream}. */
export interface ConvertOptions {
  /** File name used in messages; also the base of relative TLS paths. */
  file: string;
  /** BGP router id to use when the INI has no bgp_router_id (or to override it). */
  routerId?: string;
}

/** The result of a conversion. */
export interface Conversion {
  /** The converted configuration as it should be written (schema defaults left out). */
  document: Record<string, unknown>;
  /** The same, validated by the configuration schema (defaults filled in). */
  config: Config;
  /** Warnings and notes, in file order (notes without a line last). */
  findings: UpstreamIssue[];
}

const RECONCILE_MIN = 5;
const RECONCILE_MAX = 86400;
const FRR_CHECK_MIN = 1;
const FRR_CHECK_MAX = 3600;
const TRUE_VALUES = new Set(["true", "1", "on", "yes"]);
const FALSE_VALUES = new Set(["false", "0", "off", "no"]);

interface Found {
  entry: IniEntry;
  /** `section.key` where the value was found. */
  key: string;
}

/** Reads typed options, tracks which entries were used and collects findings. */
class Reader {
  readonly findings: UpstreamIssue[] = [];
  readonly used = new Set<IniEntry>();
  /** Converted-config path → the INI option it came from. */
  readonly origins = new Map<string, Found>();

  constructor(readonly doc: IniDocument) {}

  add(severity: UpstreamSeverity, at: Found | string | undefined, message: string): void {
    const file = this.doc.file;
    if (at === undefined || typeof at === "string") {
      this.findings.push({ severity, file, key: at, message });
    } else {
      this.findings.push({ severity, file, line: at.entry.line, key: at.key, message });
    }
  }

  /** The entry of an option, from its group or (with a warning) a deprecated group. */
  find(option: UpstreamOption): Found | undefined {
    const current = this.doc.sections.get(option.section)?.get(option.name);
    const found = current ? { entry: current, key: `${option.section}.${option.name}` } : undefined;
    for (const old of option.deprecatedSections ?? []) {
      const entry = this.doc.sections.get(old)?.get(option.name);
      if (!entry) continue;
      const at = { entry, key: `${old}.${option.name}` };
      this.used.add(entry);
      this.add(
        "warning",
        at,
        found
          ? `deprecated location, ignored: [${option.section}] ${option.name} (line ${found.entry.line}) takes precedence`
          : `deprecated location: read as [${option.section}] ${option.name}`,
      );
      if (!found) {
        this.used.add(entry);
        return at;
      }
    }
    if (found) this.used.add(found.entry);
    return found;
  }

  option(name: string, section = "DEFAULT"): UpstreamOption {
    const o = UPSTREAM_OPTIONS.find((x) => x.name === name && x.section === section);
    if (!o) throw new Error(`internal: no upstream option ${section}.${name}`);
    return o;
  }

  /** A string option: its value (or upstream's default) and where it came from. */
  str(name: string, section = "DEFAULT"): { value?: string; at?: Found } {
    const opt = this.option(name, section);
    const at = this.find(opt);
    return { value: at ? at.entry.value : opt.default, at };
  }

  int(name: string, section = "DEFAULT"): { value?: number; at?: Found } {
    const { value, at } = this.str(name, section);
    if (value === undefined) return { at };
    if (!/^[+-]?[0-9]+$/.test(value.trim())) {
      this.add("error", at, `must be an integer, got ${JSON.stringify(value)}`);
      return { at };
    }
    return { value: Number(value.trim()), at };
  }

  bool(name: string, section = "DEFAULT"): { value: boolean; at?: Found } {
    const { value, at } = this.str(name, section);
    const v = (value ?? "false").trim().toLowerCase();
    if (TRUE_VALUES.has(v)) return { value: true, at };
    if (FALSE_VALUES.has(v)) return { value: false, at };
    this.add("error", at, `must be a boolean (True/False), got ${JSON.stringify(value)}`);
    return { value: false, at };
  }

  list(name: string, section = "DEFAULT"): { value: string[]; at?: Found } {
    const { value, at } = this.str(name, section);
    const items = (value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    return { value: items, at };
  }

  /** Records that a converted-config path came from `at`. */
  origin(path: string, at: Found | undefined): void {
    if (at) this.origins.set(path, at);
  }
}

function parseAsn(text: string): number | undefined {
  const t = text.trim();
  if (/^[0-9]+$/.test(t)) return Number(t);
  const dot = /^([0-9]+)\.([0-9]+)$/.exec(t); // asdot
  if (dot && Number(dot[1]) <= 65535 && Number(dot[2]) <= 65535) {
    return Number(dot[1]) * 65536 + Number(dot[2]);
  }
  return undefined;
}

function clamp(
  r: Reader,
  what: { value: number; at?: Found; min: number; max: number; target: string },
): number {
  const { value, at, min, max, target } = what;
  if (value >= min && value <= max) return value;
  const to = value < min ? min : max;
  r.add(
    "warning",
    at,
    `${value} s is outside ${min}..${max} s (${target}); clamped to ${to} s`,
  );
  return to;
}

function mapDriver(r: Reader): "sb" | "nb" | undefined {
  const { value, at } = r.str("driver");
  const name = (value ?? "").trim();
  const known = Object.keys(UPSTREAM_DRIVERS);
  if (!Object.hasOwn(UPSTREAM_DRIVERS, name)) {
    r.add(
      "error",
      at,
      `unknown driver ${JSON.stringify(name)} (upstream drivers: ${known.join(", ")}; ` +
        "this agent converts ovn_bgp_driver and nb_ovn_bgp_driver)",
    );
    return undefined;
  }
  const d = UPSTREAM_DRIVERS[name as keyof typeof UPSTREAM_DRIVERS];
  if ("unsupported" in d) {
    r.add("error", at, `unsupported driver ${name}: ${d.unsupported}`);
    return undefined;
  }
  r.origin("expose.binding_source", at);
  return d.binding;
}

function mapExposingMethod(r: Reader, nic: string): "table" | undefined {
  const { value, at } = r.str("exposing_method");
  const name = (value ?? "underlay").trim();
  if (!Object.hasOwn(EXPOSING_METHODS, name)) {
    r.add(
      "error",
      at,
      `unknown exposing_method ${JSON.stringify(name)} (upstream: ${
        Object.keys(EXPOSING_METHODS).join(", ")
      })`,
    );
    return undefined;
  }
  const why = EXPOSING_METHODS[name];
  if (why) {
    r.add("error", at, `unsupported exposing_method ${name}: ${why}; only underlay converts`);
    return undefined;
  }
  r.origin("expose.method", at);
  r.add(
    "note",
    at ?? "DEFAULT.exposing_method",
    `underlay → expose.method table: host routes go into the VRF's route table instead of ` +
      `addresses on ${nic} (same prefixes advertised, no dummy device needed); ` +
      `set expose.method: dummy to keep upstream's addresses-on-${nic} mechanism`,
  );
  return "table";
}

function mapAsn(r: Reader): number | undefined {
  const { value, at } = r.str("bgp_AS");
  const asn = parseAsn(value ?? "");
  if (asn === undefined || asn < 1 || asn > ASN_MAX) {
    r.add("error", at ?? "DEFAULT.bgp_AS", `must be an AS number 1..${ASN_MAX}, got ${value}`);
    return undefined;
  }
  r.origin("bgp.asn", at);
  return asn;
}

function mapRouterId(r: Reader, override: string | undefined): string | undefined {
  const { value, at } = r.str("bgp_router_id");
  const fromIni = value?.trim() || undefined;
  if (override !== undefined) {
    if (fromIni && fromIni !== override) {
      r.add("warning", at, `${fromIni} is overridden by --router-id ${override}`);
    }
    return override;
  }
  if (!fromIni) {
    r.add(
      "error",
      at ?? "DEFAULT.bgp_router_id",
      "not set: upstream lets FRR choose the router id, but this agent writes " +
        "`bgp router-id` itself; add bgp_router_id = <this node's IPv4 router id, as in " +
        "frr.conf> to the INI or pass --router-id",
    );
    return undefined;
  }
  r.origin("bgp.router_id", at);
  return fromIni;
}

function mapTenantSelection(r: Reader): boolean {
  const tenant = r.bool("expose_tenant_networks");
  r.origin("expose.select.tenant_networks", tenant.at);
  const gua = r.bool("expose_ipv6_gua_tenant_networks");
  if (gua.value && tenant.value) {
    r.add("warning", gua.at, "no effect: expose_tenant_networks takes precedence (as upstream)");
  } else if (gua.value) {
    r.add(
      "warning",
      gua.at,
      "no equivalent: this agent cannot limit tenant-network exposure to IPv6 GUA addresses, " +
        "so tenant networks are NOT exposed; to expose every tenant IP set " +
        "expose.select.tenant_networks: true (expose.allowed can narrow the prefixes)",
    );
  }
  const method = r.str("advertisement_method_tenant_networks");
  const m = (method.value ?? "host").trim();
  if (m !== "host" && m !== "subnet") {
    r.add("error", method.at, `must be host or subnet, got ${JSON.stringify(m)}`);
  } else if (m === "subnet") {
    r.add(
      "warning",
      method.at,
      tenant.value
        ? "no equivalent: this agent cannot aggregate only tenant networks (expose.aggregate " +
          "would aggregate provider networks too); host routes (/32, /128) are advertised"
        : "no effect without expose_tenant_networks (as upstream); ignored",
    );
  }
  const snat = r.bool("require_snat_disabled_for_tenant_networks");
  if (snat.value) {
    if (tenant.value) {
      r.add(
        "error",
        snat.at,
        "no equivalent: this agent cannot check the routers' SNAT setting and would expose " +
          "tenant networks behind SNAT routers too; set it to False or disable " +
          "expose_tenant_networks",
      );
    } else {
      r.add("warning", snat.at, "no effect without expose_tenant_networks (as upstream); ignored");
    }
  }
  const scopes = r.list("address_scopes");
  if (scopes.value.length > 0) {
    if (tenant.value) {
      r.add(
        "error",
        scopes.at,
        "no equivalent: this agent cannot filter by Neutron address scope and would expose " +
          "tenant networks of every scope; remove address_scopes (expose.allowed limits by " +
          "prefix) or disable expose_tenant_networks",
      );
    } else {
      r.add(
        "warning",
        scopes.at,
        "no effect: it filters tenant networks, which are not exposed; ignored",
      );
    }
  }
  return tenant.value;
}

interface DbSettings {
  connection?: string;
  tls?: { key: string; cert: string; ca: string };
}

function mapDb(r: Reader, db: "sb" | "nb", required: boolean, driver: string): DbSettings {
  const prefix = `ovn_${db}`;
  const conn = r.str(`${prefix}_connection`, "ovn");
  // A remote list continued over several lines reads as one comma-separated list.
  const connection = conn.value?.split(",").map((c) => c.trim()).join(",") || undefined;
  if (connection) r.origin(`expose.${db}_connection`, conn.at);
  if (!connection && required) {
    r.add(
      "error",
      conn.at ?? `ovn.${prefix}_connection`,
      `required by driver ${driver} (the OVN ${db === "sb" ? "Southbound" : "Northbound"} ` +
        "database the port bindings are read from)",
    );
  }
  const files = (["private_key", "certificate", "ca_cert"] as const).map((suffix) => {
    const opt = r.option(`${prefix}_${suffix}`, "ovn");
    const at = r.find(opt);
    return { opt, at, value: at ? at.entry.value.trim() : opt.default! };
  });
  const ssl = connection?.split(",").some((c) => c.trim().startsWith("ssl:")) ?? false;
  if (!ssl) {
    for (const f of files) {
      if (f.at) {
        r.add(
          "warning",
          f.at,
          `unused: ${prefix}_connection is not an ssl: remote (as upstream); ignored`,
        );
      }
    }
    return { connection };
  }
  const base = dirname(resolve(r.doc.file));
  const [key, cert, ca] = files.map((f, i) => {
    const target = `expose.${db}_tls.${["key", "cert", "ca"][i]}`;
    r.origin(target, f.at);
    if (!f.at) {
      r.add(
        "note",
        `ovn.${f.opt.name}`,
        `not set: using upstream's default ${f.value} for the ssl: connection`,
      );
    }
    if (isAbsolute(f.value) || f.value === "") return f.value;
    const abs = join(base, f.value);
    r.add(
      "warning",
      f.at,
      `relative path (oslo.config reads it from the agent's working directory); ` +
        `converted to ${abs}`,
    );
    return abs;
  });
  return { connection, tls: { key, cert, ca } };
}

function mapLogging(r: Reader): Record<string, string> | undefined {
  const debug = r.bool("debug");
  const json = r.bool("use_json");
  const out: Record<string, string> = {};
  if (debug.value) out.level = "debug";
  if (json.value) out.format = "json";
  r.origin("log.level", debug.at);
  r.origin("log.format", json.at);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Warns about every entry the mapping did not read. */
function reportLeftovers(r: Reader): void {
  for (const [section, entries] of r.doc.sections) {
    for (const entry of entries.values()) {
      if (r.used.has(entry)) continue;
      const at = { entry, key: `${section}.${entry.key}` };
      const opt = findOption(section, entry.key);
      const log = osloLogOption(section, entry.key);
      if (opt && opt.fate !== "mapped") {
        r.add("warning", at, `no equivalent in vpnv4-agent (${opt.fate.ignored}); ignored`);
      } else if (log) {
        r.add("warning", at, `no equivalent in vpnv4-agent (${log}); ignored`);
      } else if (!KNOWN_SECTIONS.has(section)) {
        r.add(
          "warning",
          at,
          `section [${section}] has no equivalent in vpnv4-agent; ignored`,
        );
      } else {
        const elsewhere = UPSTREAM_OPTIONS.find((o) => o.name === entry.key);
        r.add(
          "warning",
          at,
          elsewhere
            ? `not an option of [${section}] (it belongs in [${elsewhere.section}]); ignored`
            : "not an ovn-bgp-agent option (misspelt?); ignored",
        );
      }
    }
  }
  for (const entries of r.doc.sections.values()) {
    for (const entry of entries.values()) {
      const at = { entry, key: `${entry.section}.${entry.key}` };
      if (entry.overridden.length > 0) {
        r.add(
          "warning",
          at,
          `also set on line ${
            entry.overridden.map((o) => o.line).join(", ")
          }; the last value wins (as in oslo.config)`,
        );
      }
      if (entry.inlineComment !== undefined) {
        r.add(
          "warning",
          at,
          `inline comment ${JSON.stringify(entry.inlineComment)} removed from the value ` +
            "(oslo.config keeps it as part of the value; move it to its own line)",
        );
      }
    }
  }
}

function locateSchemaIssue(r: Reader, path: readonly PropertyKey[]): Found | string {
  const parts = path.map(String);
  for (let n = parts.length; n > 0; n--) {
    const at = r.origins.get(parts.slice(0, n).join("."));
    if (at) return at;
  }
  return parts.join(".") || "(root)";
}

function sortFindings(list: UpstreamIssue[]): UpstreamIssue[] {
  return list
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.line ?? Infinity) - (b.f.line ?? Infinity) || a.i - b.i)
    .map(({ f }) => f);
}

/** Reads the INI text; throws {@link UpstreamConfigError} on syntax errors. */
function readIni(text: string, file: string): IniDocument {
  try {
    return parseIni(text, { file });
  } catch (e) {
    if (!(e instanceof IniSyntaxError)) throw e;
    throw new UpstreamConfigError(file, [{
      severity: "error",
      file,
      line: e.line,
      message: `${e.reason}: ${JSON.stringify(e.text)}`,
    }], { cause: e });
  }
}

/**
 * Converts upstream ovn-bgp-agent INI text. Throws {@link UpstreamConfigError} listing every
 * error (with warnings left out) when the file cannot be converted faithfully.
 */
export function convertUpstream(text: string, options: ConvertOptions): Conversion {
  const r = new Reader(readIni(text, options.file));
  const binding = mapDriver(r);
  const driver = r.str("driver").value?.trim() ?? "ovn_bgp_driver";
  const asn = mapAsn(r);
  const routerId = mapRouterId(r, options.routerId);
  const nic = r.str("bgp_nic");
  const vrf = r.str("bgp_vrf");
  const table = r.int("bgp_vrf_table_id");
  const method = mapExposingMethod(r, nic.value ?? "bgp-nic");
  const tenantNetworks = mapTenantSelection(r);
  const ovs = r.str("ovsdb_connection");
  if (!ovs.at) {
    r.add(
      "note",
      "DEFAULT.ovsdb_connection",
      `not set: using upstream's default ${ovs.value} (this agent's default is ` +
        "unix:/run/openvswitch/db.sock)",
    );
  }
  const sb = mapDb(r, "sb", binding === "sb", driver);
  const nb = mapDb(r, "nb", binding === "nb", driver);

  const interval = r.int("reconcile_interval");
  const frrCheck = r.int("frr_reconcile_interval");
  const reconcile: Record<string, number> = {};
  if (interval.value !== undefined) {
    reconcile.interval_s = clamp(r, {
      value: interval.value,
      at: interval.at,
      min: RECONCILE_MIN,
      max: RECONCILE_MAX,
      target: "reconcile.interval_s",
    });
    r.origin("reconcile.interval_s", interval.at);
  }
  if (frrCheck.at && frrCheck.value !== undefined) {
    reconcile.frr_check_s = clamp(r, {
      value: frrCheck.value,
      at: frrCheck.at,
      min: FRR_CHECK_MIN,
      max: FRR_CHECK_MAX,
      target: "reconcile.frr_check_s",
    });
    r.origin("reconcile.frr_check_s", frrCheck.at);
  }
  const log = mapLogging(r);
  r.origin("expose.nic", nic.at);
  r.origin("expose.vrf", vrf.at);
  r.origin("expose.table", table.at);
  r.origin("expose.chassis.ovs_connection", ovs.at);
  r.add(
    "note",
    undefined,
    "BGP neighbors stay in frr.conf (upstream configures none in its INI): bgp.peers is " +
      "empty, so the agent leaves those neighbors to the operator; it does write " +
      "`bgp router-id` under `router bgp` (keep it equal to frr.conf's)",
  );
  reportLeftovers(r);

  const errors = r.findings.filter((f) => f.severity === "error");
  if (errors.length > 0) throw new UpstreamConfigError(options.file, sortFindings(errors));

  const expose: Record<string, unknown> = {
    enabled: true,
    binding_source: binding,
    chassis: { ovs_connection: ovs.value },
    ...(sb.connection ? { sb_connection: sb.connection } : {}),
    ...(sb.tls ? { sb_tls: sb.tls } : {}),
    ...(nb.connection ? { nb_connection: nb.connection } : {}),
    ...(nb.tls ? { nb_tls: nb.tls } : {}),
    method,
    vrf: vrf.value,
    table: table.value,
    nic: nic.value,
    select: {
      provider_networks: true,
      floating_ips: true,
      gateway_ports: true,
      tenant_networks: tenantNetworks,
    },
  };
  const document: Record<string, unknown> = {
    bgp: { asn, router_id: routerId, peers: [] },
    expose,
    ...(Object.keys(reconcile).length > 0 ? { reconcile } : {}),
    ...(log ? { log } : {}),
  };
  const parsed = configSchema.safeParse(document);
  if (!parsed.success) {
    throw new UpstreamConfigError(
      options.file,
      sortFindings(parsed.error.issues.map((issue) => {
        const at = locateSchemaIssue(r, issue.path);
        const target = issue.path.map(String).join(".");
        const message = typeof at === "string" ? issue.message : `${issue.message} (${target})`;
        return typeof at === "string"
          ? { severity: "error" as const, file: options.file, key: at, message }
          : {
            severity: "error" as const,
            file: options.file,
            line: at.entry.line,
            key: at.key,
            message,
          };
      })),
    );
  }
  return { document, config: parsed.data, findings: sortFindings(r.findings) };
}
