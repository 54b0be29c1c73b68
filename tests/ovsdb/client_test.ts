import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { NbCluster, NbServer } from "./_server.ts";
import {
  type ClientState,
  type MonitorMethod,
  ops,
  OvsdbClient,
  OvsdbConnectError,
  OvsdbRpcError,
  type Row,
} from "../../src/ovsdb/mod.ts";

/** Resolves when `pred` holds, re-checked on each call of the returned `poke`. */
function waiter(pred: () => boolean, what: string) {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  // Safety net so a broken client fails the test instead of hanging it; not a timing check.
  const timer = setTimeout(() => resolve(), 20_000);
  const poke = () => {
    if (pred()) resolve();
  };
  return {
    poke,
    async wait() {
      poke();
      await done;
      clearTimeout(timer);
      assert(pred(), `timed out waiting for ${what}`);
    },
  };
}

type Ev = [string, string, string];

function record(client: OvsdbClient, events: Ev[], poke: () => void) {
  client.cache!.addEventHandler({
    onAdd: (t, r) => events.push(["add", t, String(r.name)]),
    onUpdate: (t, _o, n) => events.push(["update", t, String(n.name)]),
    onDelete: (t, r) => events.push(["delete", t, String(r.name)]),
    onBatch: poke,
  });
}

for (const method of ["monitor_cond_since", "monitor_cond", "monitor"] as MonitorMethod[]) {
  Deno.test(`ovsdb client: transact, ${method} and live updates on a real server`, async () => {
    const srv = await NbServer.start();
    const client = new OvsdbClient({
      remotes: srv.remote,
      database: "OVN_Northbound",
      monitorMethod: method,
    });
    try {
      await client.connect();
      assert((await client.listDbs()).includes("OVN_Northbound"));
      assert(client.schema!.tables.has("Logical_Switch_Port"));
      assertEquals(await client.echo(["x"]), ["x"]);

      // One transaction: a switch and a port referencing each other by named uuid.
      const res = await client.transact([
        ops.insert("Logical_Switch_Port", {
          name: "p1",
          addresses: ["0a:00:00:00:00:01 10.0.0.1"],
          external_ids: new Map([["k8s.ovn.org/namespace", "ns1"]]),
        }, { uuidName: "p1" }),
        ops.insert("Logical_Switch", { name: "sw", ports: [ops.namedUuid("p1")] }),
      ]);
      assertEquals(res.length, 2);

      const cache = await client.monitor({
        Logical_Switch_Port: ["name", "addresses", "external_ids"],
        Logical_Switch: ["name", "ports"],
      });
      assertEquals(client.monitorMethod, method);
      const lsp = cache.table("Logical_Switch_Port");
      assertEquals(lsp.size, 1);
      const p1 = [...lsp.rows()][0] as Row;
      assertEquals(p1.name, "p1");
      assertEquals(p1.addresses, ["0a:00:00:00:00:01 10.0.0.1"]);
      assertEquals((p1.external_ids as Map<string, string>).get("k8s.ovn.org/namespace"), "ns1");
      const sw = [...cache.table("Logical_Switch").rows()][0];
      assertEquals(sw.ports, [p1._uuid]);

      const events: Ev[] = [];
      const w1 = waiter(() => events.some((e) => e[0] === "add" && e[2] === "p2"), "p2 add");
      record(client, events, () => w1.poke());
      await srv.nbctl("lsp-add", "sw", "p2");
      await w1.wait();

      const w2 = waiter(
        () =>
          (lsp.get(p1._uuid)?.addresses as string[] | undefined)?.[0]?.endsWith("10.0.0.9") ===
            true,
        "p1 address update",
      );
      const off = cache.addEventHandler({ onBatch: () => w2.poke() });
      await srv.nbctl("lsp-set-addresses", "p1", "0a:00:00:00:00:01 10.0.0.9");
      await w2.wait();
      off();
      // Map diff: change one key, add another.
      const w3 = waiter(() => {
        const m = lsp.get(p1._uuid)?.external_ids as Map<string, string>;
        return m?.get("k8s.ovn.org/namespace") === "ns2" && m.get("x") === "y";
      }, "external_ids update");
      const off3 = cache.addEventHandler({ onBatch: () => w3.poke() });
      await srv.nbctl(
        "set",
        "logical_switch_port",
        "p1",
        'external_ids:"k8s.ovn.org/namespace"=ns2',
        "external_ids:x=y",
      );
      await w3.wait();
      off3();

      const w4 = waiter(() => events.some((e) => e[0] === "delete" && e[2] === "p2"), "p2 del");
      const off4 = cache.addEventHandler({ onBatch: () => w4.poke() });
      await srv.nbctl("lsp-del", "p2");
      await w4.wait();
      off4();
      assertEquals(lsp.size, 1);
      assertEquals(
        (lsp.get(p1._uuid)?.external_ids as Map<string, string>).get("k8s.ovn.org/namespace"),
        "ns2",
      );
      assert(events.filter((e) => e[0] === "update" && e[2] === "p1").length >= 2);
    } finally {
      await client.close();
      await srv.dispose();
    }
  });
}

