import { renderFrrConfig } from "../../src/frr/mod.ts";
import { exampleConfig, tenant } from "./example.ts";
const mk = (i: number) =>
  tenant(`t${i}`, 10000 + i, [
    `10.${i >> 8}.${i & 255}.0/24`,
    `10.${100 + (i >> 8)}.${i & 255}.0/24`,
    `fd00:${i.toString(16)}::/64`,
  ]);
const config = exampleConfig();
const ids = Array.from({ length: 1000 }, (_, i) => i + 1);
Deno.writeTextFileSync(
  "/tmp/changed1000.conf",
  renderFrrConfig({ config, tenants: ids.map(mk) }).text,
);
