/**
 * A netlink socket over libmnl (or libc), optionally opened inside another network
 * namespace. Sends are synchronous (the kernel processes rtnetlink requests inside
 * `sendto`); receives are non-blocking reads after a `poll` that runs off the event
 * loop (`nonblocking: true`), so errno is read on the thread that made the call.
 * @module
 */
import {
  check,
  FfiError,
  lastErrno,
  loadNativeLibraries,
  type NativeLibraries,
} from "./library.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const MSG_DONTWAIT = 0x40;
const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0x80000;
const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;
const POLLIN = 1;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const EAGAIN = 11;
const EINTR = 4;

const encoder = new TextEncoder();

/** Options of {@link NetlinkSocket.open}. */
export interface OpenSocketOptions {
  /** Netlink bus / protocol number (default 0, NETLINK_ROUTE). */
  bus?: number;
  /**
   * Network namespace: a name under /run/netns (as `ip netns add` creates) or a path
   * such as /proc/PID/ns/net. The socket is created there (setns on the calling thread
   * around socket(), then back), and stays bound to it for its life.
   */
  netns?: string;
  /** Receive buffer in bytes (SO_RCVBUFFORCE as root, else SO_RCVBUF). Default 8 MiB. */
  rcvbuf?: number;
  /** Send buffer in bytes. Default 4 MiB. */
  sndbuf?: number;
}

function nsPath(netns: string): string {
  return netns.includes("/") ? netns : `/run/netns/${netns}`;
}