Deno.test("ovsdb client: transact errors name the operation", async () => {
  const srv = await NbServer.start();
  const client = new OvsdbClient({ remotes: srv.remote, database: "OVN_Northbound" });
  try {
    await client.connect();
    await client.transact([ops.insert("Logical_Switch", { name: "a" })]);
    const err = await assertRejects(
      () => client.transact([ops.insert("Logical_Switch", { nope: "x" })]),
      OvsdbRpcError,
    );
    assert(err.message.includes("operation 0 (insert)"), err.message);
    await assertRejects(() => client.getSchema("NoSuchDb"), OvsdbRpcError);
    // monitor_cancel is accepted by the server for the running monitor, then a new one works.
    const first = await client.monitor({ Logical_Switch: ["name"] });
    await client.monitorCancel();
    await assertRejects(() => client.monitorCancel(), Error);
    const second = await client.monitor({ Logical_Switch: ["name"] });
    assert(first !== second);
    assertEquals([...second.table("Logical_Switch").rows()].map((r) => r.name), ["a"]);
  } finally {
    await client.close();
    await srv.dispose();
  }
});

Deno.test("ovsdb client: restart of ovsdb-server mid-stream resyncs without spurious events", async () => {
  const srv = await NbServer.start();
  for (let i = 0; i < 20; i++) {
    await srv.nbctl("--may-exist", "ls-add", "sw");
    await srv.nbctl(
      "lsp-add",
      "sw",
      `p${i}`,
      "--",
      "lsp-set-addresses",
      `p${i}`,
      `0a:00:00:00:00:${(16 + i).toString(16)} 10.1.0.${i + 1}`,
    );
  }
  const client = new OvsdbClient({
    remotes: srv.remote,
    database: "OVN_Northbound",
    backoff: { initialMs: 20, maxMs: 200 },
  });
  const states: ClientState[] = [];
  client.onStateChange((s) => states.push(s));
  try {
    await client.connect();
    const cache = await client.monitor({ Logical_Switch_Port: ["name", "addresses"] });
    const before = new Map([...cache.table("Logical_Switch_Port").rows()].map((r) => [r._uuid, r]));
    assertEquals(before.size, 20);
    const events: Ev[] = [];
    const syncs = () => states.filter((s) => s.state === "synced").length;
    const w = waiter(() => syncs() >= 2, "resync after restart");
    client.onStateChange(() => w.poke());
    record(client, events, () => {});
    await srv.restart();
    await w.wait();
    assert(states.some((s) => s.state === "disconnected"), "disconnect was reported");
    assertEquals(events, [], "no add/update/delete after a resync with unchanged data");
    const after = new Map([...cache.table("Logical_Switch_Port").rows()].map((r) => [r._uuid, r]));
    assertEquals([...after.keys()].sort(), [...before.keys()].sort());
    for (const [u, r] of after) assert(r === before.get(u), "row objects are kept when equal");

    // Changes made while the client was away arrive as the real difference only.
    await srv.stop();
    await srv.restart();
    const ctlEnv = srv;
    await ctlEnv.nbctl("lsp-del", "p3");
    await ctlEnv.nbctl("lsp-add", "sw", "pnew");
    const w3 = waiter(
      () => events.some((e) => e[2] === "pnew") && events.some((e) => e[2] === "p3"),
      "delta after restart",
    );
    cache.addEventHandler({ onBatch: () => w3.poke() });
    await w3.wait();
    assertEquals(events.filter((e) => e[0] === "delete").map((e) => e[2]), ["p3"]);
    assertEquals(events.filter((e) => e[0] === "add").map((e) => e[2]), ["pnew"]);
  } finally {
    await client.close();
    await srv.dispose();
  }
});

