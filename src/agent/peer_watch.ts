/**
 * The BGP peer watcher: every `reconcile.frr_check_s` seconds it reads the peers from FRR (the
 * one read that fills `/status` and `vpnv4_bgp_peer_up`), hands them on, and logs each
 * configured peer's transitions into and out of Established, so that the journal says when a
 * FortiGate went down and came back.
 *
 * - becoming Established: `info` `bgp peer P established (prefixes received N)`;
 * - leaving it: `warn` `bgp peer P left Established: now STATE` (with the uptime seen at the
 *   last check);
 * - still Established but with a smaller uptime than at the last check (the session was reset
 *   between two checks): `warn` `bgp peer P was reset between checks …`, counted as down and up;
 * - the first check that finds a peer logs its state once at `info` (no warning for a peer that
 *   was never up); other changes (Active ⇄ Connect while a peer is down) are `debug` only;
 * - a failing vtysh call is not a transition: `debug`, and the last known states stay.
 *
 * Peers that are not configured (`bgp.peers`) are never logged or counted. A configured peer
 * that FRR does not report (not, or not yet, in its configuration) is in the state `absent`.
 * @module
 */
import type { Config } from "../config/mod.ts";
import { describeError } from "../errors/mod.ts";
import { Vtysh, type VtyshSettings } from "../frr/mod.ts";
import { getLogger } from "../log/mod.ts";
import type { PeerStatus } from "../status/model.ts";
import { parsePeerSummaries, PEER_SUMMARY_COMMANDS } from "../status/peers.ts";

const log = getLogger("peers");

/** FRR's state of an up session. */
export const ESTABLISHED = "Established";

/** The state of a configured peer that FRR does not report. */
export const ABSENT = "absent";

/**
 * Reads the BGP peers from FRR: {@link PEER_SUMMARY_COMMANDS} through vtysh, parsed by
 * {@link parsePeerSummaries}. Rejects when vtysh fails or answers something that is not JSON.
 */
export async function readPeers(settings: VtyshSettings): Promise<PeerStatus[]> {
  const vtysh = new Vtysh(settings);
  const merged: Record<string, unknown> = {};
  for (const cmd of PEER_SUMMARY_COMMANDS) {
    const text = await vtysh.show(cmd);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new Error(`vtysh -c '${cmd}': output is not JSON: ${text.slice(0, 200)}`, { cause });
    }
    if (parsed && typeof parsed === "object") Object.assign(merged, parsed);
  }
  return parsePeerSummaries(merged);
}

/** One configured peer entering (`up`) or leaving (`down`) Established. */
export interface PeerTransition {
  /** The peer's address, as configured. */
  peer: string;
  to: "up" | "down";
  /** FRR's state now ({@link ABSENT} when FRR no longer reports the peer). */
  state: string;
  /** The state at the check before. */
  previous: string;
  /** up: seconds Established now; down: seconds it had been Established at the last check. */
  uptimeSeconds?: number;
  /** up: prefixes received from the peer, all families. */
  received?: number;
}

/** Options of {@link PeerWatch}. */
export interface PeerWatchOptions {
  /**
   * The configuration in force, read at every check: `bgp.peers` (which peers are watched),
   * `frr` (how vtysh is run), `reconcile.frr_check_s` (the time to the next check).
   */
  config: () => Pick<Config, "bgp" | "frr" | "reconcile">;
  /** Told the peers of every successful read (the agent's status). */
  onPeers?: (peers: PeerStatus[]) => void;
  /** Told every transition (metrics); a reset between checks is a `down` and an `up`. */
  onTransition?: (transition: PeerTransition) => void;
}

interface Observation {
  state: string;
  uptimeSeconds?: number;
}

/** Seconds as `1d02h03m04s` (leading zero units left out). */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), "d"],
    [Math.floor(s / 3600) % 24, "h"],
    [Math.floor(s / 60) % 60, "m"],
    [s % 60, "s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return "0s";
  return parts.slice(first).map(([n, unit], i) =>
    `${i === 0 ? n : String(n).padStart(2, "0")}${unit}`
  ).join("");
}

function receivedOf(peer: PeerStatus | undefined): number {
  let sum = 0;
  for (const counts of Object.values(peer?.families ?? {})) sum += counts.received ?? 0;
  return sum;
}

/**
 * Watches the configured BGP peers: {@link start} checks at once and then every
 * `reconcile.frr_check_s` seconds (one check at a time: a busy bgpd never piles up vtysh
 * processes), {@link stop} ends it.
 */
export class PeerWatch {
  readonly #options: PeerWatchOptions;
  readonly #known = new Map<string, Observation>();
  #peers: PeerStatus[] = [];
  #timer?: ReturnType<typeof setTimeout>;
  #running?: Promise<void>;
  #started = false;
  #stopped = false;

  /** A watcher; nothing runs before {@link start} or {@link poll}. */
  constructor(options: PeerWatchOptions) {
    this.#options = options;
  }

  /** Checks now, then every `reconcile.frr_check_s` seconds until {@link stop}. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule(0);
  }

  /**
   * Checks the peers now (or joins the check under way). Never rejects: a failed read is
   * logged at debug level and changes nothing.
   */
  poll(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running ??= this.#check().finally(() => this.#running = undefined);
    return this.#running;
  }

  /** Stops the timer and waits for a check under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** The peers of the last successful read (every peer FRR reported, configured or not). */
  get peers(): readonly PeerStatus[] {
    return this.#peers;
  }

