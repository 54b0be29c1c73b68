/**
 * The reconcile loop: turns the tenant set into allocations and drives every plane, event
 * driven (debounced source changes) plus a periodic full resync that repairs drift.
 *
 * - One round at a time; a trigger during a round runs another round afterwards.
 * - Planes run in the order given (the agent: FRR, kernel, import). A plane that throws is retried with exponential
 *   backoff and never blocks the others; a tenant that fails in a plane is retried likewise.
 */
import type { Config } from "../config/mod.ts";
import type { Allocation, Allocator } from "../allocate/mod.ts";
import { getLogger } from "../log/mod.ts";
import { describeError } from "../errors/mod.ts";
import type { TenantSet } from "../tenants/mod.ts";
import type { PlaneName, PlaneStatus, TenantStatus } from "../status/model.ts";
import { type Desired, desiredTenants, type Plane, type PlaneOutcome } from "./plane.ts";

const log = getLogger("agent");

/** A burst of source changes waits at most this many times `reconcile.debounce_ms`. */
const DEBOUNCE_MAX_FACTOR = 4;

/** Called after every plane run (for metrics). */
export type PlaneObserver = (
  plane: PlaneName,
  result: { ok: boolean; durationMs: number; outcome?: PlaneOutcome; error?: unknown },
) => void;

/** Options of {@link Reconciler}. */
export interface ReconcilerOptions {
  config: Config;
  allocator: Allocator;
  planes: Plane[];
  onPlaneRun?: PlaneObserver;
  /** Called when a round is abandoned because allocating or saving the state file failed. */
  onAllocationError?: (error: unknown) => void;
}

interface PlaneState {
  lastRun?: string;
  lastDurationMs?: number;
  ok: boolean;
  error?: string;
  failures: number;
  retryAt?: number;
}

interface Trigger {
  full: boolean;
  changed: Set<string>;
  planes?: Set<PlaneName>;
}

/** Work waiting for the reconcile loop (for metrics). */
export interface ReconcileBacklog {
  /** Tenants whose change waits for a round (debounced, or queued behind a running round). */
  readonly pendingTenants: number;
  /** Age of the oldest change or request not yet taken up by a round, in ms (0: none). */
  readonly oldestPendingMs: number;
  /** A round is queued. */
  readonly pendingRound: boolean;
  /** A round is running. */
  readonly running: boolean;
}

/** The reconcile loop. */
export class Reconciler {
  #config: Config;
  readonly #allocator: Allocator;
  readonly #planes: Plane[];
  readonly #onPlaneRun?: PlaneObserver;
  readonly #onAllocationError?: (error: unknown) => void;
  #tenants: TenantSet = { tenants: new Map(), rejected: [] };
  #haveTenants = false;
  #desired?: Desired;
  readonly #planeState = new Map<PlaneName, PlaneState>();
  readonly #tenantErrors = new Map<string, Partial<Record<PlaneName, string>>>();
  readonly #lastApply = new Map<string, string>();
  #allocationError?: string;
  #allocationFailed = false;
  #pending?: Trigger;
  #pendingSince?: number;
  /** Changed tenants collected while the debounce runs (every update's, not the last's). */
  readonly #debounced = new Set<string>();
  #debouncedSince?: number;
  #running?: Promise<void>;
  #debounce?: ReturnType<typeof setTimeout>;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #rounds = 0;

  constructor(options: ReconcilerOptions) {
    this.#config = options.config;
    this.#allocator = options.allocator;
    this.#planes = options.planes;
    this.#onPlaneRun = options.onPlaneRun;
    this.#onAllocationError = options.onAllocationError;
    for (const p of options.planes) this.#planeState.set(p.name, { ok: false, failures: 0 });
  }

  /** Rounds completed so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /** The current tenant set (validated). */
  get tenants(): TenantSet {
    return this.#tenants;
  }

  /** The last desired state computed (undefined before the first round). */
  get desired(): Desired | undefined {
    return this.#desired;
  }

  /** Replaces the configuration (SIGHUP) and schedules a full round. */
  setConfig(config: Config): void {
    this.#config = config;
    this.trigger({ full: true });
  }