Deno.test("ovsdb client: remotes list, first dead, second alive", async () => {
  const srv = await NbServer.start({ tcp: true });
  const dead = `unix:${srv.dir}/nothing-here.sock`;
  const client = new OvsdbClient({
    remotes: `${dead},${srv.tcpRemote}`,
    database: "OVN_Northbound",
  });
  try {
    await client.connect();
    assertEquals(client.remote, srv.tcpRemote);
    const cache = await client.monitor({ Logical_Switch: ["name"] });
    assertEquals(cache.table("Logical_Switch").size, 0);
  } finally {
    await client.close();
    await srv.dispose();
  }
});

Deno.test("ovsdb client: all remotes dead is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  const client = new OvsdbClient({
    remotes: [`unix:${dir}/a.sock`, `unix:${dir}/b.sock`],
    database: "OVN_Northbound",
    reconnect: false,
  });
  const err = await assertRejects(() => client.connect(), OvsdbConnectError);
  assert(err.message.includes("a.sock") && err.message.includes("b.sock"), err.message);
  await client.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ovsdb client: ssl remote with client key, certificate and CA", async () => {
  const srv = await NbServer.start({ ssl: true });
  const tls = srv.tls!;
  const client = new OvsdbClient({
    remotes: srv.sslRemote,
    database: "OVN_Northbound",
    tls: { key: tls.clientKey, cert: tls.clientCert, ca: tls.ca },
  });
  try {
    await srv.nbctl("ls-add", "over-tls");
    await client.connect();
    const cache = await client.monitor({ Logical_Switch: ["name"] });
    assertEquals([...cache.table("Logical_Switch").rows()].map((r) => r.name), ["over-tls"]);
    // Without the client certificate the server refuses the session.
    const anon = new OvsdbClient({
      remotes: srv.sslRemote,
      database: "OVN_Northbound",
      tls: { ca: tls.ca },
      reconnect: false,
    });
    await assertRejects(() => anon.connect(), OvsdbConnectError);
    await anon.close();
  } finally {
    await client.close();
    await srv.dispose();
  }
});

Deno.test("ovsdb client: clustered database, leader preferred, resume from last txn id", async () => {
  const cl = await NbCluster.start(2);
  const states: ClientState[] = [];
  // Follower listed first: with leaderOnly (default) the client skips it.
  const leaderClient = new OvsdbClient({
    remotes: `${cl.remote(1)},${cl.remote(0)}`,
    database: "OVN_Northbound",
  });
  const followerClient = new OvsdbClient({
    remotes: [cl.remote(1), cl.remote(0)],
    database: "OVN_Northbound",
    leaderOnly: false,
    backoff: { initialMs: 20, maxMs: 200 },
  });
  try {
    await leaderClient.connect();
    assertEquals(leaderClient.remote, cl.remote(0));
    await leaderClient.transact([ops.insert("Logical_Switch", { name: "via-leader" })]);

    await followerClient.connect();
    assertEquals(followerClient.remote, cl.remote(1));
    followerClient.onStateChange((s) => states.push(s));
    const cache = await followerClient.monitor({ Logical_Switch: ["name"] });
    const w0 = waiter(() => cache.table("Logical_Switch").size === 1, "row replicated");
    cache.addEventHandler({ onBatch: () => w0.poke() });
    await w0.wait();
    assert(followerClient.lastTxnId !== "00000000-0000-0000-0000-000000000000");

    const events: Ev[] = [];
    record(followerClient, events, () => {});
    const w = waiter(
      () => states.filter((s) => s.state === "synced").length >= 2,
      "resync on the other member",
    );
    followerClient.onStateChange(() => w.poke());
    await cl.stopMember(1);
    await w.wait();
    const synced = states.filter((s) => s.state === "synced");
    const last = synced[synced.length - 1] as Extract<ClientState, { state: "synced" }>;
    assertEquals(last.remote, cl.remote(0));
    assertEquals(last.method, "monitor_cond_since");
    assertEquals(last.resumed, true, "monitor_cond_since found the last transaction id");
    assertEquals(events, []);
  } finally {
    await leaderClient.close();
    await followerClient.close();
    await cl.dispose();
  }
});

