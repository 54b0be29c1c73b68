/**
 * Pure rtnetlink codec (no I/O, no root): message framing, extended ACKs, attributes,
 * links, addresses, routes (IPv4/IPv6/MPLS), FIB rules and errno names.
 * @module
 */
export * from "./constants.ts";
export * from "./errno.ts";
export * from "./writer.ts";
export * from "./attrs.ts";
export * from "./message.ts";
export * from "./route.ts";
export * from "./link.ts";
export * from "./addr.ts";
export * from "./rule.ts";
