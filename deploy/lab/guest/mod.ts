/**
 * QEMU guest harness: runs a bash script as root inside Debian's kernel (which has VRF,
 * dummy and MPLS) booted under QEMU/TCG, with the host's root filesystem mounted read-only
 * over 9p under a tmpfs overlay. Used by e2e tests, benchmarks and `deno task lab`.
 *
 * ```ts
 * import { guestAvailable, runInGuest } from "../deploy/lab/guest/mod.ts";
 * if ((await guestAvailable()).ok) {
 *   const { code, output } = await runInGuest("ip link add v type vrf table 10 && ip -d link");
 * }
 * ```
 * @module
 */
import { findGuestKernel, INITRAMFS_MODULES, resolveModules } from "./kernel.ts";
import { ensureInitramfs, GUEST_JOB_DIR, HOSTROOT_TAG, JOB_TAG } from "./initramfs.ts";

export { findGuestKernel, type GuestKernel } from "./kernel.ts";
export { BUILDER_VERSION, DEFAULT_CACHE_DIR, ensureInitramfs } from "./initramfs.ts";

/** Modules loaded with `modprobe` in the guest before the script runs. */
export const GUEST_MODULES: readonly string[] = ["vrf", "mpls_router", "mpls_iptunnel", "dummy"];

/** The repository root (the guest script's default working directory). */
export const REPO_ROOT: string = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");

/** Options of {@link runInGuest}. */
export interface RunInGuestOptions {
  /** Kill the guest and throw after this many ms (default 180000). */
  timeoutMs?: number;
  /**
   * Extra environment for the script, on top of PATH, HOME=/root, LANG=C.UTF-8, TERM=dumb,
   * VPNV4_GUEST=1 and the host's DENO_DIR when set. Nothing else is inherited from the host.
   */
  env?: Record<string, string>;
  /** Called with each line of the script's output (stdout and stderr) as it appears. */
  onOutput?: (line: string) => void;
  /** Called with each line of the serial console (kernel and boot messages), for debugging. */
  onConsole?: (line: string) => void;
  /** Working directory of the script inside the guest (default: the repository root). */
  cwd?: string;
  /** Guest memory in MiB (default 2048). */
  memoryMb?: number;
}

/** Result of {@link runInGuest}. */
export interface GuestResult {
  /** The script's own exit code. */
  code: number;
  /** The script's combined stdout and stderr. */
  output: string;
  /** Wall time from starting QEMU to the guest powering off, in ms. */
  durationMs: number;
}

const DEFAULT_ENV: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  LANG: "C.UTF-8",
  TERM: "dumb",
  VPNV4_GUEST: "1",
};

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function stage2Script(): string {
  const j = GUEST_JOB_DIR;
  return `#!/bin/bash
exec </dev/null
export PATH=${DEFAULT_ENV.PATH}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# /tmp is not a fresh tmpfs: the overlay already makes it writable, and a repository cloned under
# the host's /tmp (as CI may do) must stay visible.
mkdir -p /run/lock /run/netns
ln -sf /proc/self/fd /dev/fd 2>/dev/null
modprobe -a ${GUEST_MODULES.join(" ")} || echo "vpnv4-guest: modprobe failed"
ip link set lo up
hostname vpnv4-guest 2>/dev/null
. ${j}/env.sh
cd "$VPNV4_GUEST_CWD" || echo "vpnv4-guest: cannot cd to $VPNV4_GUEST_CWD"
echo "@@vpnv4-guest: running@@"
bash ${j}/script.sh >${j}/output 2>&1
rc=$?
echo "$rc" >${j}/rc.tmp && mv ${j}/rc.tmp ${j}/rc
echo "@@vpnv4-guest: exit $rc@@"
sync
echo o >/proc/sysrq-trigger
sleep 30
`;
}

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      const st = await Deno.stat(`${dir}/${cmd}`);
      if (st.isFile) return `${dir}/${cmd}`;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Tells whether {@link runInGuest} can work here: qemu-system-x86_64, a /boot kernel with
 * its /lib/modules tree (including the virtio/9p/overlay/VRF/MPLS modules) and busybox.
 */
