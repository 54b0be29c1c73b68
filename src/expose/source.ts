/**
 * The expose source: follows the OVN NB (and, for `binding_source: sb`, SB) tables the
 * selectors read, recomputes this chassis' exposure after every (debounced) change and hands
 * the differences to a {@link BgpDriver} as upstream-style expose/withdraw calls, withdrawals
 * first. A port whose binding moves to another chassis is withdrawn here in the same round
 * the new chassis exposes it in.
 * @module
 */
import type { ExposeConfig } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";
import {
  type CacheEventHandler,
  type DatabaseCache,
  type MonitorSpec,
  OvsdbClient,
  type OvsdbClientOptions,
} from "../ovsdb/mod.ts";
import { describeError } from "../errors/mod.ts";
import type { SourceStatus } from "../status/model.ts";
import type { BgpDriver } from "./driver.ts";
import type { ChassisIdentity, ExposedPrefix, ExposeRejection, ExposureSet } from "./model.ts";
import { NB_EXPOSE_SPEC, SB_EXPOSE_SPEC } from "./rows.ts";
import { selectExposure, type SelectorSettings } from "./selectors.ts";

const log = getLogger("expose");

/** The configuration fields the source reads. */
export type ExposeSourceSettings =
  & SelectorSettings
  & Pick<ExposeConfig, "sb_connection" | "sb_tls" | "nb_tls">
  & { nb_connection: string };

/** Options of {@link ExposeSource}. */
export interface ExposeSourceOptions {
  /** Quiet time after a change before recomputing (default 100 ms). */
  debounceMs?: number;
  /** Overrides of the OVSDB client options. */
  client?: Partial<Omit<OvsdbClientOptions, "remotes" | "database" | "tls">>;
}

interface Db {
  client: OvsdbClient;
  cache?: DatabaseCache;
  connected: boolean;
}

/** Follows OVN and drives a {@link BgpDriver}. */
export class ExposeSource {
  readonly #settings: ExposeSourceSettings;
  readonly #chassis: ChassisIdentity;
  readonly #driver: BgpDriver;
  readonly #opts: ExposeSourceOptions;
  #nb?: Db;
  #sb?: Db;
  #current?: ExposureSet;
  #timer?: ReturnType<typeof setTimeout>;
  #running?: Promise<void>;
  #again = false;
  #stopped = false;
  #lastError?: string;
  #lastUpdate?: string;
  #rejectedSeen = new Set<string>();

  constructor(
    settings: ExposeSourceSettings,
    options: ExposeSourceOptions & { chassis: ChassisIdentity; driver: BgpDriver },
  ) {
    this.#settings = settings;
    this.#chassis = options.chassis;
    this.#driver = options.driver;
    this.#opts = options;
  }

  /** `expose:` + chassis name. */
  get id(): string {
    return `expose:${this.#chassis.name}`;
  }

  /** The chassis this source exposes for. */
  get chassis(): ChassisIdentity {
    return this.#chassis;
  }

  /** The last computed exposure (undefined before the first sync). */
  current(): ExposureSet | undefined {
    return this.#current;
  }

