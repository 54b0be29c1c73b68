/**
 * Synthetic OVN NB pods for the load benchmark (bench/load.ts) and the heap profile
 * (scripts/heap_profile.ts): pod `i` of tenant `t` is port `ns<t>_pod<i>` with a /32 from
 * 10.0.0.0/8, on switch `node<i % switches>`, labelled with {@link NS_KEY} = `ns<t>`.
 * @module
 */
import { ops, type OvsdbClient } from "../src/ovsdb/mod.ts";

/** The external_ids key that names a pod's namespace (tenant). */
export const NS_KEY = "k8s.ovn.org/namespace";
/** Ports per logical switch. */
export const PORTS_PER_SWITCH = 5000;

/** A pod written to NB: its row UUID, switch index and tenant index. */
export interface Pod {
  uuid: string;
  sw: number;
  tenant: number;
}

function podIp(i: number): string {
  // 10.0.0.0/8 without .0 and .255 host parts (all valid /32s anyway).
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function podMac(i: number): string {
  return `0a:58:${
    [(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255]
      .map((b) => b.toString(16).padStart(2, "0")).join(":")
  }`;
}

/** The insert of pod `i` of tenant `tenant` as named row `uuidName`. */
export function podInsert(i: number, tenant: number, uuidName: string) {
  return ops.insert("Logical_Switch_Port", {
    name: `ns${tenant}_pod${i}`,
    addresses: [`${podMac(i)} ${podIp(i)}`],
    external_ids: new Map([[NS_KEY, `ns${tenant}`]]),
  }, { uuidName });
}

/** The switch pod `i` goes to when `pods` pods are spread over the switches. */
export function podSwitch(i: number, pods: number): number {
  return i % Math.max(1, Math.ceil(pods / PORTS_PER_SWITCH));
}

/** Writes `pods` pods spread over `tenants` tenants into NB in one transaction. */
export async function fillPods(
  client: OvsdbClient,
  options: { tenants: number; pods: number },
): Promise<Pod[]> {
  const { tenants, pods } = options;
  const switches = Math.max(1, Math.ceil(pods / PORTS_PER_SWITCH));
  const txn: ReturnType<typeof ops.insert>[] = [];
  const members: ReturnType<typeof ops.namedUuid>[][] = Array.from({ length: switches }, () => []);
  for (let i = 0; i < pods; i++) {
    txn.push(podInsert(i, i % tenants, `p${i}`));
    members[i % switches].push(ops.namedUuid(`p${i}`));
  }
  members.forEach((m, s) => txn.push(ops.insert("Logical_Switch", { name: `node${s}`, ports: m })));
  const results = await client.transact(txn);
  const bad = results.find((r) => r?.error);
  if (bad) throw new Error(`NB fill failed: ${bad.error} ${bad.details ?? ""}`);
  return Array.from({ length: pods }, (_, i) => ({
    uuid: results[i].uuid![1],
    sw: i % switches,
    tenant: i % tenants,
  }));
}
