/**
 * FIB rules: fib_rule_hdr + FRA_* (table lookups, l3mdev).
 * @module
 */
import type { Family } from "../net/mod.ts";
import {
  AF_INET,
  AF_INET6,
  FIB_RULE_HDR_LEN,
  FR_ACT_TO_TBL,
  FRA_L3MDEV,
  FRA_PRIORITY,
  FRA_PROTOCOL,
  FRA_TABLE,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTM_DELRULE,
  RTM_GETRULE,
  RTM_NEWRULE,
} from "./constants.ts";
import { attrU32, attrU8, parseAttrs } from "./attrs.ts";
import type { NetlinkMessage } from "./message.ts";
import type { EncodeOptions } from "./route.ts";
import type { MessageWriter } from "./writer.ts";

/** A FIB rule: lookup in `table`, or an l3mdev rule (VRF tables). */
export interface RuleSpec {
  /** Address family. */
  readonly family: Family;
  /** FRA_PRIORITY. */
  readonly priority?: number;
  /** Table to look up (ids above 255 go in FRA_TABLE). */
  readonly table?: number;
  /** `l3mdev` rule: look up the table of the VRF device. */
  readonly l3mdev?: boolean;
  /** FRA_PROTOCOL. */
  readonly protocol?: number;
}

/** Options of {@link encodeRule}. */
export interface EncodeRuleOptions extends EncodeOptions {
  /** Delete instead of add. */
  delete?: boolean;
}

/** Appends an RTM_NEWRULE / RTM_DELRULE (layout of `ip rule add [l3mdev] pref N table T`). */
export function encodeRule(
  w: MessageWriter,
  rule: RuleSpec,
  options: EncodeRuleOptions = {},
): void {
  const del = options.delete === true;
  const flags = NLM_F_REQUEST | (options.ack === false ? 0 : NLM_F_ACK) |
    (del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
  const start = w.beginMessage(del ? RTM_DELRULE : RTM_NEWRULE, flags, options);
  const table = rule.table ?? 0;
  w.u8(rule.family === 4 ? AF_INET : AF_INET6);
  w.u8(0); // dst_len
  w.u8(0); // src_len
  w.u8(0); // tos
  w.u8(table < 256 ? table : 0);
  w.u8(0);
  w.u8(0);
  w.u8(FR_ACT_TO_TBL);
  w.u32(0);
  if (rule.l3mdev) w.attrU8(FRA_L3MDEV, 1);
  if (rule.priority !== undefined) w.attrU32(FRA_PRIORITY, rule.priority);
  if (table > 255) w.attrU32(FRA_TABLE, table);
  if (rule.protocol !== undefined) w.attrU8(FRA_PROTOCOL, rule.protocol);
  w.endMessage(start);
}

/** Appends an RTM_GETRULE dump request. */
export function encodeRuleDump(
  w: MessageWriter,
  options: EncodeOptions & { family?: Family } = {},
): void {
  const start = w.beginMessage(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, options);
  w.u8(options.family === 6 ? AF_INET6 : AF_INET);
  w.zeros(FIB_RULE_HDR_LEN - 1);
  w.endMessage(start);
}

/** A decoded rule message. */
export interface RuleMessage {
  /** Address family. */
  readonly family: Family;
  /** Table id (FRA_TABLE when present, else the header's). */
  readonly table: number;
  /** FR_ACT_* action. */
  readonly action: number;
  /** FRA_PRIORITY. */
  readonly priority?: number;
  /** True for an l3mdev rule (FRA_L3MDEV). */
  readonly l3mdev: boolean;
  /** FRA_PROTOCOL. */
  readonly protocol?: number;
}

/** Decodes an RTM_NEWRULE / RTM_DELRULE payload. */
export function decodeRule(message: NetlinkMessage): RuleMessage {
  const p = message.payload;
  if (p.length < FIB_RULE_HDR_LEN) throw new RangeError(`fib_rule_hdr too short: ${p.length}`);
  const attrs = parseAttrs(p, { start: FIB_RULE_HDR_LEN });
  return {
    family: p[0] === AF_INET ? 4 : 6,
    table: attrU32(attrs.get(FRA_TABLE)) ?? p[4],
    action: p[7],
    priority: attrU32(attrs.get(FRA_PRIORITY)),
    l3mdev: attrU8(attrs.get(FRA_L3MDEV)) === 1,
    protocol: attrU8(attrs.get(FRA_PROTOCOL)),
  };
}
