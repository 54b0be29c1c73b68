/**
 * The tenants file (YAML or JSON): an operator-authored list of tenants and their prefixes.
 * Unlike OVN data, a bad entry here is a configuration error with its line:column.
 */
import { z } from "zod";
import { formatPrefix, parsePrefix, tryParsePrefix } from "../net/mod.ts";
import { parseWithSchema, readConfigText } from "../config/mod.ts";
import { parseRouteDistinguisher } from "../allocate/route_distinguisher.ts";
import type { RawTenant } from "./model.ts";
import { type PrefixPolicy, prefixViolation, tenantNameViolation } from "./policy.ts";

function rdText(what: string) {
  return z.string().superRefine((s, ctx) => {
    try {
      parseRouteDistinguisher(s);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: `${what} ${(e as Error).message}` });
    }
  });
}

/** Builds the tenants file schema for a policy (prefixes are checked against it). */
export function tenantsFileSchema(policy: PrefixPolicy) {
  const prefix = z.string().superRefine((s, ctx) => {
    try {
      const p = parsePrefix(s);
      const violation = prefixViolation(p, policy);
      if (violation) ctx.addIssue({ code: "custom", message: `${s}: ${violation}` });
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  });
  const tenant = z.strictObject({
    name: z.string().superRefine((s, ctx) => {
      const problem = tenantNameViolation(s);
      if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(s)}: ${problem}` });
    }),
    prefixes: z.array(prefix).max(policy.maxPrefixesPerTenant),
    rt: rdText("route target").optional(),
    rd: rdText("route distinguisher").optional(),
  });
  return z.strictObject({ tenants: z.array(tenant) }).superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    const owner = new Map<string, string>();
    file.tenants.forEach((t, i) => {
      if (seen.has(t.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["tenants", i, "name"],
          message: `duplicate tenant ${t.name} (first at tenants[${seen.get(t.name)}])`,
        });
      } else seen.set(t.name, i);
      t.prefixes.forEach((text, j) => {
        const parsed = tryParsePrefix(text);
        if (!parsed) return; // already reported by the element check
        const key = formatPrefix(parsed);
        const first = owner.get(key);
        if (first !== undefined && first !== t.name) {
          ctx.addIssue({
            code: "custom",
            path: ["tenants", i, "prefixes", j],
            message:
              `${text} is already a prefix of tenant ${first}; a prefix belongs to one tenant`,
          });
        } else owner.set(key, t.name);
      });
    });
  });
}

/** Parses tenants file text; throws ConfigError naming each bad line. */
export function parseTenantsFile(
  text: string,
  options: { file: string; policy: PrefixPolicy },
): RawTenant[] {
  const parsed = parseWithSchema(text, tenantsFileSchema(options.policy), { file: options.file });
  return parsed.tenants.map((t) => ({
    name: t.name,
    prefixes: t.prefixes,
    ...(t.rt ? { rt: t.rt } : {}),
    ...(t.rd ? { rd: t.rd } : {}),
    origin: `file:${options.file}`,
  }));
}

/** Reads and parses a tenants file. */
export async function loadTenantsFile(
  path: string,
  options: { policy: PrefixPolicy },
): Promise<RawTenant[]> {
  return parseTenantsFile(await readConfigText(path), { file: path, policy: options.policy });
}
