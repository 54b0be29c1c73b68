/**
 * Every fuzz FINDING, kept as a fixed input: the target must now classify it as ok or as the
 * module's own error, and the fixed behaviour is asserted directly.
 */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { fromBase64, type FuzzTarget, runCase } from "./harness.ts";
import { netlinkTarget } from "./targets/netlink.ts";
import { ovnRowsTarget } from "./targets/ovn_rows.ts";
import { configTarget, frrRunningConfigTarget, tenantsTarget } from "./targets/text_targets.ts";
import {
  decodeAck,
  decodeRoute,
  newRouteScan,
  parseMessages,
  scanRoute,
} from "../../src/netlink/mod.ts";
import { ConfigError, configSchema, parseWithSchema } from "../../src/config/mod.ts";
import { parseRunningConfig } from "../../src/frr/mod.ts";
import { TenantIndex } from "../../src/ovn/mod.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

async function outcome(target: FuzzTarget, input: Uint8Array) {
  await target.setup?.();
  try {
    return await runCase(target, input);
  } finally {
    await target.teardown?.();
  }
}

async function assertNotFinding(target: FuzzTarget, input: Uint8Array, want: "ok" | "expected") {
  const o = await outcome(target, input);
  assertEquals(o.kind, want, JSON.stringify(o));
}

// netlink (seed 1): NLMSG_ERROR-style extack parsing with a peer-controlled request length
// of 0x80000000+ made nlAlign wrap negative and parseAttrs read at a negative offset.
const EXTACK_NEGATIVE_OFFSET = "LAAAACAABQYAAAAAAAAAAAIAAAAAAP//AAAAAAgABgDQBwAACAAPAOgDAAA=";
// netlink (seed 1): an IPv4 route with rtm_dst_len 72, an IPv6 route whose RTA_GATEWAY has
// 4 bytes, an RTA_VIA shorter than its family's address.
const ROUTE_DST_LEN_72 = "LAAAABkABQAAAAAAAAAAAAJIAAAA9f8GAAIAAAgA/gAAAAAACAAPAOgD/wA=";
const ROUTE_V6_GATEWAY_4_BYTES =
  "cAAAABgAAgAAAAAAkhAAAApAAAAA9QABAAAAABQAAQD9AAAQAkQAAAAAAAAAAAAACAAPAOgDAAAIAAYACgAAABQAFoAQAAEAAAEAAAABEAAAASEABgAVAAEAAAAKABIAAgDAAAIBAAAIAAUABAAAAA==";
const ROUTE_VIA_3_BYTES =
  "cAAAABgAAgAAAAAAkhAAAApAAAAA9QABAAAAABQAAQD9AAAQAkQAAAAAAAAAAAAACAAPAOgDAAAIAAYACgAAABQAFoAQAAEAAAEAAAABEAAAASEABgAVAAEAAAAJABIAAgDAAAIBAAAIAAQABAAAAA==";

Deno.test("fuzz regression netlink: extack with a huge echoed length is a codec error", async () => {
  await assertNotFinding(netlinkTarget, fromBase64(EXTACK_NEGATIVE_OFFSET), "ok");
  const [m] = parseMessages(fromBase64(EXTACK_NEGATIVE_OFFSET));
  // Not a DataView error from a negative offset: either decoded or the codec's own message.
  try {
    decodeAck(m);
  } catch (e) {
    assert(e instanceof RangeError && !/DataView/.test(e.message), String(e));
  }
});

// netlink (seed 20240901): a second, 2-byte RTA_TABLE: scanRoute kept the first table,
// decodeRoute fell back to rtm_table, so the dump scanner and the decoder disagreed.
const ROUTE_SHORT_SECOND_TABLE =
  "cAAAABgAAgAAAAAAkhAAAApAAAB/AAAAAAAAABQAAQD9AAAQAkQAAAAAAAAAAAAACAAPAOgDAAAIAAYACgAAABQAFoAQAAEAAAEAAAABEAAAASEABgAPAAEAAAAKABIAAgDAAAIBAAAIAAQAAAAYAA==";

