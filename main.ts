/**
 * vpnv4-agent: exports OVN tenants as BGP VPNv4/VPNv6 through FRR, with Linux VRFs.
 * @module
 */
import { main } from "./src/cli/program.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
