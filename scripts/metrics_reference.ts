/**
 * The metrics reference (a Markdown table) generated from the registry of
 * {@link AgentMetrics}, so docs/operations.md can't drift from what `/metrics` serves.
 * `deno run -A scripts/metrics_reference.ts` prints it; tests/ship/docs_test.ts compares it with
 * the docs (`UPDATE_DOCS=1` rewrites them).
 * @module
 */
import { AgentMetrics, METRIC_PREFIX } from "../src/metrics/mod.ts";

interface MetricInfo {
  name: string;
  help: string;
  type: string;
  labels: string[];
}

function collect(metrics: AgentMetrics): MetricInfo[] {
  const out: MetricInfo[] = [];
  for (const m of metrics.registry.getMetricsAsArray()) {
    const { name, help } = m as unknown as { name: string; help: string };
    const labels = (m as unknown as { labelNames?: string[] }).labelNames ?? [];
    const type = String((m as unknown as { type?: string }).type ?? "");
    out.push({ name, help, type, labels: [...labels] });
  }
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replace(/\s+/g, " ").trim();
}

/** The Markdown table of the agent's own metrics plus one line naming the process metrics. */
export function metricsReference(): string {
  const own = collect(new AgentMetrics({ processMetrics: false }));
  const ownNames = new Set(own.map((m) => m.name));
  const process = collect(new AgentMetrics({ processMetrics: true }))
    .filter((m) => !ownNames.has(m.name)).map((m) => `\`${m.name}\``);
  const rows = own.map((m) =>
    `| \`${m.name}\` | ${m.type} | ${
      m.labels.length ? m.labels.map((l) => `\`${l}\``).join(", ") : "—"
    } | ${cell(m.help)} |`
  );
  for (const m of own) {
    if (!m.name.startsWith(METRIC_PREFIX)) throw new Error(`${m.name} lacks ${METRIC_PREFIX}`);
  }
  return [
    "| metric | type | labels | meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    `Process metrics from prom-client (those that work under Deno): ${process.join(", ")}. ` +
    "Under the product permissions prom-client cannot read /proc, so " +
    "`process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_heap_bytes` and " +
    "`process_open_fds` are 0 and `process_max_fds` is absent; the `nodejs_*` heap gauges " +
    "come from V8 and are real.",
  ].join("\n");
}

if (import.meta.main) console.log(metricsReference());
