/**
 * Run by permissions_test.ts under the product permission flags (never with --allow-all):
 * exercises what the product does with each permission and prints a JSON report.
 * Args: CONFIG_FILE.
 */
import { Hono } from "hono";
import client from "prom-client";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/mod.ts";
import { Allocator } from "../../src/allocate/mod.ts";
import { getLogger, setupLogging } from "../../src/log/mod.ts";
import { AGENT_ENV_VARS } from "../../scripts/permissions.ts";
import { checkMpls } from "../../src/kernel/mod.ts";
import { readKernelFile } from "../../ffi/mod.ts";

const report: Record<string, unknown> = {};
await setupLogging({ level: "warning", format: "json" });
getLogger("smoke").info("not shown");

const config = await loadConfig(Deno.args[0]);
report.yaml = parse("a: [1, 2]");
const allocator = await Allocator.open({ config });
allocator.allocate([{ name: "demo" }, { name: "kube-system" }]);
report.saved = await allocator.save();
report.reopened = (await Allocator.open({ config })).state.entries.size;

for (const name of AGENT_ENV_VARS) Deno.env.get(name);
report.env = "ok";
report.hostname = Deno.hostname().length > 0;
report.osRelease = Deno.osRelease().length > 0;

client.collectDefaultMetrics();
const app = new Hono();
app.get("/healthz", (c) => c.text("ok"));
app.get("/metrics", async (c) => c.text(await client.register.metrics()));
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
const base = `http://127.0.0.1:${server.addr.port}`;
report.healthz = await (await fetch(`${base}/healthz`)).text();
report.metrics = (await (await fetch(`${base}/metrics`)).text()).includes("process_");
await server.shutdown();

for (const [key, path] of [["proc", "/proc/sys/net/ipv4/ip_forward"], ["sys", "/sys/class/net"]]) {
  try {
    await Deno.stat(path);
    report[key] = "allowed";
  } catch (e) {
    report[key] = (e as Error).name;
  }
}
try {
  await Deno.readTextFile("/etc/hostname");
  report.etc = "allowed";
} catch (e) {
  report.etc = (e as Error).name;
}
// Sysctls through libc (FFI), as the product reads them.
report.ipForward = readKernelFile("/proc/sys/net/ipv4/ip_forward").trim();
report.mpls = await checkMpls("auto");
console.log(JSON.stringify(report));
