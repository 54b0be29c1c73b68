/**
 * The single source of truth for the Deno permissions of the product binary. `scripts/compile.ts`
 * bakes these flags into `dist/vpnv4-agent-*-linux`; tests run `deno run <flags> main.ts` with
 * the same list (pointing the folders at temp dirs) so a missing permission fails in CI, not on
 * a node.
 *
 * Derivation (what the agent touches, by module):
 * - `ffi/`: `Deno.dlopen` of libmnl and libc → `--allow-ffi`. FFI can call any C function, so
 *   restricting it to library paths would add no protection; libraries are found by soname
 *   (`libmnl.so.0`, `libc.so.6`) or through `VPNV4_LIBMNL_PATH` / `VPNV4_LIBC_PATH`.
 * - `src/ovsdb/`: unix sockets under /run/ovn, /var/run/ovn, /run/openvswitch,
 *   /var/run/openvswitch (connecting to a unix socket needs read and write on its path), and
 *   tcp:/ssl: remotes whose hosts come from the configuration at run time; TLS key, cert and CA
 *   files (read) under /etc/vpnv4-agent, /etc/ovn, /etc/openvswitch.
 * - `src/cli/`, HTTP server and the `health` subcommand: listen on `http.listen` (default
 *   127.0.0.1:9183) and fetch it.
 *   Because OVSDB hosts and the listen address are configuration, not build-time facts,
 *   `--allow-net` is unrestricted: a host list baked into the binary would break every site
 *   with its own OVN cluster addresses. The OS (systemd IPAddressAllow, NetworkPolicy) is the
 *   place to narrow it.
 * - `src/config/`, `src/tenants/`: the configuration and tenants files under /etc/vpnv4-agent.
 * - `src/allocate/`: the state file under /var/lib/vpnv4-agent (read, write, mkdir, rename).
 * - `src/frr/`: `vtysh` only → `--allow-run=/usr/bin/vtysh` (override with `vtysh`).
 *   vtysh itself is not sandboxed by Deno; it talks to FRR over /run/frr.
 * - runtime folder /run/vpnv4-agent: temporary files (the `vtysh -f` batches of `src/frr/` are
 *   `Deno.makeTempFile`s, which land in `$TMPDIR`). The deploy units therefore set
 *   `TMPDIR=/run/vpnv4-agent` ({@link productEnvironment}); without it the batches would go to
 *   /tmp, which these flags do not grant. Deno reads TMPDIR itself, so it needs no --allow-env.
 * - environment: the agent's own variables plus what dependencies read at run time
 *   (`yaml` reads LOG_TOKENS and LOG_STREAM on every parse; without them parsing throws).
 * - `--allow-sys=hostname,osRelease`: node name for logs/metrics and the kernel release for
 *   "kernel without VRF/MPLS" messages; nothing else of `sys` is granted.
 *
 * Paths are fixed when the binary is built, not derived from the configuration: the config's
 * `allocation.state_file`, tenants files and TLS files must lie inside these folders (the
 * defaults do). Tests keep the same list and relocate each folder root to a temp dir
 * ({@link PermissionOptions}); tests/ship/run_permissions_test.ts runs `main.ts run` that way
 * against real FRR and ovsdb-server. FRR's vty sockets (/run/frr) are not granted: only vtysh,
 * a separate process outside Deno's sandbox, connects to them.
 *
 * /proc and /sys: Deno (since 1.43) requires `--allow-all` for any file access under /proc,
 * /sys and /dev, whatever `--allow-read`/`--allow-write` say, so granting /proc/sys/net or
 * /sys/class/net here would be a no-op. Product code must reach sysctls (e.g.
 * net.mpls.platform_labels) and sysfs through libc via FFI (`ffi/`), or through rtnetlink, not
 * through `Deno.readTextFile`. prom-client's default process metrics read /proc/self and
 * report 0 under these flags (they do not throw).
 * @module
 */

/** Where the agent keeps its files by default (the config schema defaults point here). */
export const DEFAULT_PATHS = {
  configDir: "/etc/vpnv4-agent",
  stateDir: "/var/lib/vpnv4-agent",
  runtimeDir: "/run/vpnv4-agent",
  vtysh: "/usr/bin/vtysh",
} as const;

/** OVSDB unix socket folders (OVN NB and Open_vSwitch), both the /run and /var/run spellings. */
export const OVSDB_SOCKET_DIRS: readonly string[] = [
  "/run/ovn",
  "/var/run/ovn",
  "/run/openvswitch",
  "/var/run/openvswitch",
];

/** Folders that hold OVN / OVS TLS client files (read-only). */
export const TLS_DIRS: readonly string[] = ["/etc/ovn", "/etc/openvswitch"];

/**
 * Environment variables the agent itself reads: the library overrides of `ffi/` and the route
 * monitor's receive buffer size (`src/kernel/plane.ts`, a tuning knob).
 */
export const AGENT_ENV_VARS: readonly string[] = [
  "VPNV4_LIBMNL_PATH",
  "VPNV4_LIBC_PATH",
  "VPNV4_NETLINK_MONITOR_RCVBUF",
];

/** Environment variables dependencies read at run time (yaml: LOG_TOKENS, LOG_STREAM). */
export const DEPENDENCY_ENV_VARS: readonly string[] = ["LOG_TOKENS", "LOG_STREAM"];

/** `--allow-sys` kinds granted. */
export const SYS_KINDS: readonly string[] = ["hostname", "osRelease"];

