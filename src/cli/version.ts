/** `vpnv4-agent version`. */
import denoJson from "../../deno.json" with { type: "json" };

/** The agent's version, from deno.json. */
export const VERSION: string = denoJson.version;

/** One line: agent, Deno, V8 and TypeScript versions. */
export function versionText(): string {
  return `vpnv4-agent ${VERSION} (deno ${Deno.version.deno}, v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`;
}
