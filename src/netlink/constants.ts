/**
 * rtnetlink constants from linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
 * linux/if_addr.h, linux/fib_rules.h and linux/lwtunnel.h.
 * @module
 */

/** Netlink protocol number of rtnetlink (`NETLINK_ROUTE`). */
export const NETLINK_ROUTE = 0;

/** Control message types (`NLMSG_*`). */
export const NLMSG_NOOP = 1;
/** Error or ACK message. */
export const NLMSG_ERROR = 2;
/** End of a multipart dump. */
export const NLMSG_DONE = 3;
/** Data lost (overrun). */
export const NLMSG_OVERRUN = 4;

/** Header flags (`NLM_F_*`). */
export const NLM_F_REQUEST = 0x01;
/** Part of a multipart message. */
export const NLM_F_MULTI = 0x02;
/** Ask for an ACK. */
export const NLM_F_ACK = 0x04;
/** Dump was inconsistent because of a sequence change. */
export const NLM_F_DUMP_INTR = 0x10;
/** Dump was filtered as requested (strict checking). */
export const NLM_F_DUMP_FILTERED = 0x20;
/** Return the complete table (GET). */
export const NLM_F_ROOT = 0x100;
/** Return all matching (GET). */
export const NLM_F_MATCH = 0x200;
/** `NLM_F_ROOT | NLM_F_MATCH`. */
export const NLM_F_DUMP = 0x300;
/** Override existing (NEW). */
export const NLM_F_REPLACE = 0x100;
/** Do not touch if it exists (NEW). */
export const NLM_F_EXCL = 0x200;
/** Create if it does not exist (NEW). */
export const NLM_F_CREATE = 0x400;
/** Add to end of list (NEW). */
export const NLM_F_APPEND = 0x800;
/** ACK flag: request was capped. */
export const NLM_F_CAPPED = 0x100;
/** ACK flag: extended ACK TLVs were included. */
export const NLM_F_ACK_TLVS = 0x200;

/** Extended ACK attributes (`NLMSGERR_ATTR_*`). */
export const NLMSGERR_ATTR_MSG = 1;
/** Offset of the offending attribute. */
export const NLMSGERR_ATTR_OFFS = 2;
/** Cookie. */
export const NLMSGERR_ATTR_COOKIE = 3;
/** Policy. */
export const NLMSGERR_ATTR_POLICY = 4;
/** Missing attribute type. */
export const NLMSGERR_ATTR_MISS_TYPE = 5;
/** Missing attribute nest offset. */
export const NLMSGERR_ATTR_MISS_NEST = 6;

/** Socket options at `SOL_NETLINK` level. */
export const SOL_NETLINK = 270;
/** Join a multicast group. */
export const NETLINK_ADD_MEMBERSHIP = 1;
/** Leave a multicast group. */
export const NETLINK_DROP_MEMBERSHIP = 2;
/** Do not report ENOBUFS. */
export const NETLINK_NO_ENOBUFS = 5;
/** Cap ACKs (no copy of the request in the ACK). */
export const NETLINK_CAP_ACK = 10;
/** Extended ACK reporting. */
export const NETLINK_EXT_ACK = 11;
/** Strict checking of dump requests (kernel filtering). */
export const NETLINK_GET_STRICT_CHK = 12;

/** rtnetlink message types. */
export const RTM_NEWLINK = 16;
/** Delete a link. */
export const RTM_DELLINK = 17;
/** Get or dump links. */
export const RTM_GETLINK = 18;
/** Add an address. */
export const RTM_NEWADDR = 20;
/** Delete an address. */
export const RTM_DELADDR = 21;
/** Get or dump addresses. */
export const RTM_GETADDR = 22;
/** Add a route. */
export const RTM_NEWROUTE = 24;
/** Delete a route. */
export const RTM_DELROUTE = 25;
/** Get or dump routes. */
export const RTM_GETROUTE = 26;
/** Add a FIB rule. */
export const RTM_NEWRULE = 32;
/** Delete a FIB rule. */
export const RTM_DELRULE = 33;
/** Dump FIB rules. */
export const RTM_GETRULE = 34;

