/** ffi/capabilities.ts against setpriv-made processes, with /proc/PID/status as the witness. */
import { assertEquals } from "../support/assert.ts";
import { isRoot, run } from "../support/netns.ts";
import { repoPath } from "../ship/_support.ts";
import { productPermissionFlags } from "../../scripts/permissions.ts";
import { setprivArgs } from "./_support.ts";

async function probe(prefix: string[]): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-cap-" });
  try {
    await Deno.chmod(dir, 0o777);
    const r = await run([
      ...prefix,
      Deno.execPath(),
      "run",
      "--no-prompt",
      ...productPermissionFlags(),
      repoPath("tests/privilege/_cap_probe.ts"),
    ], { env: { DENO_DIR: dir } });
    return JSON.parse(r.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const setpriv = (await run(["sh", "-c", "command -v setpriv"], { allowFail: true })).code === 0;

Deno.test({
  name: "capabilities: root, non-root with only CAP_NET_ADMIN, non-root with none",
  ignore: !isRoot || !setpriv,
  fn: async () => {
    const root = await probe([]);
    assertEquals(root.netAdmin, true);
    const witness = await Deno.readTextFile("/proc/self/status");
    const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(witness)![1];
    assertEquals(root.effective, BigInt(`0x${capEff}`).toString(16));
    assertEquals(await probe(setprivArgs([], ["net_admin"])), {
      effective: "1000",
      permitted: "1000",
      inheritable: "1000",
      netAdmin: true,
    });
    assertEquals(await probe(setprivArgs([], [])), {
      effective: "0",
      permitted: "0",
      inheritable: "0",
      netAdmin: false,
    });
  },
});
