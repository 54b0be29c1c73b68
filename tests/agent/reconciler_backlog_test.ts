/**
 * The reconcile loop under bursts: every update's changes within one debounce reach the
 * planes, and the backlog (for metrics) counts what waits and empties when the loop is idle.
 */
import { assertEquals } from "../support/assert.ts";
import { configSchema, parseWithSchema } from "../../src/config/mod.ts";
import { Allocator } from "../../src/allocate/mod.ts";
import { buildTenantSet, compilePolicy, type TenantSet } from "../../src/tenants/mod.ts";
import type { Desired, Plane, PlaneOutcome, ReconcileRequest } from "../../src/agent/plane.ts";
import { Reconciler } from "../../src/agent/reconciler.ts";
import { waitFor } from "../support/proc.ts";

const CONFIG = parseWithSchema(
  `bgp: {asn: 65000, router_id: 192.0.2.1}
tenants: {sources: [{type: file, path: t.yaml}]}
reconcile: {debounce_ms: 150, max_backoff_s: 1}
`,
  configSchema,
  { file: "test.yaml" },
);

/** A kernel plane that records requests and can be held (to queue work behind it). */
class SlowPlane implements Plane {
  readonly name = "kernel" as const;
  requests: ReconcileRequest[] = [];
  #release?: () => void;
  hold = false;
  async reconcile(_desired: Desired, request: ReconcileRequest): Promise<PlaneOutcome> {
    this.requests.push(request);
    if (this.hold) await new Promise<void>((r) => this.#release = r);
    return { tenantErrors: new Map() };
  }
  release(): void {
    this.hold = false;
    this.#release?.();
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

function set(spec: Record<string, string[]>, changed?: string[]): [TenantSet, Set<string>?] {
  const built = buildTenantSet(
    Object.entries(spec).map(([name, prefixes]) => ({ name, prefixes })),
    compilePolicy(CONFIG.tenants.policy),
  );
  return [built, changed ? new Set(changed) : undefined];
}

Deno.test("reconciler: a burst of updates within the debounce keeps every update's changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-rec-" });
  const allocator = await Allocator.open({ config: CONFIG, statePath: `${dir}/state.json` });
  const plane = new SlowPlane();
  const reconciler = new Reconciler({ config: CONFIG, allocator, planes: [plane] });
  try {
    reconciler.setTenants(...set({ a: ["10.1.0.0/24"], b: ["10.2.0.0/24"], c: ["10.3.0.0/24"] }));
    await reconciler.idle();
    assertEquals(reconciler.backlog.pendingTenants, 0);
    // Three updates within one debounce, each with its own hint (as the OVN source sends).
    reconciler.setTenants(
      ...set({ a: ["10.1.1.0/24"], b: ["10.2.0.0/24"], c: ["10.3.0.0/24"] }, ["a"]),
    );
    reconciler.setTenants(
      ...set({ a: ["10.1.1.0/24"], b: ["10.2.1.0/24"], c: ["10.3.0.0/24"] }, ["b"]),
    );
    // Without a hint: computed against the previous set.
    reconciler.setTenants(
      ...set({ a: ["10.1.1.0/24"], b: ["10.2.1.0/24"], c: ["10.3.1.0/24"] }),
    );
    assertEquals(reconciler.backlog.pendingTenants, 3);
    await waitFor(() => plane.requests.length === 2, {
      timeoutMs: 10_000,
      describe: () => `requests: ${plane.requests.length}`,
    });
    await reconciler.idle();
    const last = plane.requests.at(-1)!;
    assertEquals(last.full, false);
    assertEquals([...last.changed!].sort(), ["a", "b", "c"]);
    assertEquals(reconciler.backlog, {
      pendingTenants: 0,
      oldestPendingMs: 0,
      pendingRound: false,
      running: false,
    });

    // Changes queued behind a running round are the backlog until that round ends.
    plane.hold = true;
    const running = reconciler.trigger({ full: true });
    await waitFor(() => plane.requests.length === 3, {
      timeoutMs: 10_000,
      describe: () => `requests: ${plane.requests.length}`,
    });
    void reconciler.trigger({ full: false, changed: ["x", "y"] });
    const b = reconciler.backlog;
    assertEquals([b.pendingTenants, b.pendingRound, b.running], [2, true, true]);
    await new Promise((r) => setTimeout(r, 30));
    assertEquals(reconciler.backlog.oldestPendingMs >= 20, true);
    plane.release();
    await running;
    await reconciler.idle();
    assertEquals(reconciler.backlog.pendingTenants, 0);
  } finally {
    await reconciler.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reconciler: updates more frequent than the debounce still get rounds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vpnv4-rec-" });
  const allocator = await Allocator.open({ config: CONFIG, statePath: `${dir}/state.json` });
  const plane = new SlowPlane();
  const reconciler = new Reconciler({ config: CONFIG, allocator, planes: [plane] });
  try {
    reconciler.setTenants(...set({ a: ["10.1.0.0/24"] }));
    await reconciler.idle();
    const before = plane.requests.length;
    // 20 updates 100 ms apart (debounce 150 ms): the quiet time never comes during the burst.
    for (let i = 1; i <= 20; i++) {
      reconciler.setTenants(...set({ a: [`10.1.${i}.0/24`] }, ["a"]));
      await new Promise((r) => setTimeout(r, 100));
    }
    const during = plane.requests.length - before;
    assertEquals(during >= 2, true, `only ${during} rounds during a 2 s burst`);
  } finally {
    await reconciler.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
