/**
 * Parses `show running-config` (or any frr.conf text) into top-level blocks with their
 * nested `address-family` sections.
 *
 * Made for arbitrary input: it never throws and runs in one linear pass over the text (no
 * regular expression with backtracking over a whole line). Whatever it does not understand
 * becomes an ordinary line or a one-line block, which the diff ignores unless it is one of
 * the agent's own.
 * @module
 */
import type { ConfigBlock, ConfigSection } from "./model.ts";

interface MutableSection {
  header: string;
  lines: string[];
}

interface MutableBlock {
  header: string;
  lines: string[];
  sections: MutableSection[];
  end?: string;
}

const LINE_END = /[\r\n]/g;
const CLOSERS = new Set(["exit", "exit-vrf", "end"]);
const PREAMBLE = new Set(["Building configuration...", "Current configuration:"]);

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** Leading whitespace count and the trimmed content of one line. */
function splitIndent(raw: string): [number, string] {
  let start = 0;
  while (start < raw.length && isBlank(raw.charCodeAt(start))) start++;
  let end = raw.length;
  while (end > start && isBlank(raw.charCodeAt(end - 1))) end--;
  return [start, raw.slice(start, end)];
}

/**
 * Splits configuration text into blocks (lines end at LF, CR or CRLF). Comment and separator
 * lines (`!`, `#`), blank lines, vtysh's preamble and `end` are dropped; runs of spaces inside
 * a line are kept as they are.
 */
export function parseRunningConfig(text: string): ConfigBlock[] {
  const blocks: MutableBlock[] = [];
  if (typeof text !== "string") return blocks;
  let block: MutableBlock | undefined;
  let section: MutableSection | undefined;
  let pos = 0;
  while (pos <= text.length) {
    // A line ends at LF, CR or CRLF: a CR is never left inside a line (it would end a
    // command early when the line is sent back to vtysh).
    LINE_END.lastIndex = pos;
    const next = LINE_END.exec(text)?.index ?? text.length;
    const raw = text.slice(pos, next);
    pos = next + 1;
    const [indent, content] = splitIndent(raw);
    if (content.length === 0) continue;
    const first = content.charCodeAt(0);
    if (first === 0x21 /* ! */ || first === 0x23 /* # */) continue;
    if (indent === 0) {
      section = undefined;
      if (CLOSERS.has(content)) {
        if (block && content !== "end") block.end = content;
        block = undefined;
        continue;
      }
      if (PREAMBLE.has(content)) continue;
      block = { header: content, lines: [], sections: [] };
      blocks.push(block);
      continue;
    }
    if (!block) continue; // indented text outside any block: garbage, ignored
    if (content === "exit-address-family") {
      section = undefined;
      continue;
    }
    if (!section && content.startsWith("address-family ")) {
      section = { header: content, lines: [] };
      block.sections.push(section);
      continue;
    }
    (section ?? block).lines.push(content);
  }
  return blocks;
}

/** The `address-family` section with this header, if any. */
export function findSection(block: ConfigBlock, header: string): ConfigSection | undefined {
  return block.sections.find((s) => s.header === header);
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether two blocks are equal line by line (header, lines, sections in order). */
export function sameBlock(a: ConfigBlock, b: ConfigBlock): boolean {
  if (a.header !== b.header || !sameLines(a.lines, b.lines)) return false;
  if (a.sections.length !== b.sections.length) return false;
  for (let i = 0; i < a.sections.length; i++) {
    const x = a.sections[i], y = b.sections[i];
    if (x.header !== y.header || !sameLines(x.lines, y.lines)) return false;
  }
  return true;
}