export async function guestAvailable(): Promise<{ ok: boolean; reason?: string }> {
  if (!(await which("qemu-system-x86_64"))) {
    return { ok: false, reason: "qemu-system-x86_64 not found (apt-get install qemu-system-x86)" };
  }
  const kernel = await findGuestKernel();
  if (!kernel) {
    return {
      ok: false,
      reason: "no /boot/vmlinuz-* with /lib/modules (apt-get install linux-image-amd64)",
    };
  }
  try {
    await resolveModules(kernel, [...INITRAMFS_MODULES, ...GUEST_MODULES]);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  try {
    await Deno.stat("/bin/busybox");
  } catch {
    return { ok: false, reason: "/bin/busybox not found (apt-get install busybox-static)" };
  }
  return { ok: true };
}

let vrfProbe: Promise<boolean> | undefined;

/**
 * True when the running kernel can create a VRF device (probed once, in a throwaway
 * network namespace via `unshare --net`), so callers can skip the guest on capable hosts.
 */
export function hostHasVrf(): Promise<boolean> {
  vrfProbe ??= (async () => {
    try {
      const out = await new Deno.Command("unshare", {
        args: ["--net", "ip", "link", "add", "vrfprobe", "type", "vrf", "table", "10"],
        stdout: "null",
        stderr: "null",
      }).output();
      return out.success;
    } catch {
      return false;
    }
  })();
  return vrfProbe;
}

/**
 * Runs `script` (bash, from the repository root) where the kernel has VRF and MPLS: directly on
 * a capable host ({@link hostHasVrf}), otherwise inside the QEMU guest ({@link runInGuest}).
 */
export async function runWhereVrf(
  script: string,
  options: Pick<RunInGuestOptions, "timeoutMs" | "onOutput"> = {},
): Promise<GuestResult> {
  if (!await hostHasVrf()) return await runInGuest(script, options);
  const started = performance.now();
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    cwd: new URL("../../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    output: dec.decode(out.stdout) + dec.decode(out.stderr),
    durationMs: Math.round(performance.now() - started),
  };
}

/** Keeps the last `max` lines of a stream. */
class Tail {
  lines: string[] = [];
  constructor(private max: number) {}
  push(line: string) {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  toString(): string {
    return this.lines.join("\n");
  }
}

async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i).replace(/\r$/, ""));
      buf = buf.slice(i + 1);
    }
  }
  if (buf) onLine(buf.replace(/\r$/, ""));
}

/**
 * Boots the guest, runs `script` with bash as root (cwd: the repository root), powers off
 * and returns the script's exit code and combined output. VRF, dummy, mpls_router and
 * mpls_iptunnel are loaded; proc, sys, dev, /run and /tmp (tmpfs) are mounted; `lo` is up.
 * The guest has no network interfaces besides those the script creates. The host root is
 * seen read-only under a tmpfs overlay (writes vanish at power-off); the guest's /tmp
 * is the host's /tmp under the same overlay, so a repository cloned there is visible.
 *
 * Throws when the guest cannot boot, when it powers off without a result, or when it is
 * still running after `timeoutMs` (it is killed; the error carries the console tail).
 */
