/**
 * Expose settings are checked when the configuration loads: a method that needs a VRF device
 * on `kernel.vrf_mode: table` (and the other cross-section problems) is a configuration error
 * (`vpnv4-agent run` exits 2 before touching any state) whose message points to method
 * network; valid combinations load.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { ConfigError } from "../../src/config/mod.ts";
import { loadAgentConfig } from "../../src/agent/agent.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function yaml(dir: string, expose: string, vrfMode: "table" | "device"): string {
  return `bgp:
  asn: 65001
  router_id: 192.0.2.1
expose:
  enabled: true
  chassis: { name: node-a }
  binding_source: nb
  nb_connection: "unix:${dir}/nb.sock"
${expose}
allocation:
  state_file: ${dir}/state/state.json
kernel:
  vrf_mode: ${vrfMode}
  mpls: "off"
`;
}

Deno.test("expose config: methods table/dummy need a VRF device; network loads anywhere", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-expose-config-" });
  try {
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    };
    for (const method of ["table", "dummy"]) {
      const path = await write(`${method}.yaml`, yaml(dir, `  method: ${method}`, "table"));
      const e = await assertRejects(() => loadAgentConfig(path), ConfigError);
      assertEquals(e.issues.map((i) => i.path), ["expose.method"]);
      assertStringIncludes(e.message, "use method network");
      // Fine with VRF devices.
      const ok = await write(`${method}-dev.yaml`, yaml(dir, `  method: ${method}`, "device"));
      assertEquals((await loadAgentConfig(ok)).expose.method, method);
    }
    const network = await write("network.yaml", yaml(dir, "  method: network", "table"));
    assertEquals((await loadAgentConfig(network)).expose.method, "network");
    const inRange = await write(
      "range.yaml",
      yaml(dir, "  method: table\n  table: 1500", "device"),
    );
    const e = await assertRejects(() => loadAgentConfig(inRange), ConfigError);
    assertEquals(e.issues.map((i) => i.path), ["expose.table"]);
    const sameNic = await write(
      "nic.yaml",
      yaml(dir, "  method: dummy\n  nic: bgp-vrf", "device"),
    );
    assertEquals(
      (await assertRejects(() => loadAgentConfig(sameNic), ConfigError)).issues[0].path,
      "expose.nic",
    );

    // The real command: exit 2, the message on stderr, no state written.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "run", "--config", `${dir}/table.yaml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 2, stderr);
    assertStringIncludes(stderr, "expose.method");
    assertStringIncludes(stderr, "use method network");
    assert(
      !(await Deno.stat(`${dir}/state`).then(() => true, () => false)),
      "no state directory was created",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
