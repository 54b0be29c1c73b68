/**
 * Test support: fresh network namespaces (deleted afterwards) and `ip` as a witness.
 * @module
 */

/** True when running as root (privileged tests are ignored otherwise). */
export const isRoot = Deno.uid?.() === 0;

/** Runs a command, returning stdout; throws with stderr on a non-zero exit. */
export async function run(
  cmd: string[],
  options: { allowFail?: boolean; env?: Record<string, string> } = {},
): Promise<
  { code: number; stdout: string; stderr: string }
> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).output();
  const res = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (res.code !== 0 && !options.allowFail) {
    throw new Error(`${cmd.join(" ")} exited ${res.code}: ${res.stderr}`);
  }
  return res;
}

/** Runs `ip -n NS ARGS...` and returns stdout. */
export async function ip(ns: string, ...args: string[]): Promise<string> {
  return (await run(["ip", "-n", ns, ...args])).stdout;
}

/** Creates `vpnv4-test-<random>`, runs `fn(name)`, and deletes the namespace. */
export async function withNetns<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `vpnv4-test-${crypto.randomUUID().slice(0, 8)}`;
  await run(["ip", "netns", "add", ns]);
  try {
    await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    return await fn(ns);
  } finally {
    await run(["ip", "netns", "del", ns], { allowFail: true });
  }
}