export async function runInGuest(
  script: string,
  options: RunInGuestOptions = {},
): Promise<GuestResult> {
  const avail = await guestAvailable();
  if (!avail.ok) throw new Error(`guest unavailable: ${avail.reason}`);
  const kernel = (await findGuestKernel())!;
  const initrd = await ensureInitramfs(kernel);
  const timeoutMs = options.timeoutMs ?? 180_000;
  const jobDir = await Deno.makeTempDir({ prefix: "vpnv4-guest-job-" });
  try {
    const denoDir = Deno.env.get("DENO_DIR");
    const env = {
      ...DEFAULT_ENV,
      ...(denoDir ? { DENO_DIR: denoDir } : {}),
      ...options.env,
      VPNV4_GUEST_CWD: options.cwd ?? REPO_ROOT,
    };
    await Deno.writeTextFile(
      `${jobDir}/env.sh`,
      Object.entries(env).map(([k, v]) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`env: invalid name ${k}`);
        return `export ${k}=${shellQuote(v)}\n`;
      }).join(""),
    );
    await Deno.writeTextFile(`${jobDir}/stage2.sh`, stage2Script(), { mode: 0o755 });
    await Deno.writeTextFile(`${jobDir}/script.sh`, script, { mode: 0o755 });
    await Deno.writeTextFile(`${jobDir}/output`, "");

    const started = performance.now();
    const child = new Deno.Command("qemu-system-x86_64", {
      args: [
        ...["-accel", "tcg", "-cpu", "max", "-m", String(options.memoryMb ?? 2048), "-smp", "2"],
        ...["-nographic", "-no-reboot", "-nic", "none"],
        ...["-kernel", kernel.image, "-initrd", initrd],
        ...["-append", "console=ttyS0 panic=-1 quiet"],
        "-virtfs",
        `local,path=/,mount_tag=${HOSTROOT_TAG},security_model=none,readonly=on,multidevs=remap`,
        "-virtfs",
        `local,path=${jobDir},mount_tag=${JOB_TAG},security_model=none,multidevs=remap`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();

    const consoleTail = new Tail(60);
    const consoleDone = Promise.all([
      pumpLines(child.stdout, (l) => {
        consoleTail.push(l);
        options.onConsole?.(l);
      }),
      pumpLines(child.stderr, (l) => consoleTail.push(`qemu: ${l}`)),
    ]);

    // Stream the script's output file (written through 9p) to onOutput.
    const output = { text: "", offset: 0, pending: "" };
    const decoder = new TextDecoder();
    const poll = async (final: boolean) => {
      const file = await Deno.open(`${jobDir}/output`);
      try {
        await file.seek(output.offset, Deno.SeekMode.Start);
        const buf = new Uint8Array(1 << 16);
        let n: number | null;
        while ((n = await file.read(buf)) !== null) {
          output.offset += n;
          const s = decoder.decode(buf.subarray(0, n), { stream: true });
          output.text += s;
          output.pending += s;
        }
      } finally {
        file.close();
      }
      if (final) output.pending += decoder.decode();
      const parts = output.pending.split("\n");
      output.pending = parts.pop() ?? "";
      if (final && output.pending) {
        parts.push(output.pending);
        output.pending = "";
      }
      for (const line of parts) options.onOutput?.(line);
    };

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await new Promise((r) => setTimeout(r, 200));
        if (polling) await poll(false);
      }
    })();
    const status = await child.status;
    clearTimeout(timer);
    polling = false;
    await poller;
    await consoleDone;
    await poll(true);
    const durationMs = Math.round(performance.now() - started);

    if (timedOut) {
      throw new Error(
        `guest timed out after ${timeoutMs} ms and was killed; console tail:\n${consoleTail}` +
          `\nscript output tail:\n${output.text.slice(-2000)}`,
      );
    }
    let rcText: string;
    try {
      rcText = (await Deno.readTextFile(`${jobDir}/rc`)).trim();
    } catch (cause) {
      throw new Error(
        `guest powered off without a result (qemu exit ${status.code}); console tail:\n` +
          `${consoleTail}\nscript output tail:\n${output.text.slice(-2000)}`,
        { cause },
      );
    }
    const code = Number(rcText);
    if (!Number.isInteger(code)) throw new Error(`guest wrote an invalid exit code: ${rcText}`);
    return { code, output: output.text, durationMs };
  } finally {
    await Deno.remove(jobDir, { recursive: true }).catch(() => {});
  }
}
