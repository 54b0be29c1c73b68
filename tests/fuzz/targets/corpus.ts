/**
 * Seed material shared by the targets: repository files read relative to the repo root.
 * @module
 */
const ROOT = new URL("../../../", import.meta.url);
const encoder = new TextEncoder();

/** The repository root URL. */
export const REPO_ROOT = ROOT;

/** Reads the files in a repo folder whose names end with `suffix` (sorted by name). */
export async function readDir(
  dir: string,
  suffix: string,
): Promise<{ name: string; bytes: Uint8Array }[]> {
  const url = new URL(dir.endsWith("/") ? dir : `${dir}/`, ROOT);
  const names: string[] = [];
  for await (const e of Deno.readDir(url)) {
    if (e.isFile && e.name.endsWith(suffix)) names.push(e.name);
  }
  names.sort();
  return await Promise.all(
    names.map(async (name) => ({ name, bytes: await Deno.readFile(new URL(name, url)) })),
  );
}

/** Reads one repo file as text. */
export function readText(path: string): Promise<string> {
  return Deno.readTextFile(new URL(path, ROOT));
}

/** UTF-8 bytes of text. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes of a hex string (whitespace ignored). */
export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
