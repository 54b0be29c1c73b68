import { applyFrrConfig, renderFrrConfig } from "../../src/frr/mod.ts";
import { exampleConfig, tenant } from "./example.ts";
const mk = (i: number) =>
  tenant(`t${i}`, 10000 + i, [
    `10.${i >> 8}.${i & 255}.0/24`,
    `10.${100 + (i >> 8)}.${i & 255}.0/24`,
    `fd00:${i.toString(16)}::/64`,
  ]);
const config = exampleConfig();
config.frr.pathspace = "fdev1";
const base = { config, tenants: Array.from({ length: 1000 }, (_, i) => mk(i)) };
const changed = { config, tenants: [...base.tenants.slice(1), mk(1000)] };
let t = performance.now();
const d = await applyFrrConfig(base, { dryRun: true });
console.log("dry base", d.lines.length, (performance.now() - t).toFixed(1));
t = performance.now();
renderFrrConfig(base);
console.log("render", (performance.now() - t).toFixed(1));
for (const [name, inp] of [["changed", changed], ["base", base]] as const) {
  t = performance.now();
  const r = await applyFrrConfig(inp);
  console.log(name, r.linesSent, r.added, r.removed, (performance.now() - t).toFixed(1));
}
