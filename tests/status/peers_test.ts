import { assert, assertEquals } from "../support/assert.ts";
import {
  parseFrrUptime,
  parsePeerSummaries,
  PEER_SUMMARY_COMMANDS,
  PEER_SUMMARY_COMMANDS_BY_FAMILY,
} from "../../src/status/peers.ts";
import type { PeerStatus } from "../../src/status/model.ts";
import { readFixtureJson } from "./fixtures.ts";

type Json = Record<string, unknown>;

Deno.test("parsePeerSummaries: FRR 8.4 summary with an Established peer", async () => {
  const json = await readFixtureJson<Json>("frr84_summary_established.json");
  const peers = parsePeerSummaries(json);
  assertEquals(
    peers,
    [
      {
        address: "10.99.0.1",
        remoteAsn: 65001,
        description: "fortigate-a",
        state: "Established",
        uptimeSeconds: 5,
        families: { ipv4Vpn: { sent: 3, received: 1 }, ipv6Vpn: { sent: 1, received: 0 } },
      },
      {
        address: "127.0.0.9",
        remoteAsn: 65009,
        description: "dead-pe",
        state: "Active",
        families: { ipv4Vpn: { sent: 0, received: 0 } },
      },
    ] satisfies PeerStatus[],
  );
});

Deno.test("parsePeerSummaries: per-family commands give the same peers", async () => {
  const all = parsePeerSummaries(await readFixtureJson("frr84_summary_established.json"));
  const byFamily = parsePeerSummaries({
    ipv4Vpn: await readFixtureJson("frr84_ipv4_vpn_summary_established.json"),
    ipv6Vpn: await readFixtureJson("frr84_ipv6_vpn_summary_established.json"),
  });
  assertEquals(byFamily, all);
  assertEquals(Object.keys(PEER_SUMMARY_COMMANDS_BY_FAMILY).sort(), ["ipv4Vpn", "ipv6Vpn"]);
});

Deno.test("parsePeerSummaries: peers not established (Active, Connect, IPv6 address)", async () => {
  const peers = parsePeerSummaries(await readFixtureJson("frr84_summary_active.json"));
  assertEquals(peers.map((p) => [p.address, p.remoteAsn, p.state, p.description]), [
    ["127.0.0.2", 65001, "Active", "fortigate-a"],
    ["127.0.0.3", 65000, "Active", "pe-b"],
    ["fd00::9", 65002, "Connect", undefined],
  ]);
  assert(peers.every((p) => p.uptimeSeconds === undefined));
  assertEquals(peers[0].families, {
    ipv4Vpn: { sent: 0, received: 0 },
    ipv6Vpn: { sent: 0, received: 0 },
  });
  assertEquals(Object.keys(peers[2].families), ["ipv4Unicast", "ipv6Vpn"]);
});

Deno.test("parsePeerSummaries: `vrf all` output reads the default VRF", async () => {
  assertEquals(
    parsePeerSummaries(await readFixtureJson("frr84_vrf_all_summary_active.json")),
    parsePeerSummaries(await readFixtureJson("frr84_summary_active.json")),
  );
});

Deno.test("parsePeerSummaries: odd fields are skipped or coerced", () => {
  // JSON.parse (unlike an object literal) makes `__proto__` an own key, as FRR's JSON would.
  const peers = parsePeerSummaries(JSON.parse(
    JSON.stringify({
      ipv4Vpn: {
        peers: {
          "192.0.2.1": { state: 7, remoteAs: "65010", pfxSnt: -1, pfxRcd: "12", desc: 5 },
          "192.0.2.2": null,
          "192.0.2.3": { state: "Established", peerUptime: "1d02h03m" },
          "192.0.2.4": { state: "Established", peerUptimeMsec: "x", peerUptime: "never" },
        },
      },
      ipv6Vpn: { peers: [] },
      "weird family!": { peers: { "192.0.2.8": { state: "Idle" } } },
    }).replace('"192.0.2.2":null', '"__proto__":{"state":"Idle"},"192.0.2.2":null')
      .replace('"ipv6Vpn"', '"__proto__":{"peers":{"192.0.2.9":{"state":"Idle"}}},"ipv6Vpn"'),
  ));
  assertEquals(peers.map((p) => p.address), ["__proto__", "192.0.2.1", "192.0.2.3", "192.0.2.4"]);
  assertEquals(peers[1], {
    address: "192.0.2.1",
    remoteAsn: 65010,
    state: "unknown",
    families: { ipv4Vpn: { received: 12 } },
  });
  assertEquals(peers[2].uptimeSeconds, 93780);
  assertEquals(peers[3].uptimeSeconds, undefined);
  assertEquals(peers[0].state, "Idle");
  assertEquals(Object.getPrototypeOf(peers[0].families), Object.prototype);
});

Deno.test("parsePeerSummaries: never throws on garbage", () => {
  const garbage: unknown[] = [
    null,
    undefined,
    42,
    "text",
    [],
    [1, 2],
    {},
    { peers: 5 },
    {
      ipv4Vpn: null,
    },
    { ipv4Vpn: { peers: null } },
    { ipv4Vpn: { peers: "x" } },
    { default: 7 },
  ];
  for (const g of garbage) {
    assertEquals(parsePeerSummaries(g as Record<string, unknown>), [], JSON.stringify(g));
  }
  // Deterministic pseudo-random trees (xorshift), shaped like summaries.
  let seed = 0x2545f491;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const leaf = (): unknown =>
    [null, true, -1, 1e308, NaN, "", "Established", "00:00:01", [], {}, 65001, "12"][rnd(12)];
  const tree = (depth: number): unknown => {
    if (depth === 0 || rnd(3) === 0) return leaf();
    const keys = [
      "peers",
      "ipv4Vpn",
      "state",
      "remoteAs",
      "pfxSnt",
      "pfxRcd",
      "10.0.0.1",
      "peerUptimeMsec",
      "default",
      "desc",
    ];
    const o: Record<string, unknown> = {};
    for (let i = rnd(5); i > 0; i--) o[keys[rnd(keys.length)]] = tree(depth - 1);
    return o;
  };
  let nonEmpty = 0;
  for (let i = 0; i < 2000; i++) {
    const out = parsePeerSummaries({ ipv4Vpn: { peers: tree(3) }, ipv6Vpn: tree(4) } as Json);
    assert(Array.isArray(out));
    for (const p of out) {
      assert(typeof p.state === "string" && typeof p.remoteAsn === "number");
      JSON.stringify(p);
    }
    if (out.length > 0) nonEmpty++;
  }
  assert(nonEmpty > 0, "the generator never produced a peer");
});

Deno.test("parseFrrUptime", () => {
  assertEquals(parseFrrUptime("00:00:05"), 5);
  assertEquals(parseFrrUptime("23:59:59"), 86399);
  assertEquals(parseFrrUptime("1d02h03m"), 93780);
  assertEquals(parseFrrUptime("3w2d05h"), (23 * 24 + 5) * 3600);
  assertEquals(parseFrrUptime("never"), undefined);
  assertEquals(parseFrrUptime(""), undefined);
  assertEquals(parseFrrUptime(5), undefined);
});

Deno.test("PEER_SUMMARY_COMMANDS are show … json commands", () => {
  assertEquals(PEER_SUMMARY_COMMANDS, ["show bgp vrf default summary json"]);
});
