/**
 * The configuration reference (a Markdown table) generated from the zod schema, so the README
 * can't drift from what the agent accepts. `deno run -A src/config/reference.ts` prints it.
 */
import { z } from "zod";
import { configSchema } from "./schema.ts";

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(" \\| ");
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.map(typeOf))].join(" \\| ");
  if (s.type === "array") return `list of ${s.items ? typeOf(s.items) : "any"}`;
  if (s.type === "object" && !s.properties && typeof s.additionalProperties === "object") {
    return `map of ${typeOf(s.additionalProperties)}`;
  }
  return Array.isArray(s.type) ? s.type.join(" \\| ") : s.type ?? "any";
}

function rows(s: JsonSchema, path: string, required: boolean, out: string[]): void {
  const objects = (s.anyOf ?? s.oneOf)?.filter((a) => a.properties) ?? [];
  if (path) {
    const def = s.default === undefined
      ? (required ? "required" : "")
      : `\`${JSON.stringify(s.default)}\``;
    const type = objects.length > 1 ? "list entry, one of the `type`s below" : typeOf(s);
    out.push(
      `| \`${path}\` | ${type} | ${def} | ${(s.description ?? "").replaceAll("|", "\\|")} |`,
    );
  }
  if (s.properties) {
    for (const [key, child] of Object.entries(s.properties)) {
      rows(child, path ? `${path}.${key}` : key, s.required?.includes(key) ?? false, out);
    }
  }
  if (s.items) {
    const variants = (s.items.anyOf ?? s.items.oneOf)?.filter((a) => a.properties) ?? [];
    if (variants.length > 0) {
      for (const v of variants) {
        const kind = v.properties?.type?.const;
        for (const [key, child] of Object.entries(v.properties ?? {})) {
          if (key === "type") continue;
          rows(child, `${path}[type=${kind}].${key}`, v.required?.includes(key) ?? false, out);
        }
      }
    } else if (s.items.properties) {
      for (const [key, child] of Object.entries(s.items.properties)) {
        rows(child, `${path}[].${key}`, s.items.required?.includes(key) ?? false, out);
      }
    }
  }
}

/** The configuration reference as a Markdown table. */
export function configReference(): string {
  const schema = z.toJSONSchema(configSchema, {
    io: "input",
    unrepresentable: "any",
  }) as JsonSchema;
  const out = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"];
  rows(schema, "", true, out);
  return out.join("\n");
}

if (import.meta.main) console.log(configReference());