/** Options for {@link productPermissionFlags}; every folder can be pointed elsewhere for tests. */
export interface PermissionOptions {
  /** Configuration folder (read). Default /etc/vpnv4-agent. */
  configDir?: string;
  /** State folder (read, write). Default /var/lib/vpnv4-agent. */
  stateDir?: string;
  /** Runtime folder (read, write). Default /run/vpnv4-agent. */
  runtimeDir?: string;
  /** OVSDB socket folders (read, write). Default {@link OVSDB_SOCKET_DIRS}. */
  ovsdbSocketDirs?: readonly string[];
  /** TLS folders (read). Default {@link TLS_DIRS}. */
  tlsDirs?: readonly string[];
  /** The one executable the agent may run. Default /usr/bin/vtysh. */
  vtysh?: string;
  /** More readable paths (tests: temp dirs, fixtures). */
  extraRead?: readonly string[];
  /** More writable paths (also made readable). */
  extraWrite?: readonly string[];
  /** More environment variables. */
  extraEnv?: readonly string[];
}

function list(paths: readonly string[]): string {
  for (const p of paths) {
    if (p.includes(",")) throw new Error(`permission path ${JSON.stringify(p)} contains a comma`);
  }
  return [...new Set(paths)].join(",");
}

/**
 * The Deno permission flags of the product, e.g.
 * `["--allow-ffi", "--allow-net", "--allow-read=/etc/vpnv4-agent,…", …]`.
 */
export function productPermissionFlags(options: PermissionOptions = {}): string[] {
  const configDir = options.configDir ?? DEFAULT_PATHS.configDir;
  const stateDir = options.stateDir ?? DEFAULT_PATHS.stateDir;
  const runtimeDir = options.runtimeDir ?? DEFAULT_PATHS.runtimeDir;
  const sockets = options.ovsdbSocketDirs ?? OVSDB_SOCKET_DIRS;
  const tls = options.tlsDirs ?? TLS_DIRS;
  const write = [stateDir, runtimeDir, ...sockets, ...(options.extraWrite ?? [])];
  const read = [configDir, ...write, ...tls, ...(options.extraRead ?? [])];
  const env = [...AGENT_ENV_VARS, ...DEPENDENCY_ENV_VARS, ...(options.extraEnv ?? [])];
  return [
    "--allow-ffi",
    "--allow-net",
    `--allow-read=${list(read)}`,
    `--allow-write=${list(write)}`,
    `--allow-run=${list([options.vtysh ?? DEFAULT_PATHS.vtysh])}`,
    `--allow-env=${list(env)}`,
    `--allow-sys=${list(SYS_KINDS)}`,
  ];
}

/**
 * V8 settings of the product, passed as `DENO_V8_FLAGS`:
 * - a heap cap: without one V8 lets the heap grow to several times the live data under churn
 *   (measured at 10,000 tenants / 100,000 pods: heap in use 117 → 344 MB, RSS 512 MB);
 * - `--optimize-for-size`: V8 grows the heap by smaller steps and collects sooner (heap
 *   committed 87–102 MB instead of 95–135 MB under the same churn, no backlog);
 * - `--no-memory-pool`: pages V8 frees go back to the system at once instead of being pooled
 *   (8 s by default; 17–39 MB pooled were seen after the initial sync);
 * - `--max-semi-space-size=1`: a young generation of 1 MB semi-spaces (2 before: RSS under
 *   churn about 4 MB lower, after the initial sync 182 instead of 183–195 MB, with no backlog
 *   added by the more frequent scavenges).
 * 96 MB ran out of memory during the initial sync of an earlier version, so 160 leaves margin;
 * raise it for larger clusters (see docs/operations.md).
 */
export const PRODUCT_V8_FLAGS =
  "--max-old-space-size=160,--max-semi-space-size=1,--optimize-for-size,--no-memory-pool";

/**
 * glibc malloc settings of the product (`GLIBC_TUNABLES`): fixed trim and mmap thresholds
 * (128 KiB). glibc otherwise raises both after a large buffer is freed (a running-config read,
 * a netlink dump), and keeps up to 32 MB per arena that it never returns.
 */
export const PRODUCT_GLIBC_TUNABLES =
  "glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072";

/**
 * Environment the product needs besides its flags: `TMPDIR` inside the runtime folder, so that
 * temporary files stay within `--allow-write`; the V8 settings ({@link PRODUCT_V8_FLAGS});
 * `MALLOC_ARENA_MAX=2` (glibc keeps one malloc arena per thread otherwise, tens of MB of RSS
 * for Deno's worker threads) and {@link PRODUCT_GLIBC_TUNABLES}. The systemd unit, the image
 * and the DaemonSet set the same values.
 */
export function productEnvironment(
  options: Pick<PermissionOptions, "runtimeDir"> = {},
): Record<string, string> {
  return {
    TMPDIR: options.runtimeDir ?? DEFAULT_PATHS.runtimeDir,
    DENO_V8_FLAGS: PRODUCT_V8_FLAGS,
    MALLOC_ARENA_MAX: "2",
    GLIBC_TUNABLES: PRODUCT_GLIBC_TUNABLES,
  };
}

/** The flags with the default folders: what the shipped binary has baked in. */
export const PRODUCT_PERMISSION_FLAGS: readonly string[] = Object.freeze(
  productPermissionFlags(),
);

if (import.meta.main) {
  console.log(productPermissionFlags().join(" "));
}
