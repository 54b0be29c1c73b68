/**
 * The operations docs against the code: the metrics reference is generated from the registry,
 * every runbook message marked `agent` still exists in the source, the FortiGate sample and the
 * lab's GoBGP configuration agree (and gobgpd accepts its file), and each topic issue #8 asks for
 * has its section.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { metricsReference } from "../../scripts/metrics_reference.ts";
import { hasCommand, repoPath, runCommand } from "./_support.ts";

const DOCS = repoPath("docs/operations.md");
const docs = await Deno.readTextFile(DOCS);

/** deno fmt pads Markdown tables and rewraps paragraphs: compare cells and joined paragraphs. */
function cells(text: string): string[] {
  const out: string[] = [];
  let paragraph = "";
  for (const line of [...text.split("\n"), ""]) {
    if (line.trim().startsWith("|")) {
      out.push(line.split("|").map((c) => c.trim().replace(/^-+$/, "-")).join("|"));
    } else if (line.trim()) {
      paragraph += " " + line.trim();
    } else if (paragraph) {
      out.push(paragraph.trim());
      paragraph = "";
    }
  }
  return out;
}

Deno.test("docs: the metrics reference matches src/metrics", async () => {
  const start = "<!-- metrics-reference:start -->\n";
  const end = "\n<!-- metrics-reference:end -->";
  const i = docs.indexOf(start);
  const j = docs.indexOf(end);
  assert(i >= 0 && j > i, "docs/operations.md lacks the metrics-reference markers");
  if (Deno.env.get("UPDATE_DOCS") === "1") {
    await Deno.writeTextFile(
      DOCS,
      docs.slice(0, i + start.length) + "\n" + metricsReference() + "\n" + docs.slice(j),
    );
    return;
  }
  assertEquals(
    cells(docs.slice(i + start.length, j)),
    cells(metricsReference()),
    "run: UPDATE_DOCS=1 deno test -A tests/ship/docs_test.ts && deno fmt docs/",
  );
});

