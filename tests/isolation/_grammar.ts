/**
 * The strict grammar of every line the FRR renderer may emit, with the values each line carries
 * so the properties can bind them to the tenant they belong to.
 * @module
 */

const ASN = "([1-9][0-9]{0,9})";
const V4 =
  "((?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})";
const V6 = "([0-9a-f:]{2,39})";
const IP = `(${V4.slice(1, -1)}|${V6.slice(1, -1)})`;
const VRF = "([A-Za-z0-9_.-]{1,15})";
const RDRT =
  "((?:[1-9][0-9]{0,9}|0|(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}):(?:[1-9][0-9]{0,9}|0))";
const SEQ = "([1-9][0-9]{0,9})";

/** Line kinds and their patterns (indentation included). */
export const LINE_GRAMMAR: Readonly<Record<string, RegExp>> = {
  separator: /^!$/,
  exit: /^exit$/,
  prefixList4: new RegExp(
    `^ip prefix-list VPNV4-${VRF}-V4 seq ${SEQ} permit ${V4}/(3[0-2]|[12]?[0-9])$`,
  ),
  prefixList6: new RegExp(
    `^ipv6 prefix-list VPNV4-${VRF}-V6 seq ${SEQ} permit ${V6}/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$`,
  ),
  routeMap: new RegExp(`^route-map VPNV4-${VRF}-V([46]) permit 10$`),
  match: new RegExp(`^ match (ip|ipv6) address prefix-list VPNV4-${VRF}-V([46])$`),
  routerBgp: new RegExp(`^router bgp ${ASN}$`),
  routerBgpVrf: new RegExp(`^router bgp ${ASN} vrf ${VRF}$`),
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
  redistribute: new RegExp(`^  redistribute kernel route-map VPNV4-${VRF}-V([46])$`),
  label: /^ {2}label vpn export auto$/,
  rd: new RegExp(`^  rd vpn export ${RDRT}$`),
  rt: new RegExp(`^  rt vpn both ${RDRT}$`),
  exportVpn: /^ {2}export vpn$/,
  importVpn: /^ {2}import vpn$/,
  exitAf: /^ exit-address-family$/,
};

/** The kind of a line and its captures, or undefined when no rule matches. */
export function classifyLine(line: string): { kind: string; groups: string[] } | undefined {
  for (const [kind, re] of Object.entries(LINE_GRAMMAR)) {
    const m = re.exec(line);
    if (m) return { kind, groups: m.slice(1) };
  }
  return undefined;
}
