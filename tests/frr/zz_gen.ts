import { renderFrrConfig } from "../../src/frr/mod.ts";
import { exampleConfig, tenant } from "./example.ts";
const n = Number(Deno.args[0]);
const ts = Array.from(
  { length: n },
  (_, i) =>
    tenant(`t${i}`, 10000 + i, [
      `10.${i >> 8}.${i & 255}.0/24`,
      `10.${100 + (i >> 8)}.${i & 255}.0/24`,
      `fd00:${i.toString(16)}::/64`,
    ]),
);
console.log(renderFrrConfig({ config: exampleConfig(), tenants: ts }).text);
