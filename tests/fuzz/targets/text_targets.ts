/**
 * Text parser targets: the configuration file, the tenants file and FRR's running-config.
 * Seeds are the repository's real files (deploy/examples, tests/fixtures/frr) plus the
 * renderer's output for the example.
 * @module
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { ConfigError, configSchema, parseWithSchema } from "../../../src/config/mod.ts";
import { validateAllocationConfig } from "../../../src/allocate/mod.ts";
import {
  buildTenantSet,
  compilePolicy,
  parseTenantsFile,
  type PrefixPolicy,
} from "../../../src/tenants/mod.ts";
import {
  diffFrrConfig,
  FrrConflictError,
  parseRunningConfig,
  renderFrrConfig,
} from "../../../src/frr/mod.ts";
import { parsePrefix } from "../../../src/net/mod.ts";
import { type FuzzTarget, invariant } from "../harness.ts";
import { mutateJson, mutateText } from "../mutate.ts";
import type { Rng } from "../prng.ts";
import { readDir, readText, utf8 } from "./corpus.ts";

const decoder = new TextDecoder();

/** Text mutation, or a YAML-structural one (parse, mutate the value, stringify). */
function mutateYaml(input: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  const text = decoder.decode(input);
  if (rng.chance(0.4)) {
    try {
      const value = parseYaml(text, { maxAliasCount: 100, logLevel: "error" });
      if (value !== undefined && value !== null) {
        return utf8(stringifyYaml(mutateJson(value, rng), { aliasDuplicateObjects: false }));
      }
    } catch {
      // not YAML any more: mutate the text
    }
  }
  return utf8(mutateText(text, rng, corpus.map((c) => decoder.decode(c))));
}

const exampleConfigText = () => readText("deploy/examples/vpnv4-agent.yaml");

/** The configuration file target. */
export const configTarget: FuzzTarget = {
  name: "config",
  description: "vpnv4-agent.yaml: YAML parse + zod schema + allocation checks",
  async corpus() {
    const base = await exampleConfigText();
    return [
      utf8(base),
      utf8(JSON.stringify(parseYaml(base))),
      utf8(`${base}\nanchors: &a [*a]\n`),
      utf8("a: &a [1,2]\nb: *a\nc: [*a, *a, *a]\n"),
      utf8(await readText("tests/fixtures/status/config_with_password.yaml")),
    ];
  },
  mutate: mutateYaml,
  maxInputBytes: 64 * 1024,
  // 64 KiB of YAML through the schema takes ~100 ms here; allow for a loaded machine.
  slowMs: 3000,
  run(input) {
    const text = decoder.decode(input);
    const config = parseWithSchema(text, configSchema, { file: "fuzz.yaml" });
    // A configuration the schema accepts must be usable by the code that reads it.
    compilePolicy(config.tenants.policy);
    validateAllocationConfig(config);
  },
  expected(error) {
    return error instanceof ConfigError;
  },
};

let policy: PrefixPolicy | undefined;
async function examplePolicy(): Promise<PrefixPolicy> {
  if (!policy) {
    const config = parseWithSchema(await exampleConfigText(), configSchema, { file: "example" });
    policy = compilePolicy(config.tenants.policy);
  }
  return policy;
}

/** The tenants file target. */
export const tenantsTarget: FuzzTarget = {
  name: "tenants",
  description: "tenants.yaml: YAML + schema + policy; accepted files must pass buildTenantSet",
  async setup() {
    await examplePolicy();
  },
  async corpus() {
    const base = await readText("deploy/examples/tenants.yaml");
    return [
      utf8(base),
      utf8(
        "tenants:\n  - name: a\n    prefixes: [10.1.0.0/16, 10.1.0.0/24]\n    rt: 65000:7\n" +
          "    rd: 192.0.2.1:7\n  - name: b\n    prefixes: [fd00:1::/64]\n",
      ),
      utf8('{"tenants":[{"name":"x","prefixes":["10.9.9.9/32"]}]}'),
    ];
  },
  mutate: mutateYaml,
  maxInputBytes: 64 * 1024,
  slowMs: 3000,
  run(input) {
    const raws = parseTenantsFile(decoder.decode(input), { file: "fuzz.yaml", policy: policy! });
    // What the file accepted, the tenant-set gate must accept unchanged.
    const set = buildTenantSet(raws, policy!);
    invariant(
      set.rejected.length === 0,
      `tenants file accepted what buildTenantSet rejects: ${JSON.stringify(set.rejected[0])}`,
    );
    invariant(set.tenants.size === raws.length, "tenant count changed");
  },
  expected(error) {
    return error instanceof ConfigError;
  },
};

/** The FRR running-config target (parser, then the diff against the example's desired state). */
export const frrRunningConfigTarget: FuzzTarget = {
  name: "frr-running-config",
  description: "show running-config parser (never throws, linear) and the diff on its output",
  async setup() {
    desired = await exampleDesired();
  },
  async corpus() {
    const files = await readDir("tests/fixtures/frr", ".conf");
    return [...files.map((f) => f.bytes), utf8((await exampleDesired()).text)];
  },
  mutate(input, rng, corpus) {
    return utf8(mutateText(decoder.decode(input), rng, corpus.map((c) => decoder.decode(c))));
  },
  maxInputBytes: 256 * 1024,
  slowMs: 300,
  run(input) {
    const text = decoder.decode(input);
    const blocks = parseRunningConfig(text);
    for (const b of blocks) {
      for (
        const l of [b.header, ...b.lines, ...b.sections.flatMap((s) => [s.header, ...s.lines])]
      ) {
        invariant(l.length > 0 && !l.includes("\n"), `parsed line ${JSON.stringify(l)}`);
        invariant(!/^[ \t\r\v\f]|[ \t\r\v\f]$/.test(l), `untrimmed line ${JSON.stringify(l)}`);
        invariant(!l.includes("\r"), `CR inside parsed line ${JSON.stringify(l)}`);
      }
    }
    const diff = diffFrrConfig(desired!, blocks);
    for (const l of diff.lines) {
      invariant(!/[\n\r]/.test(l) && l.length > 0, `diff emits ${JSON.stringify(l).slice(0, 80)}`);
    }
  },
  expected(error) {
    return error instanceof FrrConflictError;
  },
};
let desired: ReturnType<typeof renderFrrConfig> | undefined;

/** The example configuration with tenant demo, rendered. */
async function exampleDesired(): Promise<ReturnType<typeof renderFrrConfig>> {
  const config = parseWithSchema(await exampleConfigText(), configSchema, { file: "example" });
  return renderFrrConfig({
    config,
    tenants: [
      {
        tenant: { name: "demo", prefixes: [parsePrefix("10.244.0.0/24")] },
        allocation: {
          tenant: "demo",
          vrf: "demo",
          table: 1001,
          rd: "65000:1001",
          rt: "65000:1001",
        },
      },
    ],
  });
}
