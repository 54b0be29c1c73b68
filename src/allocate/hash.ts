/**
 * Deterministic hashing of tenant names (sha256): the same name always yields the same
 * preferred VRF name and table id, on every node and across restarts.
 */
import { createHash } from "node:crypto";

/** A hash function from text to bytes (at least 8). Injectable so tests can force collisions. */
export type HashFunction = (text: string) => Uint8Array;

/** sha256 of the UTF-8 text. */
export const sha256: HashFunction = (text) =>
  new Uint8Array(createHash("sha256").update(text, "utf8").digest());

/** The first 48 bits of a digest as a safe integer. */
export function hashToInt(digest: Uint8Array): number {
  if (digest.length < 6) throw new RangeError("digest shorter than 6 bytes");
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + digest[i];
  return n;
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** The first `chars` * 5 bits of a digest as lowercase RFC 4648 base32 (no padding). */
export function hashToBase32(digest: Uint8Array, chars: number): string {
  if (digest.length * 8 < chars * 5) throw new RangeError("digest too short");
  let out = "";
  let acc = 0;
  let bits = 0;
  let i = 0;
  while (out.length < chars) {
    if (bits < 5) {
      acc = ((acc << 8) | digest[i++]) & 0xffff;
      bits += 8;
    }
    out += BASE32[(acc >> (bits - 5)) & 31];
    bits -= 5;
  }
  return out;
}
