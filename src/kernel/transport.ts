/**
 * Netlink transport: request/ACK correlation by sequence number, batches of many
 * requests per `sendto` with per-request errors, dumps, and multicast monitors.
 * @module
 */
import { FfiError, NetlinkSocket, type OpenSocketOptions } from "../../ffi/mod.ts";
import {
  decodeAck,
  decodeLink,
  decodeRoute,
  forEachMessage,
  type LinkMessage,
  messageTypeName,
  MessageWriter,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NetlinkError,
  type NetlinkMessage,
  NLM_F_ACK,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  type RouteMessage,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  SOL_NETLINK,
} from "../netlink/mod.ts";

const ENOBUFS = 105;

/** Header values the transport hands to an encoder. */
export interface RequestHeader {
  /** Sequence number. */
  readonly seq: number;
  /** Port id. */
  readonly pid: number;
  /** Whether success must be ACKed (false in `errors` batches). */
  readonly ack: boolean;
}

/** Writes one request into the writer (e.g. `(w, h) => encodeRoute(w, r, h)`). */
export type RequestEncoder = (w: MessageWriter, header: RequestHeader) => void;

/** Options of {@link NetlinkTransport.open}. */
export interface TransportOptions extends OpenSocketOptions {
  /** Give up waiting for a reply after this many ms (default 30,000). */
  timeoutMs?: number;
}

/** Options of {@link NetlinkTransport.batch}. */
export interface BatchOptions<T> {
  /** Writes item `item` into the writer. */
  encode: (w: MessageWriter, item: T, header: RequestHeader) => void;
  /** Describes an item for error messages (called only for failures). */
  describe?: (item: T) => string;
  /**
   * `errors` (default): successes are silent (no NLM_F_ACK), a NOOP+ACK sentinel
   * closes each send; `all`: every request is ACKed.
   */
  ackMode?: "errors" | "all";
  /** Bytes of requests per sendto (default 256 KiB; 64 KiB in `all` mode). */
  chunkBytes?: number;
}

/** One request of a batch that the kernel refused. */
export interface BatchFailure<T> {
  /** Position of the item in the input. */
  readonly index: number;
  /** The input item. */
  readonly item: T;
  /** The kernel's refusal. */
  readonly error: NetlinkError;
}

/** Outcome of a batch: how many requests were sent and which ones failed. */
export interface BatchResult<T> {
  /** Number of requests sent. */
  readonly sent: number;
  /** Number of sendto calls used. */
  readonly sends: number;
  /** The requests the kernel refused, in input order. */
  readonly failures: BatchFailure<T>[];
}

/** Raised when replies were lost (ENOBUFS) and state must be re-read. */
export class NetlinkOverrunError extends Error {
  /** The error class name. */
  override name = "NetlinkOverrunError";
}

