/**
 * Network primitives: IP addresses and prefixes.
 * @module
 */
export * from "./ip.ts";
