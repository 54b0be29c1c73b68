/**
 * The high-level kernel plane: VRFs, the tenant's blackhole routes (only routes
 * carrying the agent's rtm_protocol are touched), route dumps and the route monitor.
 * @module
 */
import { formatPrefix, type IpPrefix, v4Number } from "../net/mod.ts";
import { getLogger } from "../log/mod.ts";
import {
  AF_INET,
  AF_INET6,
  decodeLink,
  decodeRoute,
  encodeDelLink,
  encodeGetLink,
  encodeNewLink,
  encodeRoute,
  encodeRouteDump,
  encodeSetLink,
  type LinkMessage,
  NetlinkError,
  newRouteScan,
  type RouteMessage,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTN_BLACKHOLE,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
  RTPROT_VPNV4_AGENT,
  scanRoute,
} from "../netlink/mod.ts";
import { KernelUnsupportedError, VrfConflictError } from "./errors.ts";
import {
  type MonitorOptions,
  NetlinkMonitor,
  NetlinkTransport,
  type TransportOptions,
} from "./transport.ts";

const ENODEV = 19;
const ENOENT = 2;
const EEXIST = 17;
const EOPNOTSUPP = 95;
const ESRCH = 3;

/**
 * Environment variable: receive buffer (bytes) of route monitors instead of the 8 MiB default.
 * A fault-injection knob (tests shrink it to provoke ENOBUFS); ignored unless readable.
 */
export const MONITOR_RCVBUF_ENV = "VPNV4_NETLINK_MONITOR_RCVBUF";

