import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { FakeOvsdbServer } from "../support/ovsdb_fake.ts";
import {
  ConnectionClosedError,
  JsonRpcConnection,
  OvsdbClient,
  OvsdbConnectError,
} from "../../src/ovsdb/mod.ts";

async function rpcTo(
  fake: FakeOvsdbServer,
  opts: ConstructorParameters<typeof JsonRpcConnection>[1] = {},
) {
  const path = fake.remote.slice("unix:".length);
  const accepted = fake.accept();
  const rpc = new JsonRpcConnection(await Deno.connect({ transport: "unix", path }), {
    probeIntervalMs: 0,
    ...opts,
  });
  return { rpc, srv: await accepted };
}

Deno.test("fake server: malformed JSON closes the connection with a clear error", async () => {
  const fake = await FakeOvsdbServer.start();
  try {
    const { rpc, srv } = await rpcTo(fake);
    const p = rpc.request("list_dbs", []);
    const req = await srv.expect("list_dbs");
    await srv.sendRaw(`{"id":${req.id},"result":["a",}`);
    const err = await assertRejects(() => p, ConnectionClosedError);
    assert(
      err.message.includes("protocol error") && err.message.includes("mismatched }"),
      err.message,
    );
    const reason = await rpc.closed;
    assert(reason?.message.includes("protocol error"), reason?.message);
    await srv.closed;
  } finally {
    await fake.close();
  }
});

Deno.test("fake server: truncated message then EOF rejects pending requests", async () => {
  const fake = await FakeOvsdbServer.start();
  try {
    const { rpc, srv } = await rpcTo(fake);
    const p = rpc.request("get_schema", ["X"]);
    const req = await srv.expect("get_schema");
    await srv.sendRaw(`{"id":${req.id},"result":{"name":"X","tab`);
    srv.close();
    const err = await assertRejects(() => p, ConnectionClosedError);
    assert(err.message.includes("closed by peer"), err.message);
  } finally {
    await fake.close();
  }
});

Deno.test("fake server: oversized message is cut off at the cap (bounded memory)", async () => {
  const fake = await FakeOvsdbServer.start();
  try {
    const cap = 1024 * 1024;
    const { rpc, srv } = await rpcTo(fake, { maxMessageBytes: cap });
    const p = rpc.request("list_dbs", []);
    p.catch(() => {}); // rejected while the fake is still writing; checked below
    const req = await srv.expect("list_dbs");
    // Stream an endless string: the client must drop the connection, so writes start failing.
    await srv.sendRaw(`{"id":${req.id},"result":"`);
    const block = new Uint8Array(64 * 1024).fill(0x41);
    let ok = true;
    while (ok && srv.bytesSent < 512 * cap) ok = await srv.sendRaw(block);
    assert(!ok, `client kept reading ${srv.bytesSent} bytes of one message`);
    const err = await assertRejects(() => p, ConnectionClosedError);
    assert(err.message.includes(`larger than ${cap} bytes`), err.message);
  } finally {
    await fake.close();
  }
});

Deno.test("fake server: interleaved, split and out-of-order messages; server echo answered", async () => {
  const fake = await FakeOvsdbServer.start();
  try {
    const notes: [string, unknown[]][] = [];
    const { rpc, srv } = await rpcTo(fake, { onNotification: (m, p) => notes.push([m, p]) });
    const a = rpc.request("transact", ["db", { op: "comment", comment: "a" }]);
    const b = rpc.request("transact", ["db", { op: "comment", comment: "b" }]);
    const ra = await srv.expect("transact");
    const rb = await srv.expect("transact");
    const text = JSON.stringify({ id: "echo", method: "echo", params: ["ping"] }) +
      JSON.stringify({ id: null, method: "update2", params: ["m", { T: {} }] }) +
      JSON.stringify({ id: rb.id, result: ["B"], error: null }) + "\n" +
      JSON.stringify({ id: 999, result: [], error: null }) + // unknown id: ignored
      JSON.stringify({ id: null, method: "update2", params: ["m", { U: { "}": null } }] }) +
      JSON.stringify({ id: ra.id, result: null, error: { error: "boom", details: "x" } });
    await srv.sendChunked(text, 3);
    assertEquals(await b, ["B"]);
    const err = await assertRejects(() => a, Error);
    assert(err.message.includes("boom"), err.message);
    const echo = await srv.recv();
    assertEquals(echo, { result: ["ping"], error: null, id: "echo" });
    assertEquals(notes.map(([m]) => m), ["update2", "update2"]);
    assertEquals(notes[1][1], ["m", { U: { "}": null } }]);
    assert(!rpc.isClosed);
    rpc.close();
  } finally {
    await fake.close();
  }
});

Deno.test("fake server: inactivity probe detects a silent peer", async () => {
  const fake = await FakeOvsdbServer.start();
  try {
    const { rpc, srv } = await rpcTo(fake, { probeIntervalMs: 50 });
    // The probe is an echo request; the fake never answers it.
    const probe = await srv.expect("echo");
    assertEquals(probe.params, []);
    const reason = await rpc.closed;
    assert(reason?.message.includes("inactivity probe"), reason?.message);
  } finally {
    await fake.close();
  }
});

Deno.test("fake server: client survives garbage during connect and reconnects", async () => {
  const fake = await FakeOvsdbServer.start();
  const client = new OvsdbClient({
    remotes: fake.remote,
    database: "OVN_Northbound",
    backoff: { initialMs: 10, maxMs: 50 },
    probeIntervalMs: 0,
  });
  try {
    // First attempt: garbage instead of the list_dbs answer.
    const first = fake.accept().then(async (c) => {
      await c.expect("list_dbs");
      await c.sendRaw("\x00\x01not json at all");
    });
    const err = await assertRejects(() => client.connect(), OvsdbConnectError);
    assert(err.message.includes("unexpected byte 0x00"), err.message);
    await first;
    // Second attempt: a proper handshake, then a monitor with a split initial reply.
    const second = fake.accept().then(async (c) => {
      await c.handshake();
      const m = await c.expect("monitor_cond_since");
      const reply = {
        id: m.id,
        error: null,
        result: [false, "11111111-1111-1111-1111-111111111111", {
          T: {
            "22222222-2222-2222-2222-222222222222": {
              initial: { name: "x", tags: ["map", [["k", "v"]]] },
            },
          },
        }],
      };
      await c.sendChunked(JSON.stringify(reply), 5);
      return c;
    });
    await client.connect();
    const cache = await client.monitor({ T: undefined });
    const row = cache.table("T").get("22222222-2222-2222-2222-222222222222");
    assertEquals(row?.name, "x");
    assertEquals(row?.tags, new Map([["k", "v"]]));
    assertEquals(client.lastTxnId, "11111111-1111-1111-1111-111111111111");
    // An update3 with a bad row forces a resync instead of crashing.
    const c = await second;
    await c.send({
      id: null,
      method: "update3",
      params: ["vpnv4", "t2", {
        T: { "22222222-2222-2222-2222-222222222222": { modify: { tags: 5 } } },
      }],
    });
    await c.closed;
    assertEquals(client.lastTxnId, "00000000-0000-0000-0000-000000000000");
  } finally {
    await client.close();
    await fake.close();
  }
});
