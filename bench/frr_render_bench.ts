/**
 * `deno bench` for the pure FRR code at 1,000 tenants: render, parse the running-config, diff
 * (the agent-side share of an incremental apply; FRR's own time is in bench/frr_apply.ts).
 */
import { configSchema, parseWithSchema } from "../src/config/mod.ts";
import { parsePrefix } from "../src/net/mod.ts";
import {
  diffFrrConfig,
  type FrrInput,
  type FrrTenantInput,
  parseRunningConfig,
  renderFrrConfig,
} from "../src/frr/mod.ts";

const config = parseWithSchema(
  `bgp: { asn: 65000, router_id: 192.0.2.1, peers: [{ address: 192.0.2.254, remote_asn: 65001 }] }
tenants: { sources: [{ type: file, path: tenants.yaml }] }
`,
  configSchema,
  { file: "bench.yaml" },
);

function tenantOf(i: number): FrrTenantInput {
  const name = `t${i}`;
  return {
    tenant: {
      name,
      prefixes: [`10.${i >> 8}.${i & 255}.0/24`, `fd00:${i.toString(16)}::/64`].map((p) =>
        parsePrefix(p)
      ),
    },
    allocation: { tenant: name, vrf: name, table: 10000 + i, rd: `65000:${i}`, rt: `65000:${i}` },
  };
}

const base: FrrInput = { config, tenants: Array.from({ length: 1000 }, (_, i) => tenantOf(i)) };
const changed: FrrInput = { config, tenants: [...base.tenants.slice(1), tenantOf(1000)] };
const runningText = renderFrrConfig(base).text;
const running = parseRunningConfig(runningText);
const desired = renderFrrConfig(changed);

Deno.bench("frr render 1000 tenants", () => {
  renderFrrConfig(changed);
});
Deno.bench("frr parse running-config of 1000 tenants", () => {
  parseRunningConfig(runningText);
});
Deno.bench("frr diff 1000 tenants, one added and one removed", () => {
  diffFrrConfig(desired, running);
});
