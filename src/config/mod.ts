/**
 * Configuration: the zod schema of `vpnv4-agent.yaml` and its loader.
 * @module
 */
export * from "./schema.ts";
export * from "./load.ts";