  /** Hands over a new complete tenant set; reconciles after the debounce. */
  setTenants(set: TenantSet, changed?: ReadonlySet<string>): void {
    const before = this.#tenants.tenants;
    this.#tenants = set;
    const first = !this.#haveTenants;
    this.#haveTenants = true;
    const names = new Set<string>(changed ?? []);
    if (!changed) {
      for (const [name, t] of set.tenants) {
        const old = before.get(name);
        if (!old || !sameTenant(old, t)) names.add(name);
      }
    }
    for (const name of before.keys()) if (!set.tenants.has(name)) names.add(name);
    if (first) {
      this.trigger({ full: true });
      return;
    }
    if (names.size === 0) return;
    for (const name of names) this.#debounced.add(name);
    const now = Date.now();
    this.#debouncedSince ??= now;
    // Quiet time, but never longer than DEBOUNCE_MAX_FACTOR × debounce_ms after the first
    // change: a source updating more often than debounce_ms (OVN under churn) would otherwise
    // keep postponing the round for as long as the churn lasts.
    const debounce = this.#config.reconcile.debounce_ms;
    const deadline = this.#debouncedSince + DEBOUNCE_MAX_FACTOR * debounce;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      const changed = [...this.#debounced];
      const since = this.#debouncedSince;
      this.#debounced.clear();
      this.#debouncedSince = undefined;
      if (since !== undefined) this.#pendingSince = Math.min(this.#pendingSince ?? since, since);
      void this.trigger({ full: false, changed });
    }, Math.max(0, Math.min(debounce, deadline - now)));
  }

  /** What waits for the loop: the reconcile backlog. */
  get backlog(): ReconcileBacklog {
    let pendingTenants = this.#debounced.size;
    for (const name of this.#pending?.changed ?? []) {
      if (!this.#debounced.has(name)) pendingTenants++;
    }
    const since = Math.min(this.#pendingSince ?? Infinity, this.#debouncedSince ?? Infinity);
    return {
      pendingTenants,
      oldestPendingMs: Number.isFinite(since) ? Math.max(0, Date.now() - since) : 0,
      pendingRound: this.#pending !== undefined,
      running: this.#running !== undefined,
    };
  }

  /** Asks for a round (merged with any pending one). Resolves when that round has run. */
  trigger(
    request: { full: boolean; changed?: Iterable<string>; planes?: PlaneName[] },
  ): Promise<void> {
    if (this.#stopped || !this.#haveTenants) return Promise.resolve();
    const p = this.#pending ?? { full: false, changed: new Set<string>() };
    p.full ||= request.full;
    for (const n of request.changed ?? []) p.changed.add(n);
    if (request.planes) {
      if (p.planes || this.#pending === undefined) {
        p.planes = new Set([...(p.planes ?? []), ...request.planes]);
      }
    } else p.planes = undefined;
    this.#pending = p;
    this.#pendingSince ??= Date.now();
    return this.#kick();
  }

  #kick(): Promise<void> {
    if (!this.#running) {
      this.#running = (async () => {
        try {
          while (this.#pending && !this.#stopped) {
            const t = this.#pending;
            this.#pending = undefined;
            this.#pendingSince = undefined;
            await this.#round(t);
          }
        } finally {
          this.#running = undefined;
        }
      })();
    }
    return this.#running;
  }

  /** Waits for the running round (if any) to finish. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops scheduling rounds (a running round finishes). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#debounce);
    clearTimeout(this.#retryTimer);
    await this.idle();
  }

  #computeDesired(): Desired {
    const plan = this.#allocator.allocate(this.#tenants.tenants.values(), {
      config: this.#config,
    });
    const tenants = desiredTenants(this.#tenants.tenants, plan.allocations, {
      previous: this.#desired?.tenants,
    });
    const retired: Allocation[] = [];
    for (const e of this.#allocator.state.entries.values()) {
      if (e.retired_at) {
        retired.push({ tenant: e.tenant, vrf: e.vrf, table: e.table, rd: "", rt: "" });
      }
    }
    return { config: this.#config, tenants, retired, retiredNow: new Set(plan.retired) };
  }

  async #round(t: Trigger): Promise<void> {
    let desired: Desired;
    try {
      desired = this.#computeDesired();
      await this.#allocator.save();
      this.#allocationError = undefined;
    } catch (e) {
      this.#allocationError = describeError(e);
      log.error("allocation failed, nothing applied: {error}", { error: this.#allocationError });
      this.#onAllocationError?.(e);
      this.#allocationFailed = true;
      this.#scheduleRetry(Date.now() + this.#config.reconcile.max_backoff_s * 1000);
      return;
    }
    // Rounds abandoned by an allocation failure dropped their changed-tenant hints (the retry
    // carries none): the first round that allocates again looks at everything.
    if (this.#allocationFailed) t = { full: true, changed: t.changed };
    this.#allocationFailed = false;
    this.#desired = desired;
    const now = Date.now();
    for (const plane of this.#planes) {
      if (t.planes && !t.planes.has(plane.name)) continue;
      const state = this.#planeState.get(plane.name)!;
      // A plane in backoff waits for its retry unless this is a full round.
      // (timers may fire a little early: 50 ms of slack).
      if (!t.full && state.retryAt !== undefined && state.retryAt > now + 50) continue;
      const full = t.full || state.retryAt !== undefined || !state.ok;
      const changed = new Set(t.changed);
      for (const [name, errs] of this.#tenantErrors) if (errs[plane.name]) changed.add(name);
      const started = performance.now();
      try {
        const outcome = await plane.reconcile(desired, {
          full,
          changed,
          retiredNow: desired.retiredNow,
        });
        const durationMs = performance.now() - started;
        Object.assign(state, {
          lastRun: new Date().toISOString(),
          lastDurationMs: Math.round(durationMs * 10) / 10,
          ok: outcome.tenantErrors.size === 0,
          error: undefined,
        });
        this.#recordTenants(plane.name, desired, outcome, full ? undefined : changed);
        if (outcome.tenantErrors.size > 0) this.#backoff(state);
        else {
          state.failures = 0;
          state.retryAt = undefined;
        }
        this.#onPlaneRun?.(plane.name, { ok: state.ok, durationMs, outcome });
      } catch (e) {
        const durationMs = performance.now() - started;
        Object.assign(state, {
          lastRun: new Date().toISOString(),
          lastDurationMs: Math.round(durationMs * 10) / 10,
          ok: false,
          error: describeError(e),
        });
        this.#backoff(state);
        log.error("{plane} plane failed (retry in {retry} s): {error}", {
          plane: plane.name,
          error: state.error,
          retry: Math.round((state.retryAt! - Date.now()) / 1000),
        });
        this.#onPlaneRun?.(plane.name, { ok: false, durationMs, error: e });
      }
    }
    this.#rounds++;
    // Planes still backing off (skipped this round) need their retry timer.
    const waiting = [...this.#planeState.values()].map((st) => st.retryAt ?? Infinity);
    const next = Math.min(...waiting);
    if (Number.isFinite(next)) this.#scheduleRetry(next);
  }

  #recordTenants(
    plane: PlaneName,
    desired: Desired,
    outcome: PlaneOutcome,
    onlyChanged?: ReadonlySet<string>,
  ): void {
    const now = new Date().toISOString();
    for (const name of desired.tenants.keys()) {
      if (onlyChanged && !onlyChanged.has(name)) continue;
      const errs = this.#tenantErrors.get(name) ?? {};
      const err = outcome.tenantErrors.get(name);
      if (err) {
        errs[plane] = err;
        log.warn("{plane}: tenant {tenant} failed: {error}", { plane, tenant: name, error: err });
      } else delete errs[plane];
      if (Object.keys(errs).length > 0) this.#tenantErrors.set(name, errs);
      else {
        this.#tenantErrors.delete(name);
        this.#lastApply.set(name, now);
      }
    }
    for (const name of this.#tenantErrors.keys()) {
      if (!desired.tenants.has(name) && !outcome.tenantErrors.has(name)) {
        this.#tenantErrors.delete(name);
      }
    }
  }

  #backoff(state: PlaneState): void {
    state.failures++;
    const max = this.#config.reconcile.max_backoff_s * 1000;
    const base = Math.min(max, 1000 * 2 ** Math.min(state.failures - 1, 16));
    const delay = base / 2 + Math.random() * base / 2;
    state.retryAt = Date.now() + delay;
    this.#scheduleRetry(state.retryAt);
  }

  #scheduleRetry(at: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    const next = Math.min(
      at,
      ...[...this.#planeState.values()].map((s) => s.retryAt ?? Infinity),
    );
    this.#retryTimer = setTimeout(
      () => this.trigger({ full: false }),
      Math.max(0, next - Date.now()),
    );
  }

  /** Per-plane status for `/status`. */
  planeStatus(): PlaneStatus[] {
    return this.#planes.map((p) => {
      const s = this.#planeState.get(p.name)!;
      const h = p.health();
      return {
        name: p.name,
        usable: h.usable,
        lastRun: s.lastRun,
        lastDurationMs: s.lastDurationMs,
        ok: s.ok,
        error: s.error ?? (p.name === "kernel" ? this.#allocationError : undefined),
        warnings: h.warnings,
      };
    });
  }

  /** Per-tenant status for `/status`. */
  tenantStatus(importedRoutes: (tenant: string) => number = () => 0): TenantStatus[] {
    const out: TenantStatus[] = [];
    for (const [name, d] of this.#desired?.tenants ?? []) {
      out.push({
        name,
        vrf: d.allocation.vrf,
        table: d.allocation.table,
        rd: d.allocation.rd,
        rt: d.allocation.rt,
        prefixes: {
          ipv4: d.tenant.prefixes.filter((p) => p.family === 4).length,
          ipv6: d.tenant.prefixes.filter((p) => p.family === 6).length,
        },
        lastApply: this.#lastApply.get(name),
        errors: { ...this.#tenantErrors.get(name) },
        importedRoutes: importedRoutes(name),
      });
    }
    return out;
  }

  /** The allocation error that blocks every plane, if any. */
  get allocationError(): string | undefined {
    return this.#allocationError;
  }
}

function sameTenant(
  a: {
    prefixes: readonly { family: number; bytes: Uint8Array; length: number }[];
    rt?: string;
    rd?: string;
  },
  b: typeof a,
): boolean {
  if (a.rt !== b.rt || a.rd !== b.rd || a.prefixes.length !== b.prefixes.length) return false;
  for (let i = 0; i < a.prefixes.length; i++) {
    const x = a.prefixes[i], y = b.prefixes[i];
    if (x.family !== y.family || x.length !== y.length) return false;
    for (let j = 0; j < x.bytes.length; j++) if (x.bytes[j] !== y.bytes[j]) return false;
  }
  return true;
}