/** rtnetlink multicast groups (1-based numbers, for NETLINK_ADD_MEMBERSHIP). */
export const RTNLGRP_LINK = 1;
/** IPv4 address group. */
export const RTNLGRP_IPV4_IFADDR = 5;
/** IPv4 route group. */
export const RTNLGRP_IPV4_ROUTE = 7;
/** IPv4 rule group. */
export const RTNLGRP_IPV4_RULE = 8;
/** IPv6 address group. */
export const RTNLGRP_IPV6_IFADDR = 9;
/** IPv6 route group. */
export const RTNLGRP_IPV6_ROUTE = 11;
/** MPLS route group. */
export const RTNLGRP_MPLS_ROUTE = 27;

/** Address families. */
export const AF_UNSPEC = 0;
/** IPv4. */
export const AF_INET = 2;
/** IPv6. */
export const AF_INET6 = 10;
/** MPLS. */
export const AF_MPLS = 28;

/** Route types (`RTN_*`). */
export const RTN_UNSPEC = 0;
/** Gateway or direct route. */
export const RTN_UNICAST = 1;
/** Local interface route. */
export const RTN_LOCAL = 2;
/** Broadcast route. */
export const RTN_BROADCAST = 3;
/** Anycast route. */
export const RTN_ANYCAST = 4;
/** Multicast route. */
export const RTN_MULTICAST = 5;
/** Drop silently. */
export const RTN_BLACKHOLE = 6;
/** Destination unreachable. */
export const RTN_UNREACHABLE = 7;
/** Administratively prohibited. */
export const RTN_PROHIBIT = 8;

/** Route protocols (`RTPROT_*`). */
export const RTPROT_UNSPEC = 0;
/** Installed by the kernel (redirects). */
export const RTPROT_REDIRECT = 1;
/** Installed by the kernel. */
export const RTPROT_KERNEL = 2;
/** Installed during boot (iproute2 default). */
export const RTPROT_BOOT = 3;
/** Installed by the administrator. */
export const RTPROT_STATIC = 4;
/** FRR zebra. */
export const RTPROT_ZEBRA = 11;
/** FRR BGP. */
export const RTPROT_BGP = 186;
/** Default protocol of this agent (unassigned in /etc/iproute2/rt_protos). */
export const RTPROT_VPNV4_AGENT = 245;

/** Route scopes (`RT_SCOPE_*`). */
export const RT_SCOPE_UNIVERSE = 0;
/** Link scope. */
export const RT_SCOPE_LINK = 253;
/** Host scope. */
export const RT_SCOPE_HOST = 254;
/** Nowhere (used by deletes). */
export const RT_SCOPE_NOWHERE = 255;

/** Route tables. */
export const RT_TABLE_UNSPEC = 0;
/** The main table. */
export const RT_TABLE_MAIN = 254;
/** The local table. */
export const RT_TABLE_LOCAL = 255;

/** Route attributes (`RTA_*`). */
export const RTA_DST = 1;
/** Source prefix. */
export const RTA_SRC = 2;
/** Input interface. */
export const RTA_IIF = 3;
/** Output interface. */
export const RTA_OIF = 4;
/** Gateway. */
export const RTA_GATEWAY = 5;
/** Metric / priority. */
export const RTA_PRIORITY = 6;
/** Preferred source. */
export const RTA_PREFSRC = 7;
/** Metrics (nested). */
export const RTA_METRICS = 8;
/** Multipath next hops. */
export const RTA_MULTIPATH = 9;
/** Cache info. */
export const RTA_CACHEINFO = 12;
/** Table id (u32). */
export const RTA_TABLE = 15;
/** Firewall mark. */
export const RTA_MARK = 16;
/** MPLS labels to set (AF_MPLS routes). */
export const RTA_NEWDST = 19;
/** Preference (IPv6). */
export const RTA_PREF = 20;
/** Encapsulation type (u16). */
export const RTA_ENCAP_TYPE = 21;
/** Encapsulation (nested). */
export const RTA_ENCAP = 22;
/** Route expiry. */
export const RTA_EXPIRES = 23;
/** Gateway of another family: struct rtvia. */
export const RTA_VIA = 18;
/** Next-hop id. */
export const RTA_NH_ID = 30;

