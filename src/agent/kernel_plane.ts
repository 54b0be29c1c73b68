/**
 * The kernel plane of the reconcile loop: a VRF device per tenant (in `device` mode) and the
 * tenant's blackhole routes in its table, marked with the agent's rtm_protocol.
 */
import { formatPrefix } from "../net/mod.ts";
import { getLogger } from "../log/mod.ts";
import {
  checkMpls,
  KernelPlane,
  KernelUnsupportedError,
  MissingCapabilityError,
  type MplsStatus,
} from "../kernel/mod.ts";
import { CAP_NET_ADMIN, hasCapability } from "../../ffi/mod.ts";
import type { Allocation } from "../allocate/mod.ts";
import type { Desired, Plane, PlaneOutcome, ReconcileRequest } from "./plane.ts";

const log = getLogger("agent", "kernel");

/** Options of {@link KernelPlaneAdapter.open}. */
export interface KernelAdapterOptions {
  /** Manage this network namespace instead of the agent's own. */
  netns?: string;
}

/** Drives {@link KernelPlane} for the reconcile loop. */
export class KernelPlaneAdapter implements Plane {
  readonly name = "kernel" as const;
  readonly kernel: KernelPlane;
  #mpls?: MplsStatus;
  #unsupported?: string;

  private constructor(kernel: KernelPlane) {
    this.kernel = kernel;
  }

  /**
   * Opens the netlink plane and checks MPLS per `kernel.mpls` (throws when `require` fails).
   * Without CAP_NET_ADMIN it throws {@link MissingCapabilityError} before touching anything:
   * every route and VRF change would be refused with EPERM.
   */
  static async open(desired: Pick<Desired, "config">, options: KernelAdapterOptions = {}) {
    if (!hasCapability(CAP_NET_ADMIN)) {
      throw new MissingCapabilityError(
        "vpnv4-agent needs CAP_NET_ADMIN to program VRFs and routes over rtnetlink: run it as " +
          "root or grant it (systemd AmbientCapabilities=CAP_NET_ADMIN, Kubernetes " +
          "securityContext.capabilities.add: [NET_ADMIN])",
      );
    }
    const kernel = KernelPlane.open({
      protocol: desired.config.kernel.route_protocol,
      netns: options.netns,
    });
    const adapter = new KernelPlaneAdapter(kernel);
    try {
      adapter.#mpls = await checkMpls(desired.config.kernel.mpls, { netns: options.netns });
    } catch (e) {
      await kernel.close();
      throw e;
    }
    return adapter;
  }

  health(): { usable: boolean; warnings: string[] } {
    const warnings: string[] = [];
    if (this.#mpls && !this.#mpls.ready && this.#mpls.mode !== "off") {
      warnings.push(`MPLS not ready, control plane only: ${this.#mpls.reason}`);
    }
    if (this.#unsupported) warnings.push(this.#unsupported);
    return { usable: this.#unsupported === undefined, warnings };
  }

  async reconcile(desired: Desired, request: ReconcileRequest): Promise<PlaneOutcome> {
    const errors = new Map<string, string>();
    const counts = {
      routes_added: 0,
      routes_removed: 0,
      routes_kept: 0,
      vrfs_created: 0,
      vrfs_deleted: 0,
      route_failures: 0,
    };
    const device = desired.config.kernel.vrf_mode === "device";
    for (const [name, { tenant, allocation }] of desired.tenants) {
      if (!request.full && request.changed && !request.changed.has(name)) continue;
      try {
        if (device) {
          const vrf = await this.kernel.ensureVrf(allocation.vrf, allocation.table);
          if (vrf.created) counts.vrfs_created++;
        }
        const r = await this.kernel.syncRoutes(allocation.table, tenant.prefixes);
        counts.routes_added += r.added;
        counts.routes_removed += r.removed;
        counts.routes_kept += r.kept;
        counts.route_failures += r.failures.length;
        if (r.failures.length > 0) {
          const first = r.failures[0];
          errors.set(
            name,
            `${r.failures.length} route(s) refused, first: ${first.op} ${
              formatPrefix(first.prefix)
            }: ${first.error.message}`,
          );
        }
      } catch (e) {
        if (e instanceof KernelUnsupportedError) {
          this.#unsupported = e.message;
          throw e;
        }
        errors.set(name, describe(e));
      }
    }
    const retired = request.full
      ? desired.retired
      : desired.retired.filter((a) => request.retiredNow?.has(a.tenant));
    for (const allocation of retired) {
      try {
        counts.routes_removed += await this.#remove(allocation, device);
        if (device && await this.kernel.deleteVrf(allocation.vrf)) counts.vrfs_deleted++;
      } catch (e) {
        errors.set(allocation.tenant, describe(e));
      }
    }
    return { tenantErrors: errors, counts };
  }

  async #remove(allocation: Allocation, _device: boolean): Promise<number> {
    const r = await this.kernel.syncRoutes(allocation.table, []);
    if (r.removed > 0) {
      log.info("removed {n} routes of retired tenant {tenant} from table {table}", {
        n: r.removed,
        tenant: allocation.tenant,
        table: allocation.table,
      });
    }
    return r.removed;
  }

  async withdrawAll(desired: Desired): Promise<void> {
    const device = desired.config.kernel.vrf_mode === "device";
    const all = [...[...desired.tenants.values()].map((t) => t.allocation), ...desired.retired];
    for (const allocation of all) {
      await this.#remove(allocation, device);
      if (device) await this.kernel.deleteVrf(allocation.vrf);
    }
  }

  close(): Promise<void> {
    return this.kernel.close();
  }
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message;
}
