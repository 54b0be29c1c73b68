/**
 * The strict grammar of every line the FRR renderer (and the diff sent to vtysh) may emit, with
 * the values each line carries so the properties can bind them to where they belong.
 *
 * Since the shared export policy (notes/export-policy.md) the only prefix-lists and route-maps
 * are `VPNV4-EXPORT-V4` / `VPNV4-EXPORT-V6`: an IPv4 list holds IPv4 CIDRs with at most
 * `le 32`, an IPv6 list IPv6 CIDRs with at most `le 128`, and a tenant instance redistributes
 * kernel routes only through the export route-map. The only values a tenant contributes to any
 * line are its validated VRF name, RD and RT (and, when a batch migrates from an earlier version,
 * the VRF name in the names of that version's per-VRF objects it removes).
 * @module
 */

const ASN = "([1-9][0-9]{0,9})";
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const V4 = `(${OCTET}(?:\\.${OCTET}){3})`;
const V6 = "([0-9a-f:]{2,39})";
const IP = `(${V4.slice(1, -1)}|${V6.slice(1, -1)})`;
const VRF = "([A-Za-z0-9_.-]{1,15})";
const RDRT = `((?:[1-9][0-9]{0,9}|0|${OCTET}(?:\\.${OCTET}){3}):(?:[1-9][0-9]{0,9}|0))`;
const SEQ = "([1-9][0-9]{0,9})";
const LEN4 = "(3[0-2]|[12]?[0-9])";
const LEN6 = "(12[0-8]|1[01][0-9]|[1-9]?[0-9])";
/** Captures: seq, action, address, length, `le` (or undefined). */
const ENTRY4 = `ip prefix-list VPNV4-EXPORT-V4 seq ${SEQ} (deny|permit) ${V4}/${LEN4}(?: le (32))?`;
const ENTRY6 =
  `ipv6 prefix-list VPNV4-EXPORT-V6 seq ${SEQ} (deny|permit) ${V6}/${LEN6}(?: le (128))?`;

/** Line kinds and their patterns (indentation included). */
export const LINE_GRAMMAR: Readonly<Record<string, RegExp>> = {
  separator: /^!$/,
  exit: /^exit$/,
  prefixList4: new RegExp(`^${ENTRY4}$`),
  prefixList6: new RegExp(`^${ENTRY6}$`),
  noPrefixList4: new RegExp(`^no ${ENTRY4}$`),
  noPrefixList6: new RegExp(`^no ${ENTRY6}$`),
  routeMap: /^route-map VPNV4-EXPORT-V([46]) permit 10$/,
  noRouteMap: /^no route-map VPNV4-EXPORT-V([46])$/,
  // Migration: the per-VRF objects of earlier versions are removed whole, by name only.
  noLegacyRouteMap: new RegExp(`^no route-map VPNV4-${VRF}-V([46])$`),
  noLegacyPrefixList: new RegExp(`^no (?:ip|ipv6) prefix-list VPNV4-${VRF}-V([46])$`),
  match: /^ match (ip|ipv6) address prefix-list VPNV4-EXPORT-V([46])$/,
  routerBgp: new RegExp(`^router bgp ${ASN}$`),
  routerBgpVrf: new RegExp(`^router bgp ${ASN} vrf ${VRF}$`),
  noRouterBgpVrf: new RegExp(`^no router bgp ${ASN} vrf ${VRF}$`),
  routerId: new RegExp(`^ bgp router-id ${V4}$`),
  noPolicy: /^ no bgp ebgp-requires-policy$/,
  noDefault: /^ no bgp default ipv4-unicast$/,
  remoteAs: new RegExp(`^ neighbor ${IP} remote-as ${ASN}$`),
  description: new RegExp(
    `^ neighbor ${IP} description vpnv4-agent( [\\x21-\\x22\\x24-\\x7e](?:[\\x20-\\x22\\x24-\\x7e]*[\\x21-\\x22\\x24-\\x7e])?)?$`,
  ),
  password: new RegExp(`^ neighbor ${IP} password [\\x22-\\x7e]{1,80}$`),
  multihop: new RegExp(`^ neighbor ${IP} ebgp-multihop ([1-9][0-9]{0,2})$`),
  updateSource: new RegExp(`^ neighbor ${IP} update-source [A-Za-z0-9_.:-]{1,45}$`),
  timers: new RegExp(`^ neighbor ${IP} timers ([0-9]{1,5}) ([0-9]{1,5})$`),
  addressFamily: /^ address-family (ipv4|ipv6) (unicast|vpn)$/,
  activate: new RegExp(`^  neighbor ${IP} activate$`),
  redistribute: /^ {2}redistribute kernel route-map VPNV4-EXPORT-V([46])$/,
  label: /^ {2}label vpn export auto$/,
  rd: new RegExp(`^  rd vpn export ${RDRT}$`),
  rt: new RegExp(`^  rt vpn both ${RDRT}$`),
  exportVpn: /^ {2}export vpn$/,
  importVpn: /^ {2}import vpn$/,
  exitAf: /^ exit-address-family$/,
};

/** A classified line: its kind and captures (undefined for optional groups that did not match). */
export interface ClassifiedLine {
  kind: string;
  groups: (string | undefined)[];
}

/** The kind of a line and its captures, or undefined when no rule matches. */
export function classifyLine(line: string): ClassifiedLine | undefined {
  for (const [kind, re] of Object.entries(LINE_GRAMMAR)) {
    const m = re.exec(line);
    if (m) return { kind, groups: m.slice(1) };
  }
  return undefined;
}