  /** Recomputes the exposure from the caches now (without driving the driver). */
  compute(): ExposureSet | undefined {
    const nb = this.#nb?.cache;
    if (!nb) return undefined;
    const sb = this.#sb?.cache;
    if (this.#settings.binding_source === "sb" && !sb) return undefined;
    const rows = (c: DatabaseCache, t: string) => c.table(t).rows();
    return selectExposure({
      switches: rows(nb, "Logical_Switch"),
      ports: rows(nb, "Logical_Switch_Port"),
      routerPorts: rows(nb, "Logical_Router_Port"),
      gatewayChassis: rows(nb, "Gateway_Chassis"),
      nats: rows(nb, "NAT"),
      chassis: sb ? rows(sb, "Chassis") : undefined,
      bindings: sb ? rows(sb, "Port_Binding") : undefined,
    }, { chassis: this.#chassis, settings: this.#settings });
  }

  /** The last error applying a change (status). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** The source as /status lists it: synced once a snapshot was applied, the last error. */
  status(): SourceStatus {
    const connected = [this.#nb, this.#sb].filter((d): d is Db => d !== undefined)
      .every((d) => d.connected);
    return {
      id: this.id,
      synced: this.#current !== undefined,
      lastUpdate: this.#lastUpdate,
      error: this.#lastError,
      connected,
    };
  }

  async #open(
    remotes: string,
    database: string,
    spec: MonitorSpec,
    tls: ExposeConfig["sb_tls"],
  ): Promise<Db> {
    const client = new OvsdbClient({ remotes, database, tls, ...this.#opts.client });
    const db: Db = { client, connected: false };
    client.onStateChange((s) => {
      db.connected = s.state !== "disconnected";
      if (s.state === "disconnected" && !this.#stopped) {
        log.warn("expose: {db} connection lost: {reason}", {
          db: database,
          reason: s.reason ?? "",
        });
      }
    });
    await client.connect();
    const handler: CacheEventHandler = { onBatch: () => this.#schedule() };
    db.cache = await client.monitor(spec, { handler });
    return db;
  }

  /** Connects, takes the initial snapshot and applies it; then follows changes. */
  async start(): Promise<void> {
    try {
      this.#nb = await this.#open(
        this.#settings.nb_connection,
        "OVN_Northbound",
        NB_EXPOSE_SPEC,
        this.#settings.nb_tls,
      );
      if (this.#settings.binding_source === "sb") {
        if (!this.#settings.sb_connection) throw new Error("expose.sb_connection is required");
        this.#sb = await this.#open(
          this.#settings.sb_connection,
          "OVN_Southbound",
          SB_EXPOSE_SPEC,
          this.#settings.sb_tls,
        );
      }
    } catch (e) {
      await this.stop();
      throw new Error(`${this.id}: initial sync failed: ${describeError(e)}`, { cause: e });
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#recompute();
  }

  #schedule(): void {
    if (this.#stopped || !this.#nb?.cache) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#recompute();
    }, this.#opts.debounceMs ?? 100);
  }

  /** Recomputes and applies the differences (one at a time; a change during a run reruns). */
  #recompute(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#applyOnce();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async #applyOnce(): Promise<void> {
    const next = this.compute();
    if (!next) return;
    this.#logRejections(next.rejected);
    const before = this.#current ?? { hosts: [], subnets: [], rejected: [] };
    try {
      await applyDifference(this.#driver, before, next);
      this.#current = next;
      this.#lastError = undefined;
      this.#lastUpdate = new Date().toISOString();
    } catch (e) {
      // Leave #current as it was: the next change (or the plane's full sync) repairs.
      this.#lastError = describeError(e);
      log.error("expose: applying the change failed: {error}", { error: this.#lastError });
    }
  }

  #logRejections(rejected: readonly ExposeRejection[]): void {
    const seen = new Set<string>();
    for (const r of rejected) {
      const key = `${r.where}|${r.reason}`;
      seen.add(key);
      if (!this.#rejectedSeen.has(key)) {
        log.warn("expose: skipped {where}: {reason}", { where: r.where, reason: r.reason });
      }
    }
    this.#rejectedSeen = seen;
  }

  /** Waits for a pending recompute (tests). */
  async idle(): Promise<void> {
    while (this.#timer !== undefined || this.#running) {
      if (this.#running) await this.#running;
      else await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
    await this.#nb?.client.close().catch(() => {});
    await this.#sb?.client.close().catch(() => {});
  }
}

function group(list: readonly ExposedPrefix[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const e of list) {
    let s = out.get(e.port);
    if (!s) out.set(e.port, s = new Set());
    s.add(e.text);
  }
  return out;
}

function minus(a: Map<string, Set<string>>, b: Map<string, Set<string>>) {
  const out = new Map<string, string[]>();
  for (const [port, set] of a) {
    const other = b.get(port);
    const left = [...set].filter((t) => !other?.has(t));
    if (left.length > 0) out.set(port, left);
  }
  return out;
}

/**
 * Drives `driver` from exposure `before` to `after` with upstream-style calls: withdrawals
 * (IPs, then subnets) first, then exposures (IPs, then subnets), per port.
 */
export async function applyDifference(
  driver: BgpDriver,
  before: Pick<ExposureSet, "hosts" | "subnets">,
  after: Pick<ExposureSet, "hosts" | "subnets">,
): Promise<void> {
  const [bh, ah, bs, as] = [
    group(before.hosts),
    group(after.hosts),
    group(before.subnets),
    group(after.subnets),
  ];
  const calls: Promise<void>[] = [];
  for (const [port, ips] of minus(bh, ah)) {
    calls.push(driver.withdrawIp(ips.map((t) => t.split("/")[0]), { logicalPort: port }));
  }
  for (const [port, subnets] of minus(bs, as)) {
    for (const s of subnets) calls.push(driver.withdrawSubnet(s, { logicalPort: port }));
  }
  for (const [port, ips] of minus(ah, bh)) {
    calls.push(driver.exposeIp(ips.map((t) => t.split("/")[0]), { logicalPort: port }));
  }
  for (const [port, subnets] of minus(as, bs)) {
    for (const s of subnets) calls.push(driver.exposeSubnet(s, { logicalPort: port }));
  }
  // Started together: the expose driver coalesces them into one kernel sync.
  const results = await Promise.allSettled(calls);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