/** A request/response netlink connection (one operation at a time, queued). */
export class NetlinkTransport {
  /** The underlying socket. */
  readonly socket: NetlinkSocket;
  readonly #timeoutMs: number;
  readonly #w = new MessageWriter(1 << 16);
  readonly #rx = new Uint8Array(1 << 20);
  #seq: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(socket: NetlinkSocket, timeoutMs: number) {
    this.socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#seq = (Date.now() & 0x3fffffff) >>> 0;
  }

  /**
   * Opens a transport (optionally in `netns`) with NETLINK_EXT_ACK, NETLINK_CAP_ACK,
   * NETLINK_GET_STRICT_CHK and large buffers.
   */
  static open(options: TransportOptions = {}): NetlinkTransport {
    const socket = NetlinkSocket.open(options);
    try {
      socket.setOption(SOL_NETLINK, NETLINK_EXT_ACK, { value: 1 });
      socket.setOption(SOL_NETLINK, NETLINK_CAP_ACK, { value: 1 });
      socket.setOption(SOL_NETLINK, NETLINK_GET_STRICT_CHK, { value: 1 });
    } catch (e) {
      void socket.close();
      throw e;
    }
    return new NetlinkTransport(socket, options.timeoutMs ?? 30_000);
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Reads datagrams, feeding each message to `onMessage`, until it returns true. */
  async #readUntil(onMessage: (m: NetlinkMessage) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    let done = false;
    const handle = (m: NetlinkMessage) => {
      if (!done && onMessage(m)) done = true;
    };
    while (!done) {
      let n: number;
      try {
        n = this.socket.recv(this.#rx);
      } catch (e) {
        if (e instanceof FfiError && e.errno === ENOBUFS) {
          throw new NetlinkOverrunError(`${what}: replies lost (ENOBUFS); receive buffer overrun`, {
            cause: e,
          });
        }
        throw e;
      }
      if (n > 0) {
        forEachMessage(this.#rx.subarray(0, n), handle);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: no reply from the kernel in ${this.#timeoutMs} ms`);
      if (this.socket.closed) throw new Error(`${what}: transport closed`);
      await this.socket.waitReadable(Math.min(left, 1000));
    }
  }

  /**
   * Sends one request with NLM_F_ACK and waits for its ACK. Returns the non-ACK
   * replies (copied). Throws {@link NetlinkError} with errno and extack text.
   */
  request(encode: RequestEncoder, options: { operation?: string } = {}): Promise<NetlinkMessage[]> {
    return this.#serial(async () => {
      const seq = this.#nextSeq();
      const w = this.#w;
      w.reset();
      encode(w, { seq, pid: 0, ack: true });
      const sent = w.bytes();
      const op = options.operation ?? messageTypeName(new DataView(sent.buffer).getUint16(4, true));
      this.socket.send(sent);
      const replies: NetlinkMessage[] = [];
      let failure: NetlinkError | undefined;
      await this.#readUntil((m) => {
        if (m.seq !== seq) return false;
        if (m.type === NLMSG_ERROR) {
          const ack = decodeAck(m);
          if (ack.errno !== 0) failure = new NetlinkError(op, ack.errno, { extack: ack.extack });
          return true;
        }
        replies.push({ ...m, payload: m.payload.slice() });
        return m.type === NLMSG_DONE;
      }, op);
      if (failure) throw failure;
      return replies;
    });
  }

  /**
   * Runs a dump request (NLM_F_DUMP) and maps each message through `decode`
   * (undefined results are skipped). Retries up to 3 times when the kernel flags the
   * dump as interrupted (NLM_F_DUMP_INTR).
   */
  dump<T>(
    encode: RequestEncoder,
    options: { decode: (m: NetlinkMessage) => T | undefined; operation?: string },
  ): Promise<T[]> {
    return this.#serial(async () => {
      for (let attempt = 0;; attempt++) {
        const seq = this.#nextSeq();
        const w = this.#w;
        w.reset();
        encode(w, { seq, pid: 0, ack: false });
        const op = options.operation ??
          `${messageTypeName(new DataView(w.buffer.buffer).getUint16(4, true))} dump`;
        this.socket.send(w.bytes());
        const out: T[] = [];
        let failure: NetlinkError | undefined;
        let interrupted = false;
        await this.#readUntil((m) => {
          if (m.seq !== seq) return false;
          if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (m.type === NLMSG_DONE) return true;
          if (m.type === NLMSG_ERROR) {
            const ack = decodeAck(m);
            if (ack.errno !== 0) failure = new NetlinkError(op, ack.errno, { extack: ack.extack });
            return true;
          }
          const v = options.decode(m);
          if (v !== undefined) out.push(v);
          return false;
        }, op);
        if (failure) throw failure;
        if (!interrupted || attempt >= 3) return out;
      }
    });
  }

  /**
   * Sends many requests packed into few `sendto` calls and reports every failure
   * with its index, errno and extack. Items are not retained beyond one send.
   */
  batch<T>(items: Iterable<T>, options: BatchOptions<T>): Promise<BatchResult<T>> {
    return this.#serial(async () => {
      const ackAll = options.ackMode === "all";
      const chunkBytes = options.chunkBytes ?? (ackAll ? 64 << 10 : 256 << 10);
      const w = this.#w;
      const failures: BatchFailure<T>[] = [];
      const chunk: T[] = [];
      let index = 0;
      let sends = 0;
      const flush = async () => {
        if (chunk.length === 0) return;
        const firstIndex = index - chunk.length;
        const firstSeq = (this.#seq - chunk.length + 1) >>> 0;
        let sentinel = -1;
        if (!ackAll) {
          sentinel = this.#nextSeq();
          const s = w.beginMessage(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, { seq: sentinel });
          w.endMessage(s);
        }
        this.socket.send(w.bytes());
        sends++;
        let acks = 0;
        await this.#readUntil((m) => {
          if (m.type !== NLMSG_ERROR) return false;
          if (m.seq === sentinel) return true;
          const pos = (m.seq - firstSeq) >>> 0;
          if (pos >= chunk.length) return false;
          const ack = decodeAck(m);
          if (ack.errno !== 0) {
            const item = chunk[pos];
            const what = options.describe?.(item) ?? messageTypeName(ack.request.type);
            failures.push({
              index: firstIndex + pos,
              item,
              error: new NetlinkError(what, ack.errno, { extack: ack.extack }),
            });
          }
          return ackAll && ++acks === chunk.length;
        }, "batch");
        chunk.length = 0;
        w.reset();
      };
      w.reset();
      for (const item of items) {
        const seq = this.#nextSeq();
        options.encode(w, item, { seq, pid: 0, ack: ackAll });
        chunk.push(item);
        index++;
        if (w.offset >= chunkBytes) await flush();
      }
      await flush();
      return { sent: index, sends, failures };
    });
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return this.socket.close();
  }
}

