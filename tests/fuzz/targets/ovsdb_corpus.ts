/**
 * OVSDB seed messages: real server traffic captured from ovsdb-server with the OVN NB schema
 * (tests/fuzz/corpus/ovsdb, see capture_ovsdb.ts), plus the server's own echo request.
 * @module
 */
import { readDir, utf8 } from "./corpus.ts";

/** Each captured server message, raw bytes, in capture order. */
export async function ovsdbMessages(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const files = await readDir("tests/fuzz/corpus/ovsdb", ".jsonrpc");
  files.push({
    name: "server_echo.jsonrpc",
    bytes: utf8('{"id":"echo","method":"echo","params":[]}'),
  });
  return files;
}

/** A JSON mutation applied to bytes (falls back to the bytes when they are not JSON). */
export function parseJsonBytes(bytes: Uint8Array): unknown | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