/** Source text with string concatenations joined and `${…}` replaced by a marker. */
async function sourceText(): Promise<string> {
  const parts: string[] = [];
  async function scan(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await scan(p);
      else if (e.name.endsWith(".ts")) parts.push(await Deno.readTextFile(p));
    }
  }
  for (const d of ["src", "ffi"]) await scan(repoPath(d));
  return parts.join("\n")
    .replace(/(["`])\s*\+\s*(["`])/g, "")
    .replace(/\$\{[^{}]*(\{[^{}]*\}[^{}]*)*\}/g, "\u0000");
}

interface RunbookRow {
  messages: string[];
  from: string;
}

function runbookRows(): RunbookRow[] {
  const section = docs.slice(docs.indexOf("## Troubleshooting"));
  const rows: RunbookRow[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("| ") || /^\|\s*(message|-+)\s*\|/.test(line)) continue;
    const [first, from] = line.split(/(?<!\\)\|/).slice(1, 3).map((c) => c.trim());
    const messages = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    rows.push({ messages, from });
  }
  return rows;
}

Deno.test("docs: every runbook message marked `agent` is printed by the source", async () => {
  const src = await sourceText();
  const rows = runbookRows();
  assert(rows.length >= 20, `${rows.length} runbook rows`);
  const agentRows = rows.filter((r) => r.from === "agent");
  assert(agentRows.length >= 15);
  for (const row of agentRows) {
    assert(row.messages.length > 0, `agent row without a message: ${JSON.stringify(row)}`);
    for (const message of row.messages) {
      // `…` stands for interpolated text; the punctuation around it may come from either side.
      const fragments = message.split("…").map((f) => f.replace(/^[\s:;,.]+|[\s:;,.]+$/g, ""));
      for (const fragment of fragments) {
        if (fragment.length < 4) continue;
        assert(src.includes(fragment), `runbook message fragment not in src/: ${fragment}`);
      }
    }
  }
  const froms = new Set(rows.map((r) => r.from));
  for (const f of froms) {
    assert(["agent", "vtysh", "Deno", "TLS", "kubelet", "FortiGate"].includes(f), `from ${f}`);
  }
  // The check can fail: a message the source never prints.
  assert(!src.includes("this kernel has no VRF support at all"));
  // The topics the issue names have a row each.
  const text = rows.map((r) => r.messages.join(" ")).join("\n");
  for (const topic of [/no VRF support/, /MPLS/, /FRR unreachable/, /OVSDB|fatal alert/, /EPERM/]) {
    assert(topic.test(text), `runbook lacks ${topic}`);
  }
  assertStringIncludes(docs, "RT mismatch");
});

function tomlValue(toml: string, key: string): string {
  const m = new RegExp(`^\\s*${key}\\s*=\\s*(.+)$`, "m").exec(toml);
  assert(m, `${key} in gobgpd-lab.toml`);
  return m[1].trim();
}

function fortiValue(conf: string, key: string): string {
  const m = new RegExp(`^\\s*set ${key}\\s+(.+)$`, "m").exec(conf);
  assert(m, `set ${key} in fortigate-vpnv4.conf`);
  return m[1].trim();
}

Deno.test("docs: the FortiGate sample and the lab's GoBGP configuration agree", async () => {
  const toml = await Deno.readTextFile(repoPath("docs/examples/gobgpd-lab.toml"));
  const forti = await Deno.readTextFile(repoPath("docs/examples/fortigate-vpnv4.conf"));
  assertEquals(fortiValue(forti, "as"), tomlValue(toml, "as"));
  assertEquals(fortiValue(forti, "router-id"), JSON.parse(tomlValue(toml, "router-id")));
  assertEquals(fortiValue(forti, "remote-as"), tomlValue(toml, "peer-as"));
  assertStringIncludes(forti, `edit ${tomlValue(toml, "neighbor-address")}`);
  assertEquals(fortiValue(forti, "rd"), tomlValue(toml, "rd"));
  assertEquals(`[${fortiValue(forti, "import-rt")}]`, tomlValue(toml, "import-rt-list"));
  assertEquals(fortiValue(forti, "activate-vpnv4"), "enable");
  assertEquals(fortiValue(forti, "activate-vpnv6"), "enable");
  assertEquals(fortiValue(forti, "activate"), "disable");
  assertStringIncludes(toml, `afi-safi-name = "l3vpn-ipv4-unicast"`);
  assertStringIncludes(toml, `afi-safi-name = "l3vpn-ipv6-unicast"`);
  // The lab uses the same addresses and AS numbers.
  const lab = await Deno.readTextFile(repoPath("deploy/lab/scenario.ts"));
  assertStringIncludes(lab, `nodeAddress: ${tomlValue(toml, "neighbor-address")}`);
  assertStringIncludes(lab, `nodeAsn: ${tomlValue(toml, "peer-as")}`);
  assertStringIncludes(lab, `fortigateAsn: ${tomlValue(toml, "as")}`);
  assertStringIncludes(lab, `"afi-safi-name": "l3vpn-ipv4-unicast"`);
});

Deno.test({
  name: "docs: gobgpd accepts the lab configuration sample (and rejects a broken one)",
  ignore: !(await hasCommand("gobgpd")),
  fn: async () => {
    const sample = repoPath("docs/examples/gobgpd-lab.toml");
    const ok = await runCommand("gobgpd", ["--dry-run", "-t", "toml", "-p", "-f", sample]);
    assertEquals(ok.code, 0, ok.stderr + ok.stdout);
    const dir = await Deno.makeTempDir();
    try {
      const bad = join(dir, "bad.toml");
      await Deno.writeTextFile(
        bad,
        (await Deno.readTextFile(sample)).replace("l3vpn-ipv4-unicast", "l3vpn-ipv9-unicast"),
      );
      const r = await runCommand("gobgpd", ["--dry-run", "-t", "toml", "-p", "-f", bad]);
      assert(r.code !== 0, "gobgpd --dry-run accepted a bad family");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("docs: operations.md covers every topic of the ship issue", async () => {
  for (
    const heading of [
      "## k3s (and other Kubernetes)",
      "## OpenShift",
      "## systemd on the node (scp)",
      "## Configuration",
      "## Least privilege",
      "## FortiGate side",
      "## Metrics",
      "## Troubleshooting",
    ]
  ) {
    assert(docs.includes(`\n${heading}\n`), `missing section ${heading}`);
  }
  assertStringIncludes(docs, "README.md#configuration-reference");
  const readme = await Deno.readTextFile(repoPath("README.md"));
  assertStringIncludes(readme, "## Configuration reference");
  assertStringIncludes(readme, "docs/operations.md");
  assertStringIncludes(readme.toLowerCase(), "docker");
});
