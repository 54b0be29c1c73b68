/**
 * Types of the expose mode: what this chassis advertises as host (/32, /128) and subnet
 * routes, and why.
 * @module
 */
import type { IpPrefix } from "../net/mod.ts";

/** Why a prefix is exposed (which selector picked it). */
export type ExposeReason = "provider" | "floating_ip" | "gateway" | "tenant" | "layer2" | "remote";

/** One exposed prefix and the logical port it belongs to. */
export interface ExposedPrefix {
  readonly prefix: IpPrefix;
  /** Canonical `ADDR/LEN` text. */
  readonly text: string;
  readonly reason: ExposeReason;
  /** Logical port (LSP, LRP, or the NAT's logical_port) that brought the prefix in. */
  readonly port: string;
}

/** A row or prefix that was skipped, and why (shown in logs, never sent anywhere). */
export interface ExposeRejection {
  /** Table and uuid (or port name) of the row. */
  readonly where: string;
  readonly reason: string;
}

/** Everything this chassis exposes. */
export interface ExposureSet {
  /** Host routes (/32, /128), sorted, unique by port and prefix. */
  readonly hosts: readonly ExposedPrefix[];
  /** Subnet routes, sorted, unique by port and prefix. */
  readonly subnets: readonly ExposedPrefix[];
  readonly rejected: readonly ExposeRejection[];
}

/** The identity of the local chassis. */
export interface ChassisIdentity {
  /** OVN chassis name (Open_vSwitch external_ids:system-id). */
  readonly name: string;
  /** Hostname (external_ids:hostname), which requested-chassis may name instead. */
  readonly hostname?: string;
}

/** The row an upstream driver call refers to (upstream passes an IDL row). */
export interface PortRef {
  /** Logical port name (Port_Binding.logical_port / Logical_Switch_Port.name). */
  readonly logicalPort: string;
  /** The port's external_ids (namespace keys live here). */
  readonly externalIds?: ReadonlyMap<string, string>;
}