Deno.test("ovsdb client: follows the leader when it leaves the cluster", async () => {
  const cl = await NbCluster.start(3);
  const client = new OvsdbClient({
    remotes: [cl.remote(0), cl.remote(1), cl.remote(2)],
    database: "OVN_Northbound",
    backoff: { initialMs: 20, maxMs: 300 },
  });
  const states: ClientState[] = [];
  client.onStateChange((s) => states.push(s));
  try {
    await client.connect();
    assertEquals(client.remote, cl.remote(0));
    const cache = await client.monitor({ Logical_Switch: ["name"] });
    await client.transact([ops.insert("Logical_Switch", { name: "before" })]);
    const w = waiter(
      () => states.filter((s) => s.state === "synced").length >= 2,
      "synced on a new leader",
    );
    client.onStateChange(() => w.poke());
    const events: Ev[] = [];
    record(client, events, () => {});
    await cl.appctl(0, "cluster/leave", "OVN_Northbound");
    await w.wait();
    assert(client.remote !== cl.remote(0), `still on ${client.remote}`);
    // Writes go through the new leader; the cache kept its rows without spurious events.
    const w2 = waiter(() => cache.table("Logical_Switch").size === 2, "row after failover");
    cache.addEventHandler({ onBatch: () => w2.poke() });
    await client.transact([ops.insert("Logical_Switch", { name: "after" })]);
    await w2.wait();
    assertEquals(events.filter((e) => e[0] !== "add"), []);
    assertEquals(events.map((e) => e[2]).filter((n) => n === "before"), []);
  } finally {
    await client.close();
    await cl.dispose();
  }
});

Deno.test("ovsdb client: large replies and notifications parsed row by row match a plain client", async () => {
  const srv = await NbServer.start();
  // A 2 KiB threshold sends the initial reply and the bulk insert below down the lazy path.
  const lazy = new OvsdbClient({
    remotes: srv.remote,
    database: "OVN_Northbound",
    largeMessageBytes: 2048,
  });
  const eager = new OvsdbClient({
    remotes: srv.remote,
    database: "OVN_Northbound",
    largeMessageBytes: Number.MAX_SAFE_INTEGER,
  });
  const insertPorts = (from: number, n: number) => {
    const txn = [];
    const members = [];
    for (let i = from; i < from + n; i++) {
      txn.push(ops.insert("Logical_Switch_Port", {
        name: `p${i}`,
        addresses: [`0a:00:00:00:00:01 10.0.${i >> 8}.${i & 255}`],
        external_ids: new Map([["k8s.ovn.org/namespace", `ns${i % 7}`], ["é", '😀"}']]),
      }, { uuidName: `p${i}` }));
      members.push(ops.namedUuid(`p${i}`));
    }
    txn.push(ops.insert("Logical_Switch", { name: `sw${from}`, ports: members }));
    return txn;
  };
  try {
    await lazy.connect();
    await eager.connect();
    await lazy.transact(insertPorts(0, 150));
    const spec = {
      Logical_Switch_Port: ["name", "addresses", "external_ids"],
      Logical_Switch: ["name", "ports"],
    };
    const a = await lazy.monitor(spec);
    const b = await eager.monitor(spec);
    const dump = (c: typeof a) =>
      ["Logical_Switch_Port", "Logical_Switch"].map((t) =>
        [...c.table(t).rows()].map((r) =>
          JSON.stringify(Object.entries(r).map(([k, v]) => [k, v instanceof Map ? [...v] : v]))
        ).sort()
      );
    assertEquals(a.table("Logical_Switch_Port").size, 150);
    assertEquals(dump(a), dump(b));
    // 150 more ports in one transaction, then sw0 deleted with its 150 ports and two added:
    // update3 notifications of well over 2 KiB.
    await lazy.transact(insertPorts(1000, 150));
    await srv.nbctl(
      "ls-del",
      "sw0",
      "--",
      "lsp-add",
      "sw1000",
      "q1",
      "--",
      "lsp-add",
      "sw1000",
      "q2",
    );
    const done = waiter(
      () =>
        a.table("Logical_Switch_Port").size === 152 && b.table("Logical_Switch_Port").size === 152,
      "both caches at 152 ports",
    );
    a.addEventHandler({ onBatch: () => done.poke() });
    b.addEventHandler({ onBatch: () => done.poke() });
    await done.wait();
    assertEquals(dump(a), dump(b));
  } finally {
    await lazy.close();
    await eager.close();
    await srv.dispose();
  }
});
