/**
 * Running `main.ts run` the way it ships: `deno run` with exactly the product permission flags
 * (scripts/permissions.ts) inside a network namespace, optionally behind a command prefix
 * (setpriv) that drops root (through tests/support/agent_proc.ts). Folders follow the production
 * layout, rooted in a temp dir.
 * @module
 */
import { join } from "node:path";
import { productEnvironment, productPermissionFlags } from "../../scripts/permissions.ts";
import { type AgentProc, spawnAgent } from "../support/agent_proc.ts";

/** The production folder layout, rooted in a temp dir (all paths absolute). */
export interface AgentLayout {
  /** The temp root (removed by {@link removeLayout}). */
  root: string;
  /** Stands for /etc/vpnv4-agent. */
  configDir: string;
  /** Stands for /var/lib/vpnv4-agent. */
  stateDir: string;
  /** Stands for /run/vpnv4-agent. */
  runtimeDir: string;
  /** `configDir/vpnv4-agent.yaml`. */
  config: string;
  /** `configDir/tenants.yaml`. */
  tenants: string;
  /** `stateDir/state.json`. */
  stateFile: string;
}

/**
 * Creates the layout. `owner` chowns the state and runtime folders (as install.sh does for the
 * service user) and makes the root and config folder traversable/readable by that user.
 */
export async function makeLayout(
  prefix: string,
  options: { owner?: { uid: number; gid: number } } = {},
): Promise<AgentLayout> {
  const root = await Deno.makeTempDir({ prefix });
  const layout: AgentLayout = {
    root,
    configDir: join(root, "etc"),
    stateDir: join(root, "state"),
    runtimeDir: join(root, "run"),
    config: join(root, "etc", "vpnv4-agent.yaml"),
    tenants: join(root, "etc", "tenants.yaml"),
    stateFile: join(root, "state", "state.json"),
  };
  await Deno.mkdir(layout.configDir, { mode: 0o750 });
  await Deno.mkdir(layout.runtimeDir, { mode: 0o750 });
  const owner = options.owner;
  if (owner) {
    await Deno.chmod(root, 0o755);
    await Deno.chown(layout.configDir, 0, owner.gid);
    await Deno.chmod(layout.configDir, 0o750);
    // The state folder exists with the service user's ownership, as StateDirectory= makes it.
    await Deno.mkdir(layout.stateDir, { mode: 0o700 });
    await Deno.chown(layout.stateDir, owner.uid, owner.gid);
    await Deno.chown(layout.runtimeDir, owner.uid, owner.gid);
  }
  return layout;
}

/** Writes a configuration file readable by the layout's group (0640, like install.sh). */
export async function writeConfigFile(
  path: string,
  text: string,
  options: { gid?: number } = {},
): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o640 });
  await Deno.chmod(path, 0o640);
  if (options.gid !== undefined) await Deno.chown(path, 0, options.gid);
}

/** Removes the layout's temp root. */
export async function removeLayout(layout: AgentLayout): Promise<void> {
  await Deno.remove(layout.root, { recursive: true }).catch(() => {});
}

/** The product flags with the layout's folders (and extra OVSDB socket folders). */
export function layoutFlags(
  layout: AgentLayout,
  options: { ovsdbSocketDirs?: string[]; tlsDirs?: string[] } = {},
): string[] {
  return productPermissionFlags({
    configDir: layout.configDir,
    stateDir: layout.stateDir,
    runtimeDir: layout.runtimeDir,
    ovsdbSocketDirs: options.ovsdbSocketDirs,
    tlsDirs: options.tlsDirs,
  });
}

/** Options of {@link spawnShippedAgent}. */
export interface ShippedAgentOptions {
  /** Network namespace to run in (`ip netns exec`). */
  netns: string;
  /** Permission flags (normally {@link layoutFlags}). */
  flags: string[];
  /** Command prefix run inside the namespace before deno, e.g. setpriv with its options. */
  prefix?: string[];
  /** Extra environment (added to the product environment and PATH). */
  env?: Record<string, string>;
  /** Folder standing for /run/vpnv4-agent (TMPDIR points there, as in the deploy units). */
  runtimeDir: string;
}

/**
 * `deno run <flags> main.ts ARGS…` in the namespace, from `/`, with the product environment
 * only; stdout and stderr are both captured.
 */
export function spawnShippedAgent(args: string[], options: ShippedAgentOptions): AgentProc {
  const env: Record<string, string> = {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    ...productEnvironment({ runtimeDir: options.runtimeDir }),
    ...options.env,
  };
  for (const name of ["HOME", "DENO_DIR", "VPNV4_LIBMNL_PATH", "VPNV4_LIBC_PATH"]) {
    const v = Deno.env.get(name);
    if (v !== undefined && env[name] === undefined) env[name] = v;
  }
  return spawnAgent(args, {
    flags: options.flags,
    netns: options.netns,
    prefix: options.prefix,
    env,
    clearEnv: true,
    cwd: "/",
    captureStdout: true,
  });
}

/** Words that Deno prints when a permission is missing. */
export const PERMISSION_DENIED = /NotCapable|Requires \w+ access|--allow-\w+ flag/;