function monitorRcvbuf(): number | undefined {
  try {
    const perm = Deno.permissions.querySync({ name: "env", variable: MONITOR_RCVBUF_ENV });
    if (perm.state !== "granted") return undefined;
    const n = Number(Deno.env.get(MONITOR_RCVBUF_ENV) ?? "");
    return Number.isInteger(n) && n >= 4096 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@link KernelPlane.open}. */
export interface KernelPlaneOptions extends TransportOptions {
  /** rtm_protocol of the agent's routes (default 245). */
  protocol?: number;
}

/** Result of {@link KernelPlane.ensureVrf}. */
export interface VrfState {
  /** VRF device name. */
  readonly name: string;
  /** ifindex of the VRF device. */
  readonly index: number;
  /** The VRF's route table. */
  readonly table: number;
  /** True when this call created the device. */
  readonly created: boolean;
}

/** One route change that failed in {@link KernelPlane.syncRoutes}. */
export interface RouteFailure {
  /** The prefix of the route. */
  readonly prefix: IpPrefix;
  /** Which change failed. */
  readonly op: "add" | "delete";
  /** The kernel's refusal. */
  readonly error: NetlinkError;
}

/** Result of {@link KernelPlane.syncRoutes}. */
export interface SyncResult {
  /** Routes installed. */
  readonly added: number;
  /** Stale own routes removed. */
  readonly removed: number;
  /** Own routes already present (adopted, untouched). */
  readonly kept: number;
  /** Requests the kernel refused (e.g. EEXIST: a route of another protocol holds it). */
  readonly failures: RouteFailure[];
}

/** IPv4: length * 2^32 + address (a number); IPv6: hex bytes + "/" + length. */
type RouteKey = number | string;

function bytesKey(family: 4 | 6, b: Uint8Array, length: number): RouteKey {
  if (family === 4) {
    return length * 4294967296 + (((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0);
  }
  let s = "";
  for (let i = 0; i < 16; i++) s += (b[i] ?? 0).toString(16).padStart(2, "0");
  return `${s}/${length}`;
}

/** The key of a desired prefix (compact IPv4 prefixes without building their bytes). */
function prefixKey(p: IpPrefix): RouteKey {
  if (p.family === 4) return p.length * 4294967296 + v4Number(p);
  return bytesKey(6, p.bytes, p.length);
}

/** Rebuilds the prefix of a key (into `scratch` when given, else fresh bytes). */
function keyToPrefix(key: RouteKey, scratch?: Uint8Array): IpPrefix {
  if (typeof key === "number") {
    const length = Math.floor(key / 4294967296);
    const v = key - length * 4294967296;
    const bytes = scratch ? scratch.subarray(0, 4) : new Uint8Array(4);
    bytes[0] = v >>> 24;
    bytes[1] = (v >>> 16) & 255;
    bytes[2] = (v >>> 8) & 255;
    bytes[3] = v & 255;
    return { family: 4, bytes, length };
  }
  const bytes = scratch ?? new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(key.slice(i * 2, i * 2 + 2), 16);
  return { family: 6, bytes, length: Number(key.slice(33)) };
}

/**
 * The kernel plane over one netlink transport. Use {@link KernelPlane.open} (with
 * `netns` to manage another network namespace).
 */
export class KernelPlane {
  /** The request transport. */
  readonly transport: NetlinkTransport;
  /** rtm_protocol stamped on, and required of, the routes this agent manages. */
  readonly protocol: number;
  readonly #netns?: string;
  readonly #log = getLogger("kernel");

  private constructor(transport: NetlinkTransport, protocol: number, netns?: string) {
    this.transport = transport;
    this.protocol = protocol;
    this.#netns = netns;
  }

  /** Opens the netlink transport (in `options.netns` when given). */
  static open(options: KernelPlaneOptions = {}): KernelPlane {
    const { protocol: agentProtocol, ...transportOptions } = options;
    const protocol = agentProtocol ?? RTPROT_VPNV4_AGENT;
    if (!Number.isInteger(protocol) || protocol < 1 || protocol > 255) {
      throw new RangeError(`kernel protocol must be 1..255, got ${protocol}`);
    }
    return new KernelPlane(NetlinkTransport.open(transportOptions), protocol, options.netns);
  }

  /** Looks a link up by name; undefined when it does not exist. */
  async getLink(name: string): Promise<LinkMessage | undefined> {
    try {
      const replies = await this.transport.request((w, h) => encodeGetLink(w, name, h), {
        operation: `get link ${name}`,
      });
      const m = replies.find((r) => r.type === RTM_NEWLINK);
      return m ? decodeLink(m) : undefined;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENODEV) return undefined;
      throw e;
    }
  }

  /**
   * Creates VRF `name` bound to `table` and brings it up; idempotent. An existing
   * link of that name that is not a VRF, or is a VRF of another table, raises
   * {@link VrfConflictError} and is left alone. A kernel without VRF support raises
   * {@link KernelUnsupportedError} naming CONFIG_NET_VRF.
   */
  async ensureVrf(name: string, table: number): Promise<VrfState> {
    if (
      !Number.isInteger(table) || table < 1 || table > 0xffffffff || table === 254 || table === 255
    ) {
      throw new RangeError(`VRF ${name}: invalid table ${table}`);
    }
    let link = await this.getLink(name);
    let created = false;
    if (!link) {
      try {
        await this.transport.request(
          (w, h) => encodeNewLink(w, name, { ...h, link: { kind: "vrf", table } }),
          { operation: `create VRF ${name} table ${table}` },
        );
        created = true;
      } catch (e) {
        if (e instanceof NetlinkError && e.errno === EOPNOTSUPP) {
          throw new KernelUnsupportedError(
            "CONFIG_NET_VRF",
            `cannot create VRF ${name}: this kernel has no VRF support ` +
              `(CONFIG_NET_VRF; the kernel said: ${e.extack ?? e.code}). ` +
              `Use a kernel with CONFIG_NET_VRF=y/m and load it with modprobe vrf.`,
            { cause: e },
          );
        }
        if (!(e instanceof NetlinkError && e.errno === EEXIST)) throw e;
      }
      link = await this.getLink(name);
      if (!link) throw new Error(`VRF ${name}: created but not found`);
    }
    if (link.kind !== "vrf") {
      throw new VrfConflictError(
        `link ${name} exists and is ${link.kind ? `a ${link.kind}` : "not a VRF"}; not touching it`,
      );
    }
    if (link.vrfTable !== table) {
      throw new VrfConflictError(
        `VRF ${name} exists bound to table ${link.vrfTable}, not ${table}; not touching it`,
      );
    }
    if (!link.up) {
      const index = link.index;
      await this.transport.request((w, h) => encodeSetLink(w, index, { ...h, up: true }), {
        operation: `set VRF ${name} up`,
      });
    }
    if (created) this.#log.info("created VRF {name} table {table}", { name, table });
    return { name, index: link.index, table, created };
  }

  /**
   * Deletes VRF `name`. Returns false when it did not exist. A link of that name that
   * is not a VRF raises {@link VrfConflictError}.
   */
  async deleteVrf(name: string): Promise<boolean> {
    const link = await this.getLink(name);
    if (!link) return false;
    if (link.kind !== "vrf") {
      throw new VrfConflictError(
        `link ${name} is not a VRF (${link.kind ?? "no kind"}); not deleting it`,
      );
    }
    const index = link.index;
    try {
      await this.transport.request((w, h) => encodeDelLink(w, index, h), {
        operation: `delete VRF ${name}`,
      });
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENODEV) return false;
      throw e;
    }
    this.#log.info("deleted VRF {name}", { name });
    return true;
  }

  /**
   * Dumps the IPv4 and/or IPv6 routes of `table` (kernel-filtered), optionally only
   * those with one of `protocols` (e.g. [186, 11] for bgp and zebra).
   */
  async dumpRoutes(
    table: number,
    options: { family?: 4 | 6; protocols?: readonly number[] } = {},
  ): Promise<RouteMessage[]> {
    const families = options.family ? [options.family] : [4, 6] as const;
    const protos = options.protocols;
    const single = protos?.length === 1 ? protos[0] : undefined;
    const out: RouteMessage[] = [];
    for (const family of families) {
      try {
        const routes = await this.transport.dump(
          (w, h) => encodeRouteDump(w, { ...h, family, table, protocol: single }),
          {
            operation: `dump IPv${family} routes of table ${table}`,
            decode: (m) => {
              if (m.type !== RTM_NEWROUTE) return undefined;
              const r = decodeRoute(m);
              if (r.table !== table) return undefined;
              if (protos && !protos.includes(r.protocol)) return undefined;
              return r;
            },
          },
        );
        for (const r of routes) out.push(r);
      } catch (e) {
        // No such table yet: nothing to dump.
        if (e instanceof NetlinkError && (e.errno === ENOENT || e.errno === ESRCH)) continue;
        throw e;
      }
    }
    return out;
  }

  /**
   * Makes the agent's blackhole routes in `table` exactly `desired`: installs the
   * missing ones and removes stale ones, touching only routes whose rtm_protocol is
   * the agent's. Own routes already present are adopted as they are.
   */
  async syncRoutes(
    table: number,
    desired: Iterable<IpPrefix>,
    options: { ackMode?: "errors" | "all" } = {},
  ): Promise<SyncResult> {
    const protocol = this.protocol;
    // Own routes present now, as compact keys (numbers for IPv4): no per-route objects.
    const existing = new Set<RouteKey>();
    const wrongType: RouteKey[] = [];
    const scan = newRouteScan();
    for (const family of [4, 6] as const) {
      try {
        await this.transport.dump(
          (w, h) => encodeRouteDump(w, { ...h, family, table, protocol }),
          {
            operation: `dump IPv${family} routes of table ${table}`,
            decode: (m) => {
              if (m.type !== RTM_NEWROUTE) return undefined;
              scanRoute(m, scan);
              if (scan.table !== table || scan.protocol !== protocol || !scan.dst) return undefined;
              if (scan.family !== (family === 4 ? AF_INET : AF_INET6)) return undefined;
              const key = bytesKey(family, scan.dst, scan.dstLen);
              if (scan.type === RTN_BLACKHOLE) existing.add(key);
              else wrongType.push(key);
              return undefined;
            },
          },
        );
      } catch (e) {
        if (!(e instanceof NetlinkError && (e.errno === ENOENT || e.errno === ESRCH))) throw e;
      }
    }
    const toAdd: IpPrefix[] = [];
    let kept = 0;
    const seen = new Set<RouteKey>();
    for (const p of desired) {
      const k = prefixKey(p);
      if (seen.has(k)) continue;
      seen.add(k);
      if (existing.delete(k)) kept++;
      else toAdd.push(p);
    }
    seen.clear();
    const toDelete: RouteKey[] = [...wrongType, ...existing];
    existing.clear();
    const failures: RouteFailure[] = [];
    const scratch = new Uint8Array(16);
    const del = await this.transport.batch(toDelete, {
      ackMode: options.ackMode,
      encode: (w, key, h) =>
        encodeRoute(w, { dst: keyToPrefix(key, scratch), table, protocol, type: "blackhole" }, {
          ...h,
          op: "delete",
        }),
      describe: (key) => `delete blackhole ${formatPrefix(keyToPrefix(key))} table ${table}`,
    });
    for (const f of del.failures) {
      failures.push({ prefix: keyToPrefix(f.item), op: "delete", error: f.error });
    }
    const add = await this.transport.batch(toAdd, {
      ackMode: options.ackMode,
      encode: (w, dst, h) => encodeRoute(w, { dst, table, protocol, type: "blackhole" }, h),
      describe: (p) => `add blackhole ${formatPrefix(p)} table ${table}`,
    });
    for (const f of add.failures) failures.push({ prefix: f.item, op: "add", error: f.error });
    const result = {
      added: add.sent - add.failures.length,
      removed: del.sent - del.failures.length,
      kept,
      failures,
    };
    this.#log.debug("synced table {table}: +{added} -{removed} ={kept} !{failed}", {
      table,
      added: result.added,
      removed: result.removed,
      kept,
      failed: failures.length,
    });
    return result;
  }

  /**
   * Opens a route monitor on the same network namespace (IPv4 and IPv6 route groups
   * unless `groups` says otherwise). Iterate it; `overflow` events mean: resync. The receive
   * buffer is `options.rcvbuf`, else `VPNV4_NETLINK_MONITOR_RCVBUF`, else 8 MiB.
   */
  monitorRoutes(options: MonitorOptions = {}): NetlinkMonitor {
    return NetlinkMonitor.open({
      netns: this.#netns,
      groups: [RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE],
      rcvbuf: monitorRcvbuf(),
      ...options,
    });
  }

  /** Closes the transport. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
