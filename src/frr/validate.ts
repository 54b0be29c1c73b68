/**
 * Defense in depth for everything written into FRR configuration: every value that comes from
 * data (tenant and VRF names, descriptions, passwords, RD/RT, prefixes, addresses) is checked
 * again here against a strict token grammar, so no input can smuggle a second vtysh line, a
 * comment or an extra token into the rendered text, whatever the upstream validation did.
 * @module
 */
import { formatIp, formatPrefix, type IpPrefix, tryParseIp } from "../net/mod.ts";
import { parseRouteDistinguisher } from "../allocate/route_distinguisher.ts";

/** Thrown when a value may not be written into FRR configuration. */
export class FrrRenderError extends Error {
  override name = "FrrRenderError";
  /** Which input field was rejected, e.g. `bgp.peers[0].description` or `tenant demo: vrf`. */
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

/** Largest 4-byte ASN. */
const ASN_MAX = 4294967295;
/** Longest line the renderer ever emits (a guard, not an FRR limit). */
const MAX_LINE = 512;

/** Quotes a rejected value for a message: JSON, cut to 60 characters. */
function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Asserts an integer in [min, max]. */
export function assertInteger(
  field: string,
  value: unknown,
  range: { min: number; max: number },
): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < range.min ||
    value > range.max
  ) {
    throw new FrrRenderError(
      field,
      `${show(value)} is not an integer in ${range.min}..${range.max}`,
    );
  }
  return value;
}

/** Asserts a BGP AS number (1..4294967295). */
export function assertAsn(field: string, value: unknown): number {
  return assertInteger(field, value, { min: 1, max: ASN_MAX });
}

/** VRF names: Linux interface names (1-15 of A-Z a-z 0-9 _ . -), not `.`/`..`/`default`. */
const VRF_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Asserts a VRF name usable as `vrf NAME` and inside agent object names. */
export function assertVrfName(field: string, value: unknown): string {
  if (typeof value !== "string" || !VRF_NAME.test(value) || value === "." || value === "..") {
    throw new FrrRenderError(field, `${show(value)} is not a VRF name (1-15 of A-Z a-z 0-9 _ . -)`);
  }
  if (value.toLowerCase() === "default") {
    throw new FrrRenderError(field, `"${value}" is FRR's default VRF and cannot be a tenant VRF`);
  }
  return value;
}

/** Tenant names: as in src/tenants/model.ts (`TENANT_NAME`). */
const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Asserts a tenant name. */
export function assertTenantName(field: string, value: unknown): string {
  if (typeof value !== "string" || !TENANT_NAME.test(value)) {
    throw new FrrRenderError(field, `${show(value)} is not a tenant name`);
  }
  return value;
}

/** Asserts RD/RT text `ASN:NN` or `A.B.C.D:NN` within the RFC 4364 ranges; returns it. */
export function assertRouteTarget(field: string, value: unknown): string {
  if (
    typeof value !== "string" ||
    !/^([0-9]{1,10}|[0-9]{1,3}(\.[0-9]{1,3}){3}):[0-9]{1,10}$/.test(value)
  ) {
    throw new FrrRenderError(field, `${show(value)} is not ASN:NN or A.B.C.D:NN`);
  }
  try {
    parseRouteDistinguisher(value);
  } catch (cause) {
    throw new FrrRenderError(field, (cause as Error).message, { cause });
  }
  // FRR prints numbers without leading zeros; refuse text it would rewrite.
  if (/(^|[:.])0[0-9]/.test(value)) {
    throw new FrrRenderError(field, `${show(value)} has leading zeros`);
  }
  return value;
}

/** Asserts an IP address (either family, or only `family`); returns its canonical text. */
export function assertIp(field: string, value: unknown, options: { family?: 4 | 6 } = {}): string {
  const family = options.family;
  const ip = typeof value === "string" && value.length <= 45 ? tryParseIp(value) : undefined;
  if (!ip || (family !== undefined && ip.family !== family)) {
    throw new FrrRenderError(
      field,
      `${show(value)} is not an ${family ? `IPv${family}` : "IP"} address`,
    );
  }
  return formatIp(ip);
}

/** Asserts a parsed prefix; returns its canonical text (checked against a strict grammar). */
export function assertPrefix(field: string, value: IpPrefix): string {
  let text: string;
  try {
    text = formatPrefix(value);
  } catch (cause) {
    throw new FrrRenderError(field, "not a valid prefix", { cause });
  }
  const ok = value.family === 4
    ? /^[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2}$/.test(text) && value.length <= 32
    : /^[0-9a-f:]{2,39}\/[0-9]{1,3}$/.test(text) && value.length <= 128;
  if (!ok || value.bytes.length !== (value.family === 4 ? 4 : 16)) {
    throw new FrrRenderError(field, `${show(text)} is not a canonical IPv${value.family} prefix`);
  }
  return text;
}

/**
 * Normalises and asserts a neighbor description: printable ASCII without `!`/`#`, at most
 * 80 characters. Runs of spaces collapse to one and the ends are trimmed, exactly as FRR
 * stores it (it joins the words of the command), so running-config compares equal.
 */
export function assertDescription(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length > 80 || !/^[\x20-\x7e]*$/.test(value)) {
    throw new FrrRenderError(field, `${show(value)} is not printable ASCII of at most 80`);
  }
  if (/[!#]/.test(value)) throw new FrrRenderError(field, "must not contain '!' or '#'");
  return value.trim().split(/ +/).join(" ");
}

/** Asserts a TCP MD5 password: 1-80 printable ASCII without spaces, `!` or `#`. */
export function assertPassword(field: string, value: unknown): string {
  // Never echo the value: it is a secret.
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,80}$/.test(value) || /[!#]/.test(value)) {
    throw new FrrRenderError(
      field,
      "must be 1-80 printable ASCII characters without spaces, '!' or '#'",
    );
  }
  return value;
}

/** Asserts an interface name or IP address for `update-source`; returns canonical text. */
export function assertUpdateSource(field: string, value: unknown): string {
  if (typeof value === "string" && tryParseIp(value)) return assertIp(field, value);
  if (typeof value !== "string" || !/^[A-Za-z0-9_.-]{1,15}$/.test(value)) {
    throw new FrrRenderError(field, `${show(value)} is not an IP address or interface name`);
  }
  return value;
}

/**
 * Last guard on every emitted line: printable ASCII, no `!`/`#`, no line breaks, bounded
 * length. A line failing here means a renderer bug, never bad input that slipped through.
 */
export function assertLine(line: string): string {
  if (
    line.length === 0 || line.length > MAX_LINE || !/^[\x20-\x7e]+$/.test(line) || /[!#]/.test(line)
  ) {
    throw new FrrRenderError("line", `refusing to emit ${show(line)}`);
  }
  return line;
}
