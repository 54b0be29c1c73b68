/**
 * The reconcile loop with fake planes: ordering, isolation of failures, retries, retirement.
 * (The real planes are exercised in run_test.ts.)
 */
import { assert, assertEquals } from "../support/assert.ts";
import { configSchema, parseWithSchema } from "../../src/config/mod.ts";
import { Allocator } from "../../src/allocate/mod.ts";
import { buildTenantSet, compilePolicy, type TenantSet } from "../../src/tenants/mod.ts";
import type { Desired, Plane, PlaneOutcome, ReconcileRequest } from "../../src/agent/plane.ts";
import { Reconciler } from "../../src/agent/reconciler.ts";
import type { PlaneName } from "../../src/status/model.ts";

const CONFIG = parseWithSchema(
  `bgp: {asn: 65000, router_id: 192.0.2.1}
tenants: {sources: [{type: file, path: t.yaml}]}
reconcile: {debounce_ms: 0, max_backoff_s: 1}
`,
  configSchema,
  { file: "test.yaml" },
);

class FakePlane implements Plane {
  calls: Array<
    { tenants: string[]; retired: string[]; request: ReconcileRequest; desired: Desired }
  > = [];
  failWith?: Error;
  tenantFailures = new Map<string, string>();
  constructor(readonly name: PlaneName, readonly log: string[]) {}
  reconcile(desired: Desired, request: ReconcileRequest): Promise<PlaneOutcome> {
    this.log.push(this.name);
    this.calls.push({
      tenants: [...desired.tenants.keys()],
      retired: desired.retired.map((r) => r.tenant),
      request,
      desired,
    });
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve({ tenantErrors: new Map(this.tenantFailures) });
  }
  withdrawAll(): Promise<void> {
    return Promise.resolve();
  }
  health() {
    return { usable: true, warnings: [] };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function set(spec: Record<string, string[]>): TenantSet {
  return buildTenantSet(
    Object.entries(spec).map(([name, prefixes]) => ({ name, prefixes })),
    compilePolicy(CONFIG.tenants.policy),
  );
}

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-rec-" });
  const allocator = await Allocator.open({ config: CONFIG, statePath: `${dir}/state.json` });
  const order: string[] = [];
  const kernel = new FakePlane("kernel", order);
  const frr = new FakePlane("frr", order);
  const reconciler = new Reconciler({ config: CONFIG, allocator, planes: [kernel, frr] });
  return { dir, allocator, order, kernel, frr, reconciler };
}

Deno.test("reconciler: first tenant set runs a full round, planes in order, state saved", async () => {
  const t = await setup();
  try {
    t.reconciler.setTenants(set({ demo: ["10.244.0.0/24"], "demo-b": ["10.245.0.0/24"] }));
    await t.reconciler.idle();
    assertEquals(t.order, ["kernel", "frr"]);
    assertEquals(t.kernel.calls[0].request.full, true);
    assertEquals(t.kernel.calls[0].tenants, ["demo", "demo-b"]);
    const saved = JSON.parse(await Deno.readTextFile(`${t.dir}/state.json`));
    assertEquals(saved.allocations.length, 2);
    const st = t.reconciler.tenantStatus();
    assertEquals(st.map((s) => [s.name, s.prefixes.ipv4, Object.keys(s.errors).length]), [
      ["demo", 1, 0],
      ["demo-b", 1, 0],
    ]);
    assert(st.every((s) => s.lastApply !== undefined));
  } finally {
    await t.reconciler.stop();
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reconciler: a change is incremental with a changed hint; a removed tenant is retired", async () => {
  const t = await setup();
  try {
    t.reconciler.setTenants(set({ demo: ["10.244.0.0/24"], "demo-b": ["10.245.0.0/24"] }));
    await t.reconciler.idle();
    t.reconciler.setTenants(set({ demo: ["10.244.0.0/24", "10.244.1.0/24"] }));
    await new Promise((r) => setTimeout(r, 20));
    await t.reconciler.idle();
    const last = t.kernel.calls.at(-1)!;
    assertEquals(last.request.full, false);
    assertEquals([...last.request.changed!].sort(), ["demo", "demo-b"]);
    assertEquals(last.tenants, ["demo"]);
    assertEquals(last.retired, ["demo-b"]);
    assertEquals([...last.request.retiredNow!], ["demo-b"]);
    // Same set again: nothing to do, no round.
    const rounds = t.reconciler.rounds;
    t.reconciler.setTenants(set({ demo: ["10.244.0.0/24", "10.244.1.0/24"] }));
    await new Promise((r) => setTimeout(r, 20));
    await t.reconciler.idle();
    assertEquals(t.reconciler.rounds, rounds);
  } finally {
    await t.reconciler.stop();
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reconciler: a prefix change reuses the other tenants' desired entries", async () => {
  const t = await setup();
  try {
    const a = ["10.244.0.0/24"], b = ["10.245.0.0/24"];
    t.reconciler.setTenants(set({ demo: a, "demo-b": b, gone: ["10.246.0.0/24"] }));
    await t.reconciler.idle();
    t.reconciler.setTenants(set({ demo: a, "demo-b": b }));
    await new Promise((r) => setTimeout(r, 20));
    await t.reconciler.idle();
    const before = t.kernel.calls.at(-1)!.desired;
    assertEquals([...before.retiredNow!], ["gone"]);
    // Same tenants, one prefix more for demo (demo-b keeps its Tenant object, as sources
    // hand over unchanged tenants): the allocation is not planned again.
    const next = new Map(set({ demo: [...a, "10.244.1.0/24"] }).tenants);
    next.set("demo-b", t.reconciler.tenants.tenants.get("demo-b")!);
    t.reconciler.setTenants({ tenants: next, rejected: [] });
    await new Promise((r) => setTimeout(r, 20));
    await t.reconciler.idle();
    const after = t.kernel.calls.at(-1)!.desired;
    assertEquals(after.retiredNow!.size, 0);
    assertEquals(after.retired.map((r) => r.tenant), ["gone"]);
    const [d0, d1] = [before.tenants.get("demo")!, after.tenants.get("demo")!];
    assert(d1 !== d0 && d1.allocation === d0.allocation);
    assertEquals(d1.tenant.prefixes.length, 2);
    assert(after.tenants.get("demo-b") === before.tenants.get("demo-b"));
  } finally {
    await t.reconciler.stop();
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reconciler: a failing plane never blocks the others and is retried with backoff", async () => {
  const t = await setup();
  try {
    t.kernel.failWith = new Error("netlink down", { cause: new Error("EPERM") });
    t.reconciler.setTenants(set({ demo: ["10.244.0.0/24"] }));
    await t.reconciler.idle();
    assertEquals(t.order, ["kernel", "frr"]);
    const planes = t.reconciler.planeStatus();
    assertEquals(planes[0].ok, false);
    assertEquals(planes[0].error, "netlink down: EPERM");
    assertEquals(planes[1].ok, true);
    t.kernel.failWith = undefined;
    // The retry (backoff <= 1 s here) runs the kernel plane again, fully.
    const deadline = Date.now() + 5000;
    while (t.kernel.calls.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await t.reconciler.idle();
    assertEquals(t.kernel.calls.length >= 2, true);
    assertEquals(t.kernel.calls[1].request.full, true);
    assertEquals(t.reconciler.planeStatus()[0].ok, true);
  } finally {
    await t.reconciler.stop();
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reconciler: per-tenant failures are reported per tenant and retried as changed", async () => {
  const t = await setup();
  try {
    t.frr.tenantFailures.set("demo-b", "line 3: % Unknown command");
    t.reconciler.setTenants(set({ demo: ["10.244.0.0/24"], "demo-b": ["10.245.0.0/24"] }));
    await t.reconciler.idle();
    const st = t.reconciler.tenantStatus();
    assertEquals(st.find((s) => s.name === "demo-b")!.errors, { frr: "line 3: % Unknown command" });
    assertEquals(st.find((s) => s.name === "demo")!.errors, {});
    t.frr.tenantFailures.clear();
    await t.reconciler.trigger({ full: false, changed: ["demo"] });
    // The frr plane is in backoff: a non-full round skips it until the retry is due.
    const deadline = Date.now() + 5000;
    while (t.reconciler.tenantStatus().find((s) => s.name === "demo-b")!.errors.frr) {
      if (Date.now() > deadline) throw new Error("demo-b never retried");
      await new Promise((r) => setTimeout(r, 50));
    }
    const retry = t.frr.calls.at(-1)!;
    assert(retry.request.full || retry.request.changed!.has("demo-b"));
  } finally {
    await t.reconciler.stop();
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reconciler: an allocation failure applies nothing and is reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-rec-" });
  const tiny = {
    ...CONFIG,
    allocation: { ...CONFIG.allocation, table_range: { min: 1000, max: 1000 } },
  };
  const allocator = await Allocator.open({ config: tiny, statePath: `${dir}/state.json` });
  const order: string[] = [];
  const kernel = new FakePlane("kernel", order);
  const reconciler = new Reconciler({ config: tiny, allocator, planes: [kernel] });
  try {
    reconciler.setTenants(set({ a: ["10.1.0.0/24"], b: ["10.2.0.0/24"] }));
    await reconciler.idle();
    assertEquals(kernel.calls.length, 0);
    assert(reconciler.allocationError?.includes("table_range"), reconciler.allocationError);
  } finally {
    await reconciler.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
