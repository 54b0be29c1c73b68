/**
 * `deno task lab`: the end-to-end lab. Brings up an OVN NB database with two tenants, a node
 * namespace running FRR and vpnv4-agent, and a "FortiGate" namespace running GoBGP, prints the
 * evidence (agent status, FRR and GoBGP VPN tables, kernel VRF routes, OVN static routes),
 * checks the key assertions and tears everything down.
 *
 * On a kernel without VRF support the whole scenario runs inside the QEMU guest
 * (deploy/lab/guest); on a kernel with VRF it runs directly.
 *
 * ```sh
 * deno task lab               # run the lab (in the guest when needed)
 * deno task lab --withdraw    # also delete a pod and a tenant and watch the withdrawals
 * deno task lab --rt-change   # also change the RTs (allocation.rt_base + SIGHUP)
 * deno task lab --install     # apt-get install missing packages first
 * ```
 * Exit codes: 0 all assertions hold, 1 a step or assertion failed, 2 prerequisites missing.
 * @module
 */
import { guestAvailable, hostHasVrf, runInGuest } from "./guest/mod.ts";
import { installLine, missingPackages } from "./preflight.ts";
import { REPO_ROOT, runLabScenario } from "./scenario.ts";

const USAGE =
  `usage: deno task lab [--withdraw] [--rt-change] [--install] [--guest] [--inside] [--json]
  --withdraw  also delete a pod and a tenant in OVN NB, withdraw the WAN route at GoBGP and
              check the withdrawals (GoBGP, VRF table, OVN static route)
  --rt-change also rewrite allocation.rt_base and SIGHUP the agent; check the new RTs at GoBGP
  --install   apt-get install the missing Debian packages (root)
  --guest     run in the QEMU guest even when this kernel has VRF support
  --inside    run the scenario here, now (what the guest runs; needs a kernel with VRF)
  --json      print one "LAB_RESULT {json}" line at the end (for tests)`;

const KNOWN = new Set([
  "--withdraw",
  "--rt-change",
  "--install",
  "--guest",
  "--inside",
  "--json",
  "--help",
  "-h",
]);

function log(text: string): void {
  console.log(`[lab] ${text}`);
}

async function main(args: string[]): Promise<number> {
  for (const a of args) {
    if (!KNOWN.has(a)) {
      console.error(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const withdraw = args.includes("--withdraw");

  if (args.includes("--inside")) {
    const result = await runLabScenario({ withdraw, rtChange: args.includes("--rt-change") });
    if (args.includes("--json")) console.log(`LAB_RESULT ${JSON.stringify(result)}`);
    console.log(
      result.ok
        ? `[lab] PASS in ${(result.timingsMs.total / 1000).toFixed(1)}s`
        : `[lab] FAIL at step "${result.failedStep}"`,
    );
    return result.ok ? 0 : 1;
  }

  if (Deno.uid() !== 0) {
    console.error("the lab needs root (network namespaces, FRR, QEMU): run it with sudo");
    return 2;
  }
  const direct = !args.includes("--guest") && await hostHasVrf();
  let missing = await missingPackages({ guest: !direct });
  if (missing.length && args.includes("--install")) {
    log(`installing: ${installLine(missing)}`);
    const out = await new Deno.Command("apt-get", {
      args: ["install", "-y", ...missing],
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    if (!out.success) log(`apt-get install exited ${out.code}`);
    missing = await missingPackages({ guest: !direct });
  }
  if (missing.length) {
    console.error(`missing Debian packages: ${missing.join(", ")}\ninstall them with:\n`);
    console.error(`  ${installLine(missing)}\n`);
    console.error("(or run `deno task lab --install` as root)");
    return 2;
  }

  const passArgs = args.filter((a) => ["--withdraw", "--rt-change", "--json"].includes(a));
  if (direct) {
    log("this kernel has VRF support: running the lab directly");
    return await main(["--inside", ...passArgs]);
  }
  const avail = await guestAvailable();
  if (!avail.ok) {
    console.error(
      `this kernel has no VRF support and the QEMU guest is unavailable: ${avail.reason}`,
    );
    return 2;
  }
  log("this kernel has no VRF support: running the lab inside the QEMU guest (Debian kernel)");
  const script = [Deno.execPath(), "run", "-A", `${REPO_ROOT}/deploy/lab/lab.ts`, "--inside"]
    .concat(passArgs).join(" ");
  const started = performance.now();
  try {
    const r = await runInGuest(script, {
      timeoutMs: 600_000,
      onOutput: (line) => console.log(line),
    });
    log(
      `guest powered off after ${
        ((performance.now() - started) / 1000).toFixed(1)
      }s, exit ${r.code}`,
    );
    return r.code;
  } catch (e) {
    console.error(`[lab] the guest failed: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
