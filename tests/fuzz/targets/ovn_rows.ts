/**
 * OVN NB rows target: monitor contents and update2 notifications (captured from ovsdb-server,
 * mutated, plus generated hostile ports) through the real OVSDB cache with the real NB schema
 * into the tenant index, then the tenant-set gate. Expected error: OvsdbSchemaError (a row the
 * schema cannot decode). Invariants: the index never throws; the incremental index equals one
 * rebuilt from the final cache; exported prefixes are never default routes, always inside
 * `allowed` and outside `deny`, each owned by exactly one tenant with a valid name.
 * @module
 */
import { DatabaseCache, OvsdbSchemaError, parseSchema } from "../../../src/ovsdb/mod.ts";
import type { DatabaseSchema, Row } from "../../../src/ovsdb/mod.ts";
import { ovnMonitorSpec, TenantIndex } from "../../../src/ovn/mod.ts";
import { buildTenantSet, compilePolicy, TENANT_NAME } from "../../../src/tenants/mod.ts";
import { formatPrefix, isDefaultRoute, parsePrefix, prefixContains } from "../../../src/net/mod.ts";
import { type FuzzTarget, invariant } from "../harness.ts";
import { mutateJson } from "../mutate.ts";
import type { Rng } from "../prng.ts";
import { utf8 } from "./corpus.ts";
import { ovsdbMessages, parseJsonBytes } from "./ovsdb_corpus.ts";

const NS = "k8s.ovn.org/namespace";
const policy = compilePolicy({
  allowed: ["10.0.0.0/8", "fd00::/8"],
  deny: ["10.96.0.0/12"],
  max_prefixes_per_tenant: 64,
});
let schema: DatabaseSchema | undefined;

const NAMES = [
  "demo",
  "demo-b",
  "Demo",
  "kube-system",
  "default",
  "a.b",
  "a_b",
  "x".repeat(63),
  "x".repeat(64),
  "",
  "-lead",
  "ns\n1",
  "ns 1",
  "ns!1",
  "\u00e9t\u00e9",
  "\ud83d\ude00",
  "vt12345",
  "lo",
];
const ADDRS = [
  "0a:58:0a:f4:00:05 10.244.0.5",
  "0a:58:0a:f4:00:06 10.244.0.6 fd00:10:244::6",
  "0a:58:0a:f4:00:07 0.0.0.0",
  "0a:58:0a:f4:00:08 ::",
  "unknown",
  "router",
  "dynamic",
  "0a:58:0a:f4:00:09 10.96.0.1",
  "0a:58:0a:f4:00:0a 192.168.1.1",
  "0a:58:0a:f4:00:0b 10.1.2.3/0",
  "0a:58:0a:f4:00:0c 10.1.2.3/24",
  "0a:58:0a:f4:00:0d fd00::1/0",
  "10.244.0.5",
  "00:00:00:00:00:00",
  "0a:58:0a:f4:00:0e 10.244.0.300",
  "0a:58:0a:f4:00:0f 1.2.3.4\n5.6.7.8",
  "x".repeat(5000),
];
const SUBNETS = ["10.244.0.0/24", "0.0.0.0/0", "10.0.0.0/8,10.1.0.0/16", "bogus", "10.244.0.7/24"];

function uuid(rng: Rng): string {
  const h = () => rng.u32().toString(16).padStart(8, "0");
  return `${h()}-${h().slice(0, 4)}-${h().slice(0, 4)}-${h().slice(0, 4)}-${h()}${h().slice(0, 4)}`;
}

/** A generated update2 batch inserting, modifying and deleting hostile ports and switches. */
function hostileBatch(rng: Rng, known: string[]): unknown {
  const lsp: Record<string, unknown> = {};
  const ls: Record<string, unknown> = {};
  for (let i = rng.range(1, 4); i > 0; i--) {
    const id = rng.chance(0.3) && known.length > 0 ? rng.pick(known) : uuid(rng);
    known.push(id);
    const row = {
      name: `p${rng.int(100)}`,
      type: rng.pick(["", "", "router", "virtual", "localnet"]),
      addresses: ["set", Array.from({ length: rng.int(3) }, () => rng.pick(ADDRS))],
      external_ids: ["map", [
        [rng.pick([NS, "neutron:project_id", "other"]), rng.pick(NAMES)],
        ...(rng.chance(0.3)
          ? [["neutron:cidrs", rng.pick(["10.2.0.9/24", "0.0.0.0/0", "fd00::5/64 10.3.0.1/16"])]]
          : []),
      ]],
    };
    const op = rng.int(5);
    lsp[id] = op === 0
      ? { delete: null }
      : op === 1
      ? { modify: { addresses: row.addresses } }
      : { insert: row };
  }
  if (rng.chance(0.4)) {
    const id = uuid(rng);
    ls[id] = {
      insert: {
        ports: ["set", known.slice(-3).map((k) => ["uuid", k])],
        other_config: ["map", [["subnet", rng.pick(SUBNETS)]]],
      },
    };
  }
  return { Logical_Switch_Port: lsp, Logical_Switch: ls };
}

function newIndex(mode: "host" | "subnet"): TenantIndex {
  return new TenantIndex({ namespaceKeys: [NS, "neutron:project_id"], prefixMode: mode, policy });
}

