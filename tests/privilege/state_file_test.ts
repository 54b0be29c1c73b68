/** File permissions of the allocation state: 0600 file, 0700 folder, no world-writable folder. */
import { assertEquals, assertRejects } from "../support/assert.ts";
import { emptyState, writeStateFile } from "../../src/allocate/state.ts";
import { StateFileError } from "../../src/allocate/errors.ts";

const entry = {
  tenant: "demo",
  vrf: "demo",
  table: 1001,
  allocated_at: "2026-01-01T00:00:00.000Z",
};

Deno.test("state file: 0600 in a 0700 folder it creates, whatever the umask", async () => {
  const dir = await Deno.makeTempDir();
  const old = Deno.umask(0o000);
  try {
    const path = `${dir}/a/b/state.json`;
    await writeStateFile(path, { entries: new Map([["demo", entry]]) });
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/a/b`)).mode! & 0o777, 0o700);
    await writeStateFile(path, emptyState());
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    Deno.umask(old);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state file: a world-writable folder is refused unless sticky", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/open`);
    await Deno.chmod(`${dir}/open`, 0o777);
    await assertRejects(
      () => writeStateFile(`${dir}/open/state.json`, emptyState()),
      StateFileError,
      "is world-writable (mode 777)",
    );
    await Deno.chmod(`${dir}/open`, 0o1777);
    await writeStateFile(`${dir}/open/state.json`, emptyState());
    assertEquals((await Deno.stat(`${dir}/open/state.json`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