/** Lightweight tunnel encapsulation types. */
export const LWTUNNEL_ENCAP_MPLS = 1;
/** MPLS iptunnel attribute: label stack. */
export const MPLS_IPTUNNEL_DST = 1;
/** MPLS iptunnel attribute: TTL. */
export const MPLS_IPTUNNEL_TTL = 2;

/** Link attributes (`IFLA_*`). */
export const IFLA_ADDRESS = 1;
/** Broadcast address. */
export const IFLA_BROADCAST = 2;
/** Interface name. */
export const IFLA_IFNAME = 3;
/** MTU. */
export const IFLA_MTU = 4;
/** Link (lower device). */
export const IFLA_LINK = 5;
/** Operational state. */
export const IFLA_OPERSTATE = 16;
/** Master device index. */
export const IFLA_MASTER = 10;
/** Link info (nested). */
export const IFLA_LINKINFO = 18;
/** Network namespace by pid. */
export const IFLA_NET_NS_PID = 19;
/** Network namespace by fd. */
export const IFLA_NET_NS_FD = 28;
/** Nested link info: kind. */
export const IFLA_INFO_KIND = 1;
/** Nested link info: kind-specific data. */
export const IFLA_INFO_DATA = 2;
/** VRF data: table id. */
export const IFLA_VRF_TABLE = 1;
/** veth data: peer (struct ifinfomsg + attrs). */
export const VETH_INFO_PEER = 1;

/** Interface flags. */
export const IFF_UP = 0x1;
/** Running. */
export const IFF_RUNNING = 0x40;
/** Loopback. */
export const IFF_LOOPBACK = 0x8;

/** Address attributes (`IFA_*`). */
export const IFA_ADDRESS = 1;
/** Local address. */
export const IFA_LOCAL = 2;
/** Label. */
export const IFA_LABEL = 3;
/** Flags (u32). */
export const IFA_FLAGS = 8;

/** FIB rule attributes (`FRA_*`). */
export const FRA_DST = 1;
/** Source. */
export const FRA_SRC = 2;
/** Input interface name. */
export const FRA_IIFNAME = 3;
/** Goto target. */
export const FRA_GOTO = 4;
/** Priority. */
export const FRA_PRIORITY = 6;
/** Mark. */
export const FRA_FWMARK = 10;
/** Table id (u32). */
export const FRA_TABLE = 15;
/** Output interface name. */
export const FRA_OIFNAME = 17;
/** Rule protocol. */
export const FRA_PROTOCOL = 21;
/** l3mdev lookup (u8). */
export const FRA_L3MDEV = 19;

/** FIB rule actions. */
export const FR_ACT_TO_TBL = 1;
/** Unreachable action. */
export const FR_ACT_UNREACHABLE = 7;

/** Size of struct nlmsghdr. */
export const NLMSG_HDRLEN = 16;
/** Size of struct rtmsg. */
export const RTMSG_LEN = 12;
/** Size of struct ifinfomsg. */
export const IFINFOMSG_LEN = 16;
/** Size of struct ifaddrmsg. */
export const IFADDRMSG_LEN = 8;
/** Size of struct fib_rule_hdr. */
export const FIB_RULE_HDR_LEN = 12;

/** Rounds up to the 4-byte netlink alignment. */
export function nlAlign(n: number): number {
  return (n + 3) & ~3;
}