function feed(index: TenantIndex, table: string, row: Row, deleted: boolean): void {
  if (table === "Logical_Switch_Port") {
    if (deleted) index.deletePort(row._uuid);
    else index.upsertPort(row);
  } else if (deleted) index.deleteSwitch(row._uuid);
  else index.upsertSwitch(row);
}

/** The OVN rows target. */
export const ovnRowsTarget: FuzzTarget = {
  name: "ovn-rows",
  description:
    "OVSDB cache (NB schema, update2) -> tenant index -> tenant set, isolation invariants",
  async setup() {
    const msgs = await ovsdbMessages();
    const reply = parseJsonBytes(msgs.find((m) => m.name.includes("get_schema"))!.bytes);
    schema = parseSchema((reply as { result: unknown }).result);
  },
  async corpus() {
    const msgs = await ovsdbMessages();
    const initial = (parseJsonBytes(msgs.find((m) => m.name.includes("monitor_cond"))!.bytes) as {
      result: unknown;
    }).result;
    const updates = msgs.filter((m) => m.name.includes("update2")).map((m) =>
      (parseJsonBytes(m.bytes) as { params: unknown[] }).params[1]
    );
    return [utf8(JSON.stringify([initial, ...updates])), utf8(JSON.stringify([initial]))];
  },
  maxInputBytes: 128 * 1024,
  mutate(input, rng) {
    const value = parseJsonBytes(input);
    if (!Array.isArray(value) || value.length === 0) return input;
    if (rng.chance(0.5)) {
      const known: string[] = [];
      for (const tu of value) {
        if (tu && typeof tu === "object") {
          for (const t of Object.values(tu)) {
            if (t && typeof t === "object") known.push(...Object.keys(t));
          }
        }
      }
      const next = [...value];
      next.splice(rng.range(1, next.length), 0, hostileBatch(rng, known));
      return utf8(JSON.stringify(next));
    }
    return utf8(JSON.stringify(mutateJson(value, rng)));
  },
  run(input) {
    const batches = parseJsonBytes(input);
    if (!Array.isArray(batches) || batches.length === 0) return;
    for (const mode of ["host", "subnet"] as const) {
      // update2 notation: the cache keeps the rows (as with `row_cache: true`).
      const cache = new DatabaseCache(schema!, ovnMonitorSpec(mode, { rowCache: true }));
      const index = newIndex(mode);
      cache.addEventHandler({
        onAdd: (t, r) => feed(index, t, r, false),
        onUpdate: (t, _o, r) => feed(index, t, r, false),
        onDelete: (t, r) => feed(index, t, r, true),
      });
      // A port listed by two switches at once is ambiguous in subnet mode: which switch's
      // subnet applies then depends on the order of updates, so the rebuild check is skipped.
      let ambiguous = false;
      cache.addEventHandler({
        onBatch: () => {
          if (mode !== "subnet" || ambiguous) return;
          const seen = new Set<unknown>();
          for (const r of cache.table("Logical_Switch").rows()) {
            for (const p of Array.isArray(r.ports) ? new Set(r.ports) : []) {
              if (seen.has(p)) ambiguous = true;
              seen.add(p);
            }
          }
        },
      });
      let schemaError: unknown;
      try {
        cache.replaceAll(batches[0], 2);
        for (const b of batches.slice(1)) cache.applyUpdates(b, 2);
      } catch (e) {
        if (!(e instanceof OvsdbSchemaError)) throw e;
        schemaError = e;
      }
      // Incremental == rebuilt from the cache's final contents.
      const fresh = newIndex(mode);
      if (mode === "subnet") {
        for (const r of cache.table("Logical_Switch").rows()) fresh.upsertSwitch(r);
      }
      for (const r of cache.table("Logical_Switch_Port").rows()) fresh.upsertPort(r);
      const a = JSON.stringify(index.tenants().map((t) => [t.name, t.prefixes]));
      const b = JSON.stringify(fresh.tenants().map((t) => [t.name, t.prefixes]));
      invariant(
        ambiguous || a === b,
        `${mode}: incremental index ${a.slice(0, 200)} != rebuilt ${b.slice(0, 200)}`,
      );
      const set = buildTenantSet(index.tenants(), policy);
      const owner = new Map<string, string>();
      for (const t of set.tenants.values()) {
        invariant(TENANT_NAME.test(t.name), `tenant name ${JSON.stringify(t.name)}`);
        for (const p of t.prefixes) {
          const key = formatPrefix(p);
          invariant(!isDefaultRoute(p), `${t.name} exports default route ${key}`);
          invariant(
            policy.allowed.some((x) => prefixContains(x, p)),
            `${t.name}: ${key} outside allowed`,
          );
          invariant(!policy.deny.some((x) => prefixContains(x, p)), `${t.name}: ${key} denied`);
          invariant(!owner.has(key), `${key} exported by ${owner.get(key)} and ${t.name}`);
          owner.set(key, t.name);
          invariant(formatPrefix(parsePrefix(key)) === key, `non-canonical ${key}`);
        }
      }
      if (schemaError) throw schemaError;
    }
  },
  expected(error) {
    return error instanceof OvsdbSchemaError;
  },
};
