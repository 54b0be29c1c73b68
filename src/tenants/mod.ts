/**
 * Tenants: the model, the prefix policy and the tenants file.
 * @module
 */
export * from "./model.ts";
export * from "./policy.ts";
export * from "./file.ts";
export * from "./file_source.ts";