Deno.test("fuzz regression netlink: scanRoute and decodeRoute agree on the table", async () => {
  await assertNotFinding(netlinkTarget, fromBase64(ROUTE_SHORT_SECOND_TABLE), "ok");
  const [m] = parseMessages(fromBase64(ROUTE_SHORT_SECOND_TABLE));
  assertEquals(scanRoute(m, newRouteScan()).table, decodeRoute(m).table);
  assertEquals(decodeRoute(m).table, 127);
});

Deno.test("fuzz regression netlink: malformed routes are refused, not half-decoded", async () => {
  for (const input of [ROUTE_DST_LEN_72, ROUTE_V6_GATEWAY_4_BYTES, ROUTE_VIA_3_BYTES]) {
    await assertNotFinding(netlinkTarget, fromBase64(input), "expected");
  }
  const [m] = parseMessages(fromBase64(ROUTE_DST_LEN_72));
  assertThrows(() => decodeRoute(m), RangeError, "rtmsg dst_len 72 is longer than IPv4 allows");
  const [g] = parseMessages(fromBase64(ROUTE_V6_GATEWAY_4_BYTES));
  assertThrows(() => decodeRoute(g), RangeError, "RTA_GATEWAY of 4 bytes for IPv6");
  const [v] = parseMessages(fromBase64(ROUTE_VIA_3_BYTES));
  assertThrows(() => decodeRoute(v), RangeError, "RTA_VIA of 5 bytes for IPv4");
});

// ovn-rows (seed 1): a port of a tenant with no usable address, changed again, crashed the
// index (no prefix counts for its tenant); a number inside a string set crashed the address
// parser (the cache does not check atom types).
const PORT_WITHOUT_PREFIXES_UPDATED = JSON.stringify([
  {
    Logical_Switch_Port: {
      "be499663-7e08-484b-8e38-d8de68102dd5": {
        initial: { external_ids: ["map", [["k8s.ovn.org/namespace", "o"]]] },
      },
    },
  },
  { Logical_Switch_Port: { "be499663-7e08-484b-8e38-d8de68102dd5": { insert: {} } } },
]);
const NUMBER_IN_ADDRESSES = JSON.stringify([
  {},
  {
    Logical_Switch_Port: {
      "": {
        insert: {
          addresses: ["set", [0]],
          external_ids: ["map", [["neutron:project_id", "o"]]],
        },
      },
    },
  },
]);

Deno.test("fuzz regression ovn-rows: ports without prefixes and non-string addresses", async () => {
  await assertNotFinding(ovnRowsTarget, utf8(PORT_WITHOUT_PREFIXES_UPDATED), "ok");
  await assertNotFinding(ovnRowsTarget, utf8(NUMBER_IN_ADDRESSES), "ok");
  const index = new TenantIndex({ namespaceKeys: ["ns"], prefixMode: "host" });
  const row = { _uuid: "u1", addresses: ["unknown"], external_ids: new Map([["ns", "t"]]) };
  index.upsertPort(row);
  index.upsertPort({ ...row, addresses: [7, "0a:00:00:00:00:01 10.0.0.1"] });
  assertEquals(index.tenants().map((t) => [t.name, t.prefixes]), [["t", ["10.0.0.1/32"]]]);
  index.deletePort("u1");
  assertEquals(index.tenants(), []);
});

Deno.test("fuzz regression config/tenants: unresolved YAML alias is a ConfigError", async () => {
  await assertNotFinding(configTarget, utf8("*a"), "expected");
  await assertNotFinding(tenantsTarget, utf8("#\n:\n :\n - *a"), "expected");
  const e = assertThrows(
    () => parseWithSchema("*a", configSchema, { file: "x.yaml" }),
    ConfigError,
  );
  assert(e.message.includes("Unresolved alias"), e.message);
});

Deno.test("fuzz regression frr-running-config: a CR ends a line", async () => {
  await assertNotFinding(frrRunningConfigTarget, utf8("route-map VPNV4-demo-V4  \rV"), "ok");
  await assertNotFinding(
    frrRunningConfigTarget,
    utf8('ip prefix-list VPNV4-demo-V4 " permit 0.4\r.0.0/2'),
    "ok",
  );
  assertEquals(
    parseRunningConfig("route-map X permit 10\r\n match ip address prefix-list X\rexit\r\n")
      .map((b) => [b.header, b.lines, b.end]),
    [["route-map X permit 10", ["match ip address prefix-list X"], "exit"]],
  );
});