function cString(s: string): Uint8Array {
  const b = encoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * Runs `fn` with the calling thread switched into the network namespace at `netns`
 * (name under /run/netns or a path), then switches back. `fn` must be synchronous.
 */
export function withNetns<T>(netns: string, fn: () => T): T {
  const libs = loadNativeLibraries();
  const c = libs.libc.symbols;
  const target = c.open(cString(nsPath(netns)), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    throw new FfiError("open", lastErrno(libs), { detail: `network namespace ${nsPath(netns)}` });
  }
  const orig = c.open(cString("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC);
  if (orig < 0) {
    const errno = lastErrno(libs);
    c.close(target);
    throw new FfiError("open", errno, { detail: "/proc/thread-self/ns/net" });
  }
  try {
    if (c.setns(target, CLONE_NEWNET) < 0) {
      throw new FfiError("setns", lastErrno(libs), { detail: `into ${nsPath(netns)}` });
    }
    let result: T;
    try {
      result = fn();
    } catch (e) {
      c.setns(orig, CLONE_NEWNET);
      throw e;
    }
    if (c.setns(orig, CLONE_NEWNET) < 0) {
      // Staying in the wrong namespace would be silent corruption: fail loudly.
      throw new FfiError("setns", lastErrno(libs), { detail: "back to the original netns" });
    }
    return result;
  } finally {
    c.close(target);
    c.close(orig);
  }
}

/** A bound NETLINK_ROUTE socket. */
export class NetlinkSocket {
  readonly #libs: NativeLibraries;
  readonly #mnl: Deno.PointerValue;
  /** The socket's file descriptor. */
  readonly fd: number;
  /** The port id the kernel assigned (nl_pid). */
  readonly portId: number;
  /** `libmnl` or `libc`. */
  readonly backend: "libmnl" | "libc";
  readonly #wakeFd: number;
  readonly #pollfds = new Uint8Array(16);
  readonly #kernelAddr = new Uint8Array(12);
  readonly #int = new Uint8Array(4);
  #pendingPoll: Promise<unknown> | undefined;
  #closed = false;

  private constructor(libs: NativeLibraries, mnl: Deno.PointerValue, fd: number, portId: number) {
    this.#libs = libs;
    this.#mnl = mnl;
    this.fd = fd;
    this.portId = portId;
    this.backend = mnl ? "libmnl" : "libc";
    const c = libs.libc.symbols;
    this.#wakeFd = check("eventfd", c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    const pv = new DataView(this.#pollfds.buffer);
    pv.setInt32(0, fd, true);
    pv.setInt16(4, POLLIN, true);
    pv.setInt32(8, this.#wakeFd, true);
    pv.setInt16(12, POLLIN, true);
    new DataView(this.#kernelAddr.buffer).setUint16(0, AF_NETLINK, true);
  }

  /** Opens and binds a socket (optionally in another netns) with large buffers. */
  static open(options: OpenSocketOptions = {}): NetlinkSocket {
    const libs = loadNativeLibraries();
    const create = () => NetlinkSocket.#create(libs, options.bus ?? 0);
    const sock = options.netns ? withNetns(options.netns, create) : create();
    try {
      sock.setBufferSize("rcv", options.rcvbuf ?? 8 << 20);
      sock.setBufferSize("snd", options.sndbuf ?? 4 << 20);
    } catch (e) {
      sock.#closeNow();
      throw e;
    }
    return sock;
  }

  static #create(libs: NativeLibraries, protocol: number): NetlinkSocket {
    if (libs.mnl) {
      const m = libs.mnl.symbols;
      const nl = check(
        "mnl_socket_open2",
        m.mnl_socket_open2(protocol, SOCK_NONBLOCK | SOCK_CLOEXEC),
      );
      if (m.mnl_socket_bind(nl, 0, 0) < 0) {
        const errno = lastErrno(libs);
        m.mnl_socket_close(nl);
        throw new FfiError("mnl_socket_bind", errno);
      }
      return new NetlinkSocket(libs, nl, m.mnl_socket_get_fd(nl), m.mnl_socket_get_portid(nl));
    }
    const c = libs.libc.symbols;
    const fd = check(
      "socket",
      c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol),
    );
    const addr = new Uint8Array(12);
    new DataView(addr.buffer).setUint16(0, AF_NETLINK, true);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, 12, true);
    if (c.bind(fd, addr, 12) < 0 || c.getsockname(fd, addr, len) < 0) {
      const errno = lastErrno(libs);
      c.close(fd);
      throw new FfiError("bind", errno);
    }
    return new NetlinkSocket(libs, null, fd, new DataView(addr.buffer).getUint32(4, true));
  }

  #setInt(level: number, name: number, value: number): number {
    new DataView(this.#int.buffer).setInt32(0, value, true);
    if (this.#mnl && level === SOL_NETLINK) {
      return this.#libs.mnl!.symbols.mnl_socket_setsockopt(this.#mnl, name, this.#int, 4);
    }
    return this.#libs.libc.symbols.setsockopt(this.fd, level, name, this.#int, 4);
  }

  /** Sets an integer socket option; `level` 270 (SOL_NETLINK) goes through libmnl. */
  setOption(level: number, name: number, options: { value: number }): void {
    if (this.#setInt(level, name, options.value) < 0) {
      throw new FfiError("setsockopt", lastErrno(this.#libs), {
        detail: `level ${level} option ${name}`,
      });
    }
  }

  /** Sets SO_RCVBUF/SO_SNDBUF, with the FORCE variant first (root may exceed rmem_max). */
  setBufferSize(which: "rcv" | "snd", bytes: number): void {
    const [force, plain] = which === "rcv"
      ? [SO_RCVBUFFORCE, SO_RCVBUF]
      : [SO_SNDBUFFORCE, SO_SNDBUF];
    if (this.#setInt(SOL_SOCKET, force, bytes) === 0) return;
    this.setOption(SOL_SOCKET, plain, { value: bytes });
  }

  /** Joins an rtnetlink multicast group (RTNLGRP_* number). */
  addMembership(group: number): void {
    this.setOption(SOL_NETLINK, 1, { value: group });
  }

  /** Sends one datagram (one or many messages) to the kernel; throws FfiError. */
  send(bytes: Uint8Array): void {
    for (;;) {
      const n = this.#mnl
        ? this.#libs.mnl!.symbols.mnl_socket_sendto(this.#mnl, bytes, BigInt(bytes.length))
        : this.#libs.libc.symbols.sendto(
          this.fd,
          bytes,
          BigInt(bytes.length),
          0,
          this.#kernelAddr,
          12,
        );
      if (n >= 0) return;
      const errno = lastErrno(this.#libs);
      if (errno === EINTR) continue;
      throw new FfiError(this.#mnl ? "mnl_socket_sendto" : "sendto", errno);
    }
  }

  /**
   * Reads one datagram into `buf` without waiting. Returns its length, or 0 when
   * nothing is queued. Throws FfiError (ENOBUFS means messages were lost).
   */
  recv(buf: Uint8Array): number {
    for (;;) {
      const n = Number(
        this.#mnl
          ? this.#libs.mnl!.symbols.mnl_socket_recvfrom(this.#mnl, buf, BigInt(buf.length))
          : this.#libs.libc.symbols.recv(this.fd, buf, BigInt(buf.length), MSG_DONTWAIT),
      );
      if (n >= 0) return n;
      const errno = lastErrno(this.#libs);
      if (errno === EAGAIN) return 0;
      if (errno === EINTR) continue;
      throw new FfiError(this.#mnl ? "mnl_socket_recvfrom" : "recv", errno);
    }
  }

  /**
   * Waits until the socket is readable without blocking the event loop. Resolves true
   * when readable, false on timeout or when {@link close} was called.
   */
  async waitReadable(timeoutMs = -1): Promise<boolean> {
    if (this.#closed) return false;
    const p = this.#libs.libc.symbols.poll(this.#pollfds, 2n, timeoutMs);
    this.#pendingPoll = p;
    let n: number;
    try {
      n = await p;
    } finally {
      this.#pendingPoll = undefined;
      if (this.#closed) this.#closeNow();
    }
    if (this.#closed) return false;
    if (n < 0) return false; // EINTR: caller loops
    return new DataView(this.#pollfds.buffer).getInt16(6, true) !== 0;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the socket, waking a pending {@link waitReadable} first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pending = this.#pendingPoll;
    if (pending) {
      const one = new Uint8Array(8);
      one[0] = 1;
      this.#libs.libc.symbols.write(this.#wakeFd, one, 8n);
      await pending.catch(() => {});
      return; // waitReadable's finally closed the descriptors
    }
    this.#closeNow();
  }

  #fdsClosed = false;
  #closeNow(): void {
    if (this.#fdsClosed) return;
    this.#fdsClosed = true;
    this.#closed = true;
    if (this.#mnl) this.#libs.mnl!.symbols.mnl_socket_close(this.#mnl);
    else this.#libs.libc.symbols.close(this.fd);
    this.#libs.libc.symbols.close(this.#wakeFd);
  }
}
