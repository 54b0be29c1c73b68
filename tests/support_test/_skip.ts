/** Shared skip logic for the fixture tests: they need root and the Debian packages. */
async function has(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Reason to skip (string) or undefined when root and every listed file is present. */
export async function missing(...paths: string[]): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "needs root";
  for (const p of paths) if (!(await has(p))) return `missing ${p}`;
  return undefined;
}
