/**
 * YAML/JSON loading with zod validation; every problem names its YAML path and line:column.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { dirname, isAbsolute, join } from "node:path";
import { type Config, configSchema } from "./schema.ts";

/** One validation problem, located in the source file. */
export interface ConfigIssue {
  /** Dotted YAML path, e.g. `bgp.peers[0].remote_asn`. */
  path: string;
  /** 1-based line and column of the offending node, when known. */
  line?: number;
  column?: number;
  message: string;
}

/** A configuration or tenants file that cannot be used. Maps to exit code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Every problem found (not just the first). */
  readonly issues: ConfigIssue[];
  /** The file the problems are in. */
  readonly file: string;

  constructor(file: string, issues: ConfigIssue[], options?: ErrorOptions) {
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n` +
        issues.map((i) => `  ${formatIssue(i)}`).join("\n"),
      options,
    );
    this.file = file;
    this.issues = issues;
  }
}

/** Formats an issue as `line:col path: message`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line ? `${issue.line}:${issue.column ?? 1} ` : "";
  return `${where}${issue.path || "(root)"}: ${issue.message}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Finds the YAML node at `path`, or the deepest ancestor that exists. */
function locate(
  root: unknown,
  path: readonly PropertyKey[],
  key?: string,
): { node?: Node; keyNode?: Node } {
  let node = root as Node | undefined;
  for (const p of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(p));
      if (!pair) return { node };
      node = pair.value as Node | undefined ?? (pair.key as Node);
    } else if (isSeq(node) && typeof p === "number" && node.items[p]) {
      node = node.items[p] as Node;
    } else {
      return { node };
    }
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
    if (pair) return { node, keyNode: pair.key as Node };
  }
  return { node };
}

/** Options for {@link parseWithSchema}. */
export interface ParseOptions {
  /** File name used in messages. */
  file: string;
}

/**
 * Parses YAML (or JSON) text and validates it; throws {@link ConfigError} listing every
 * problem with its path and line:column.
 */
export function parseWithSchema<S extends z.ZodType>(
  text: string,
  schema: S,
  options: ParseOptions,
): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      options.file,
      doc.errors.map((e) => ({
        path: "",
        ...at(e.pos[0]),
        message: `YAML: ${e.message.split("\n")[0]}`,
      })),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    // Unresolved aliases and alias bombs surface here, not in doc.errors.
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(options.file, [{ path: "", message: `YAML: ${message}` }], { cause });
  }
  const result = schema.safeParse(data ?? {});
  if (result.success) return result.data;
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
    for (const key of keys) {
      const { node, keyNode } = locate(doc.contents, issue.path, key);
      const target = keyNode ?? node;
      const path = formatPath(key === undefined ? issue.path : [...issue.path, key]);
      const message = issue.code === "unrecognized_keys" ? "unknown key" : issue.message;
      issues.push({ path, ...at(target?.range?.[0]), message });
    }
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  throw new ConfigError(options.file, issues);
}

/** Reads a file, turning I/O failures into {@link ConfigError}. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(path, [{ path: "", message: `cannot read file: ${reason}` }], { cause });
  }
}

/**
 * Loads and validates `vpnv4-agent.yaml`. Relative paths inside it (tenants files, state file,
 * TLS files) are resolved against the folder of the configuration file.
 */
export async function loadConfig(path: string): Promise<Config> {
  const text = await readConfigText(path);
  const config = parseWithSchema(text, configSchema, { file: path });
  const dir = dirname(path);
  const resolve = (p: string) => isAbsolute(p) ? p : join(dir, p);
  config.allocation.state_file = resolve(config.allocation.state_file);
  for (const source of config.tenants.sources) {
    if (source.type === "file") source.path = resolve(source.path);
    if (source.type === "ovn" && source.tls) {
      source.tls = {
        key: resolve(source.tls.key),
        cert: resolve(source.tls.cert),
        ca: resolve(source.tls.ca),
      };
    }
  }
  return config;
}
