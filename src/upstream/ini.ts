/**
 * An oslo.config-compatible INI reader that remembers where every value came from.
 *
 * It follows `oslo_config/iniparser.py` line for line: `[section]` headers, `key = value` or
 * `key: value` (whichever separator comes first), comment lines starting with `#` or `;` in
 * column 0, continuation lines (indented, appended with a newline; a blank line ends them),
 * one pair of matching quotes stripped from a value, group names lower-cased except `DEFAULT`,
 * and the last assignment of a repeated key winning. One deliberate difference: oslo.config
 * keeps an inline comment (`driver=ovn_bgp_driver  # SB`) as part of the value; this reader
 * strips it and records a note, so the caller can warn.
 */

/** Where a value came from. */
export interface IniLocation {
  /** File name used in messages. */
  file: string;
  /** 1-based line of the key. */
  line: number;
}

/** One `key = value` assignment. */
export interface IniEntry extends IniLocation {
  /** Normalised group name (`DEFAULT` or lower case). */
  section: string;
  /** Option name, case kept (oslo options are case-sensitive: `bgp_AS`). */
  key: string;
  /** Value with continuation lines joined by `\n`, quotes and inline comment removed. */
  value: string;
  /** The inline comment removed from the value, if any. */
  inlineComment?: string;
  /** Earlier assignments of the same key in the same group (the last one wins). */
  overridden: IniLocation[];
}

/** A parsed INI file: groups in file order, keys in first-assignment order. */
export interface IniDocument {
  file: string;
  sections: Map<string, Map<string, IniEntry>>;
}

/** A line that oslo.config would refuse. Carries file, line and the offending text. */
export class IniSyntaxError extends Error {
  override name = "IniSyntaxError";
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly reason: string;

  constructor(location: IniLocation, reason: string, text: string) {
    super(`${location.file}:${location.line}: ${reason}: ${JSON.stringify(text)}`);
    this.file = location.file;
    this.line = location.line;
    this.text = text;
    this.reason = reason;
  }
}

/** oslo.config's group-name normalisation. */
export function normalizeSection(name: string): string {
  return name === "DEFAULT" ? name : name.toLowerCase();
}

const INLINE_COMMENT = /\s+[#;]/;

function stripInlineComment(raw: string): { value: string; comment?: string } {
  const quote = raw[0] === '"' || raw[0] === "'" ? raw[0] : undefined;
  if (quote) {
    const close = raw.indexOf(quote, 1);
    // A quoted value keeps '#' inside the quotes; only text after the closing quote is a comment.
    if (close > 0) {
      const rest = raw.slice(close + 1);
      const m = INLINE_COMMENT.exec(rest);
      if (m && rest.slice(0, m.index).trim() === "") {
        return { value: raw.slice(0, close + 1), comment: rest.slice(m.index).trim() };
      }
      return { value: raw };
    }
  }
  const m = INLINE_COMMENT.exec(raw);
  if (!m) return { value: raw };
  return { value: raw.slice(0, m.index).trimEnd(), comment: raw.slice(m.index).trim() };
}

function unquote(value: string): string {
  if (value.length >= 2 && value[0] === value.at(-1) && (value[0] === '"' || value[0] === "'")) {
    return value.slice(1, -1);
  }
  return value;
}

/** Parses INI text the way oslo.config does; throws {@link IniSyntaxError} with the line. */
export function parseIni(text: string, options: { file: string }): IniDocument {
  const file = options.file;
  const sections = new Map<string, Map<string, IniEntry>>();
  let section: string | undefined;
  let pending: { key: string; parts: string[]; line: number; comment?: string } | undefined;

  const flush = () => {
    if (!pending) return;
    const at = { file, line: pending.line };
    if (section === undefined) {
      throw new IniSyntaxError(at, "assignment before any [section]", pending.key);
    }
    const group = sections.get(section)!;
    const previous = group.get(pending.key);
    const entry: IniEntry = {
      ...at,
      section,
      key: pending.key,
      value: pending.parts.join("\n"),
      inlineComment: pending.comment,
      overridden: previous
        ? [...previous.overridden, { file: previous.file, line: previous.line }]
        : [],
    };
    if (previous) group.delete(pending.key); // re-insert: the last assignment wins
    group.set(pending.key, entry);
    pending = undefined;
  };

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const at = { file, line: lineNo };
    const line = lines[i].trimEnd();
    if (line === "") {
      flush(); // a blank line ends a multi-line value
      continue;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (!pending) throw new IniSyntaxError(at, "unexpected continuation line", line);
      pending.parts.push(line.trimStart());
      continue;
    }
    flush();
    if (line.startsWith("[")) {
      if (!line.endsWith("]")) throw new IniSyntaxError(at, "section must end with ]", line);
      if (line.length <= 2) throw new IniSyntaxError(at, "empty section name", line);
      section = normalizeSection(line.slice(1, -1));
      if (!sections.has(section)) sections.set(section, new Map());
      continue;
    }
    if (line.startsWith("#") || line.startsWith(";")) continue;
    const colon = line.indexOf(":");
    const equal = line.indexOf("=");
    if (colon < 0 && equal < 0) throw new IniSyntaxError(at, "no ':' or '=' in assignment", line);
    const split = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
    const key = line.slice(0, split).trim();
    if (!key) throw new IniSyntaxError(at, "empty key", line);
    const { value, comment } = stripInlineComment(line.slice(split + 1).trim());
    pending = { key, parts: [unquote(value)], line: lineNo, comment };
  }
  flush();
  return { file, sections };
}