  /** The state of a configured peer at the last successful check (undefined before the first). */
  stateOf(peer: string): string | undefined {
    return this.#known.get(peer)?.state;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(async () => {
      await this.poll();
      if (this.#stopped) return;
      this.#schedule(Math.max(1, this.#options.config().reconcile.frr_check_s) * 1000);
    }, delayMs);
  }

  async #check(): Promise<void> {
    const config = this.#options.config();
    let peers: PeerStatus[];
    try {
      peers = await readPeers(config.frr);
    } catch (e) {
      log.debug("bgp peer check failed, keeping the last known states: {error}", {
        error: describeError(e),
      });
      return;
    }
    this.#peers = peers;
    this.#safely("peers", () => this.#options.onPeers?.(peers));
    this.#observe(config.bgp.peers.map((p) => p.address), peers);
  }

  #observe(configured: readonly string[], peers: readonly PeerStatus[]): void {
    const wanted = new Set(configured);
    for (const peer of [...this.#known.keys()]) {
      if (!wanted.has(peer)) this.#known.delete(peer);
    }
    const reported = new Map(peers.map((p) => [p.address, p]));
    for (const peer of wanted) {
      const status = reported.get(peer);
      const now: Observation = { state: status?.state ?? ABSENT };
      if (status?.uptimeSeconds !== undefined) now.uptimeSeconds = status.uptimeSeconds;
      const before = this.#known.get(peer);
      if (before === undefined) {
        // Not in FRR yet (the first apply comes later): its first real state is logged.
        if (now.state === ABSENT) continue;
        this.#known.set(peer, now);
        this.#first(peer, status!);
        continue;
      }
      this.#known.set(peer, now);
      this.#compare(peer, before, now, status);
    }
  }

  #first(peer: string, status: PeerStatus): void {
    const properties = {
      peer,
      state: status.state,
      remoteAsn: status.remoteAsn,
      first: true,
      ...(status.uptimeSeconds === undefined ? {} : { uptimeSeconds: status.uptimeSeconds }),
    };
    if (status.state === ESTABLISHED) {
      log.info("bgp peer {peer} established (prefixes received {received})", {
        ...properties,
        received: receivedOf(status),
      });
    } else {
      log.info("bgp peer {peer} is {state} at the first check", properties);
    }
  }

  #compare(
    peer: string,
    before: Observation,
    now: Observation,
    status: PeerStatus | undefined,
  ): void {
    const wasUp = before.state === ESTABLISHED;
    const isUp = now.state === ESTABLISHED;
    if (!wasUp && isUp) {
      this.#up(peer, before, now, status);
    } else if (wasUp && !isUp) {
      this.#down(peer, before, now);
    } else if (
      wasUp && isUp && before.uptimeSeconds !== undefined && now.uptimeSeconds !== undefined &&
      now.uptimeSeconds < before.uptimeSeconds
    ) {
      log.warn(
        "bgp peer {peer} was reset between checks: Established again for {uptime} " +
          "(had been up {previousUptime})",
        {
          peer,
          state: now.state,
          previous: before.state,
          uptime: formatUptime(now.uptimeSeconds),
          uptimeSeconds: now.uptimeSeconds,
          previousUptime: formatUptime(before.uptimeSeconds),
          previousUptimeSeconds: before.uptimeSeconds,
          received: receivedOf(status),
        },
      );
      this.#tell({
        peer,
        to: "down",
        state: now.state,
        previous: before.state,
        uptimeSeconds: before.uptimeSeconds,
      });
      this.#tell({
        peer,
        to: "up",
        state: now.state,
        previous: before.state,
        uptimeSeconds: now.uptimeSeconds,
        received: receivedOf(status),
      });
    } else if (before.state !== now.state) {
      log.debug("bgp peer {peer}: {previous} -> {state}", {
        peer,
        previous: before.state,
        state: now.state,
      });
    }
  }

  #up(peer: string, before: Observation, now: Observation, status: PeerStatus | undefined): void {
    const received = receivedOf(status);
    log.info("bgp peer {peer} established (prefixes received {received})", {
      peer,
      state: now.state,
      previous: before.state,
      received,
      ...(status?.remoteAsn ? { remoteAsn: status.remoteAsn } : {}),
      ...(now.uptimeSeconds === undefined ? {} : { uptimeSeconds: now.uptimeSeconds }),
    });
    this.#tell({
      peer,
      to: "up",
      state: now.state,
      previous: before.state,
      received,
      ...(now.uptimeSeconds === undefined ? {} : { uptimeSeconds: now.uptimeSeconds }),
    });
  }

  #down(peer: string, before: Observation, now: Observation): void {
    const properties = { peer, state: now.state, previous: before.state };
    if (before.uptimeSeconds === undefined) {
      log.warn("bgp peer {peer} left Established: now {state} (was {previous})", properties);
    } else {
      log.warn(
        "bgp peer {peer} left Established: now {state} (was {previous}, up {uptime} at the " +
          "last check)",
        {
          ...properties,
          uptime: formatUptime(before.uptimeSeconds),
          uptimeSeconds: before.uptimeSeconds,
        },
      );
    }
    this.#tell({
      peer,
      to: "down",
      state: now.state,
      previous: before.state,
      ...(before.uptimeSeconds === undefined ? {} : { uptimeSeconds: before.uptimeSeconds }),
    });
  }

  #tell(transition: PeerTransition): void {
    this.#safely("transition", () => this.#options.onTransition?.(transition));
  }

  /** Runs an observer; its failure is logged and never stops the watcher. */
  #safely(observer: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      log.error("bgp peer {observer} observer failed: {error}", {
        observer,
        error: describeError(e),
      });
    }
  }
}
