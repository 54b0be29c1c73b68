/**
 * The oslo.config-style INI reader: every value with its line, oslo's syntax rules, and the
 * syntax errors oslo.config would raise, located by line.
 */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { IniSyntaxError, parseIni } from "../../src/upstream/mod.ts";

const FILE = "bgp-agent.conf";

function value(text: string, section: string, key: string) {
  const entry = parseIni(text, { file: FILE }).sections.get(section)?.get(key);
  assert(entry, `${section}.${key} not parsed`);
  return entry;
}

Deno.test("ini: sections, both separators, comments and line numbers", () => {
  const text = [
    "# leading comment",
    "[DEFAULT]",
    "driver = ovn_bgp_driver",
    "; another comment",
    "bgp_AS: 64999",
    "url = http://x:1/y",
    "",
    "[OVN]",
    "ovn_sb_connection=tcp:10.0.0.1:6642",
  ].join("\n");
  const doc = parseIni(text, { file: FILE });
  assertEquals([...doc.sections.keys()], ["DEFAULT", "ovn"]); // non-DEFAULT groups lower-cased
  const defaults = doc.sections.get("DEFAULT")!;
  assertEquals([...defaults.keys()], ["driver", "bgp_AS", "url"]);
  assertEquals(defaults.get("driver")!.value, "ovn_bgp_driver");
  assertEquals(defaults.get("driver")!.line, 3);
  assertEquals(defaults.get("bgp_AS")!.value, "64999");
  assertEquals(defaults.get("bgp_AS")!.line, 5);
  // '=' comes before ':' in "url = http://x:1/y", so it is the separator.
  assertEquals(defaults.get("url")!.value, "http://x:1/y");
  const sb = doc.sections.get("ovn")!.get("ovn_sb_connection")!;
  assertEquals(sb.value, "tcp:10.0.0.1:6642");
  assertEquals(sb.line, 9);
  assertEquals(sb.file, FILE);
});

Deno.test("ini: ':' before '=' makes ':' the separator (as oslo.config)", () => {
  assertEquals(value("[DEFAULT]\nkey: a=b\n", "DEFAULT", "key").value, "a=b");
});

Deno.test("ini: continuation lines join with a newline until a blank line", () => {
  const text = "[DEFAULT]\nlist = a,\n  b,\n\tc\n\nnext = 1\n";
  const entry = value(text, "DEFAULT", "list");
  assertEquals(entry.value, "a,\nb,\nc");
  assertEquals(entry.line, 2);
  assertEquals(value(text, "DEFAULT", "next").line, 6);
});

Deno.test("ini: one pair of matching quotes is stripped, mismatched ones kept", () => {
  const text = `[DEFAULT]\na = "x y"\nb = 'z'\nc = "q'\nd = ""\n`;
  assertEquals(value(text, "DEFAULT", "a").value, "x y");
  assertEquals(value(text, "DEFAULT", "b").value, "z");
  assertEquals(value(text, "DEFAULT", "c").value, `"q'`);
  assertEquals(value(text, "DEFAULT", "d").value, "");
});

Deno.test("ini: inline comments are stripped and recorded; '#' without a space is kept", () => {
  const text = [
    "[DEFAULT]",
    "driver=ovn_bgp_driver                # SB DB BGP Driver",
    "other = x ; semicolon comment",
    "hash = a#b",
    'quoted = "a # b"  # after the quotes',
  ].join("\n");
  const driver = value(text, "DEFAULT", "driver");
  assertEquals(driver.value, "ovn_bgp_driver");
  assertEquals(driver.inlineComment, "# SB DB BGP Driver");
  assertEquals(value(text, "DEFAULT", "other").value, "x");
  const hash = value(text, "DEFAULT", "hash");
  assertEquals(hash.value, "a#b");
  assertEquals(hash.inlineComment, undefined);
  const quoted = value(text, "DEFAULT", "quoted");
  assertEquals(quoted.value, "a # b");
  assertEquals(quoted.inlineComment, "# after the quotes");
});

Deno.test("ini: a repeated key keeps the last value and remembers the earlier lines", () => {
  const text = "[DEFAULT]\ndriver = a\nx = 1\ndriver = b\n[ovn]\n[DEFAULT]\ndriver = c\n";
  const entry = value(text, "DEFAULT", "driver");
  assertEquals(entry.value, "c");
  assertEquals(entry.line, 7);
  assertEquals(entry.overridden.map((o) => o.line), [2, 4]);
});

Deno.test("ini: option names keep their case (bgp_AS is not bgp_as)", () => {
  const doc = parseIni("[DEFAULT]\nbgp_AS = 1\nbgp_as = 2\n", { file: FILE });
  assertEquals(doc.sections.get("DEFAULT")!.get("bgp_AS")!.value, "1");
  assertEquals(doc.sections.get("DEFAULT")!.get("bgp_as")!.value, "2");
});

Deno.test("ini: CRLF line endings and trailing blanks", () => {
  const entry = value("[DEFAULT]\r\ndriver = x   \r\n", "DEFAULT", "driver");
  assertEquals(entry.value, "x");
  assertEquals(entry.line, 2);
});

Deno.test("ini: syntax errors name the file, the line and the reason", () => {
  const cases: Array<[string, number, string]> = [
    ["driver = x\n", 1, "assignment before any [section]"],
    ["[DEFAULT]\n\n  indented\n", 3, "unexpected continuation line"],
    ["[DEFAULT]\nx = 1\n[ovn\n", 3, "section must end with ]"],
    ["[DEFAULT]\n[]\n", 2, "empty section name"],
    ["[DEFAULT]\njust words\n", 2, "no ':' or '=' in assignment"],
    ["[DEFAULT]\n= value\n", 2, "empty key"],
  ];
  for (const [text, line, reason] of cases) {
    const e = assertThrows(() => parseIni(text, { file: FILE }), IniSyntaxError);
    assertEquals(e.line, line, text);
    assertEquals(e.reason, reason, text);
    assert(e.message.startsWith(`${FILE}:${line}: ${reason}`), e.message);
  }
});

Deno.test("ini: an indented comment right after a value continues it (as oslo.config)", () => {
  const entry = value("[DEFAULT]\ndriver = x\n  # not a comment\n", "DEFAULT", "driver");
  assertEquals(entry.value, "x\n# not a comment");
});
