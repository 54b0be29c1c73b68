import { assert, assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import {
  parseVtyshLineErrors,
  Vtysh,
  VtyshApplyError,
  VtyshError,
  VtyshTimeoutError,
} from "../../src/frr/mod.ts";

/** Writes an executable fake vtysh into a fresh temporary folder. */
async function fakeVtysh(body: string): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-fake-vtysh-" });
  const path = `${dir}/vtysh`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return { path, dir };
}

function pidAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("vtysh: a hanging vtysh is killed after timeout_ms with a typed error", async () => {
  const { path, dir } = await fakeVtysh(
    `echo $$ > "${"$(dirname $0)"}/pid"\necho started >&2\nsleep 60 &\necho $! > "$(dirname $0)/child"\nwait`,
  );
  try {
    const vtysh = new Vtysh({ vtysh: path, pathspace: "x", timeout_ms: 300 });
    const e = await assertRejects(() => vtysh.show("show version"), VtyshTimeoutError);
    assertStringIncludes(e.message, "300 ms");
    assertEquals(e.command, [path, "-N", "x", "-c", "show version"]);
    assertStringIncludes(e.stderr, "started");
    const pid = Number(await Deno.readTextFile(`${dir}/pid`));
    assert(!pidAlive(pid), "vtysh process still alive after the timeout");
    // The grandchild held the pipes open; the call returned anyway. Clean it up.
    const child = Number(await Deno.readTextFile(`${dir}/child`));
    try {
      Deno.kill(child, "SIGKILL");
    } catch { /* gone */ }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vtysh: a failing vtysh reports exit code and stderr", async () => {
  const { path, dir } = await fakeVtysh(`echo "% no such instance" >&2\nexit 1`);
  try {
    const vtysh = new Vtysh({ vtysh: path, timeout_ms: 5000 });
    const e = await assertRejects(() => vtysh.show("show running-config"), VtyshError);
    assertEquals(e.code, 1);
    assertStringIncludes(e.message, "no such instance");
    await assertRejects(() => vtysh.runningConfig(), VtyshError, "exit 1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vtysh: a missing binary is a VtyshError", async () => {
  const vtysh = new Vtysh({ vtysh: "/nonexistent/vtysh", timeout_ms: 1000 });
  await assertRejects(() => vtysh.show("show version"), VtyshError, "cannot start");
});

Deno.test("vtysh: runningConfig refuses when bgpd is not connected", async () => {
  const { path, dir } = await fakeVtysh(`echo " zebra staticd"\necho "router bgp 1"`);
  try {
    const vtysh = new Vtysh({ vtysh: path, timeout_ms: 5000 });
    await assertRejects(() => vtysh.runningConfig(), VtyshError, "bgpd");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vtysh: batch file is 0600, removed afterwards, errors name the line", async () => {
  const { path, dir } = await fakeVtysh([
    `f="$2"; [ "$1" = "-f" ] || f="$4"`,
    `stat -c %a "$f" > "$(dirname $0)/mode"`,
    `echo "$f" > "$(dirname $0)/file"`,
    `echo "% Specify remote-as or peer-group commands first"`,
    `echo "line 2: % Unknown command[4]: frobnicate" >&2`,
    `echo "line 3: Failure to communicate[13] to bgpd, line:  neighbor 1.1.1.1 activate" >&2`,
    `exit 2`,
  ].join("\n"));
  try {
    const vtysh = new Vtysh({ vtysh: path, pathspace: "p1", timeout_ms: 5000 });
    const batch = ["router bgp 1", "frobnicate", " neighbor 1.1.1.1 activate", "exit"];
    const e = await assertRejects(() => vtysh.applyLines(batch), VtyshApplyError);
    assertEquals(e.lines, [
      { line: 2, message: "% Unknown command[4]", text: "frobnicate" },
      {
        line: 3,
        message: "Failure to communicate[13] to bgpd",
        text: " neighbor 1.1.1.1 activate",
      },
    ]);
    assertStringIncludes(e.message, "line 2 (frobnicate)");
    assertStringIncludes(e.message, "Specify remote-as");
    assertEquals((await Deno.readTextFile(`${dir}/mode`)).trim(), "600");
    const file = (await Deno.readTextFile(`${dir}/file`)).trim();
    await assertRejects(() => Deno.stat(file), Deno.errors.NotFound);
    // Tolerated lines do not throw.
    const ok = await vtysh.applyLines(batch, { tolerate: () => true });
    assertEquals(ok.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vtysh: passwords in failing lines are redacted", () => {
  assertEquals(
    parseVtyshLineErrors("line 1: % Unknown command[4]: x", [" neighbor 1.1.1.1 password s3cr3t"]),
    [{ line: 1, message: "% Unknown command[4]", text: " neighbor 1.1.1.1 password ***" }],
  );
});

Deno.test("vtysh: parseVtyshLineErrors ignores other output", () => {
  assertEquals(
    parseVtyshLineErrors("noise\nline 1: % Command incomplete[4]: x y\nline x: no\n", ["x y"]),
    [{ line: 1, message: "% Command incomplete[4]", text: "x y" }],
  );
});
