/**
 * Route distinguishers and route targets (RFC 4364 section 4.2 / RFC 4360 section 4):
 * type 0 `ASN2:NN32`, type 1 `IPv4:NN16`, type 2 `ASN4:NN16`.
 */
import { formatIp, tryParseIp } from "../net/mod.ts";

/** A parsed RD or RT value. */
export interface RouteDistinguisher {
  /** 0: 2-byte ASN admin, 1: IPv4 admin, 2: 4-byte ASN admin. */
  readonly type: 0 | 1 | 2;
  /** ASN (types 0, 2) or dotted IPv4 (type 1). */
  readonly admin: number | string;
  /** Assigned number: 32 bits for type 0, 16 bits for types 1 and 2. */
  readonly assigned: number;
}

/** Thrown for RD/RT text or values out of range. */
export class RouteDistinguisherError extends Error {
  override name = "RouteDistinguisherError";
}

/** Largest assigned number for an administrator of this kind. */
export function maxAssigned(admin: number | string): number {
  if (typeof admin === "string") return 0xffff;
  return admin <= 0xffff ? 0xffffffff : 0xffff;
}

/**
 * Builds an RD/RT from an administrator (ASN or IPv4 text) and an assigned number, choosing the
 * type from the administrator. Out-of-range values throw; they are never wrapped.
 */
export function makeRouteDistinguisher(
  admin: number | string,
  assigned: number,
): RouteDistinguisher {
  if (typeof admin === "string") {
    const ip = tryParseIp(admin);
    if (!ip || ip.family !== 4) {
      throw new RouteDistinguisherError(
        `administrator ${JSON.stringify(admin)} is not an IPv4 address`,
      );
    }
    admin = formatIp(ip);
  } else if (!Number.isInteger(admin) || admin < 0 || admin > 0xffffffff) {
    throw new RouteDistinguisherError(`administrator ASN ${admin} is out of range 0..4294967295`);
  }
  const max = maxAssigned(admin);
  if (!Number.isInteger(assigned) || assigned < 0 || assigned > max) {
    throw new RouteDistinguisherError(
      `assigned number ${assigned} is out of range 0..${max} for administrator ${admin}`,
    );
  }
  const type = typeof admin === "string" ? 1 : admin <= 0xffff ? 0 : 2;
  return { type, admin, assigned };
}

/** Parses `ASN:NN` or `A.B.C.D:NN`. */
export function parseRouteDistinguisher(text: string): RouteDistinguisher {
  const m = /^([0-9]{1,10}|[0-9]{1,3}(?:\.[0-9]{1,3}){3}):([0-9]{1,10})$/.exec(text);
  if (!m) {
    throw new RouteDistinguisherError(
      `${JSON.stringify(text)} is not ASN:NN or IPv4:NN`,
    );
  }
  const admin = m[1].includes(".") ? m[1] : Number(m[1]);
  return makeRouteDistinguisher(admin, Number(m[2]));
}

/** Formats as FRR and GoBGP write it: `ASN:NN` or `A.B.C.D:NN`. */
export function formatRouteDistinguisher(rd: RouteDistinguisher): string {
  return `${rd.admin}:${rd.assigned}`;
}