/** A decoded multicast event. */
export type MonitorEvent =
  | { readonly kind: "route"; readonly op: "add" | "del"; readonly route: RouteMessage }
  | { readonly kind: "link"; readonly op: "add" | "del"; readonly link: LinkMessage }
  | {
    /** Events were lost (ENOBUFS / NLMSG_OVERRUN): re-dump and resync. */
    readonly kind: "overflow";
  };

/** Options of {@link NetlinkMonitor.open}. */
export interface MonitorOptions extends OpenSocketOptions {
  /** Groups to join; default link, IPv4 route and IPv6 route. */
  groups?: readonly number[];
}

/**
 * A multicast subscriber: `for await (const ev of monitor)` yields decoded link and
 * route events, and `{ kind: "overflow" }` when the kernel dropped events.
 */
export class NetlinkMonitor implements AsyncIterable<MonitorEvent> {
  /** The underlying socket. */
  readonly socket: NetlinkSocket;
  readonly #rx = new Uint8Array(1 << 20);

  private constructor(socket: NetlinkSocket) {
    this.socket = socket;
  }

  /** Opens the socket and joins the groups (RTNLGRP_* numbers). */
  static open(options: MonitorOptions = {}): NetlinkMonitor {
    const socket = NetlinkSocket.open(options);
    try {
      for (const g of options.groups ?? [RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE]) {
        socket.addMembership(g);
      }
    } catch (e) {
      void socket.close();
      throw e;
    }
    return new NetlinkMonitor(socket);
  }

  /** Yields events until {@link close}. */
  async *[Symbol.asyncIterator](): AsyncIterator<MonitorEvent> {
    const events: MonitorEvent[] = [];
    const onMessage = (m: NetlinkMessage) => {
      switch (m.type) {
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
          events.push({
            kind: "route",
            op: m.type === RTM_NEWROUTE ? "add" : "del",
            route: decodeRoute(m),
          });
          break;
        case RTM_NEWLINK:
        case RTM_DELLINK:
          events.push({
            kind: "link",
            op: m.type === RTM_NEWLINK ? "add" : "del",
            link: decodeLink(m),
          });
          break;
        case NLMSG_OVERRUN:
          events.push({ kind: "overflow" });
          break;
      }
    };
    while (!this.socket.closed) {
      let n: number;
      try {
        n = this.socket.recv(this.#rx);
      } catch (e) {
        if (e instanceof FfiError && e.errno === ENOBUFS) {
          yield { kind: "overflow" };
          continue;
        }
        if (this.socket.closed) return;
        throw e;
      }
      if (n === 0) {
        await this.socket.waitReadable(-1);
        continue;
      }
      forEachMessage(this.#rx.subarray(0, n), onMessage);
      while (events.length > 0) yield events.shift()!;
    }
  }

  /** Stops the iteration and closes the socket. */
  close(): Promise<void> {
    return this.socket.close();
  }
}
