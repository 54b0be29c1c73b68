import { assert, assertEquals } from "../support/assert.ts";
import { NbServer } from "../ovsdb/_server.ts";
import { type OvnSourceSettings, OvnTenantSource, snapshotOvnTenants } from "../../src/ovn/mod.ts";
import { compilePolicy, type SourceUpdate } from "../../src/tenants/mod.ts";
import { formatPrefix } from "../../src/net/mod.ts";

const NS = "k8s.ovn.org/namespace";
const policy = compilePolicy({
  allowed: ["10.0.0.0/8", "fd00::/8"],
  deny: ["10.99.0.0/16"],
  max_prefixes_per_tenant: 1000,
});

function settings(srv: NbServer, over: Partial<OvnSourceSettings> = {}): OvnSourceSettings {
  return {
    connection: srv.remote,
    namespace_keys: [NS, "neutron:project_id"],
    prefix_mode: "host",
    subnets: {},
    debounce_ms: 0,
    ...over,
  };
}

/** Adds a port with addresses and external_ids in one ovn-nbctl call. */
async function addPort(
  srv: NbServer,
  sw: string,
  name: string,
  opts: { addresses?: string[]; ids?: Record<string, string>; type?: string },
) {
  const args = ["--may-exist", "ls-add", sw, "--", "lsp-add", sw, name];
  if (opts.addresses) args.push("--", "lsp-set-addresses", name, ...opts.addresses);
  if (opts.type) args.push("--", "lsp-set-type", name, opts.type);
  for (const [k, v] of Object.entries(opts.ids ?? {})) {
    args.push("--", "set", "logical_switch_port", name, `external_ids:"${k}"="${v}"`);
  }
  await srv.nbctl(...args);
}

function view(u: SourceUpdate | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of u?.tenants ?? []) out[t.name] = [...t.prefixes];
  return out;
}

async function fill(srv: NbServer) {
  await addPort(srv, "sw1", "a1", {
    addresses: ["0a:00:00:00:00:01 10.1.0.5 fd00:1::5"],
    ids: { [NS]: "ns-a" },
  });
  await addPort(srv, "sw1", "a2", {
    addresses: ["0a:00:00:00:00:02 10.1.0.6", "unknown"],
    ids: { [NS]: "ns-a" },
  });
  await addPort(srv, "sw1", "b1", {
    addresses: ["0a:00:00:00:00:03 10.1.0.7"],
    ids: { [NS]: "ns-b" },
  });
  // OpenStack: dynamic address plus neutron:cidrs.
  await addPort(srv, "sw2", "vm1", {
    addresses: ["0a:00:00:00:00:04 dynamic"],
    ids: {
      "neutron:project_id": "0123456789abcdef0123456789abcdef",
      "neutron:cidrs": "10.2.0.9/24",
    },
  });
  // Not workloads: router and localnet ports, ports without a tenant key.
  await addPort(srv, "sw1", "rtr", {
    addresses: ["0a:00:00:00:00:aa 10.1.0.1"],
    type: "router",
    ids: { [NS]: "ns-a" },
  });
  await addPort(srv, "sw1", "ln", {
    addresses: ["unknown"],
    type: "localnet",
    ids: { [NS]: "ns-a" },
  });
  await addPort(srv, "sw1", "notenant", { addresses: ["0a:00:00:00:00:05 10.1.0.50"] });
  // Hostile rows.
  await addPort(srv, "sw1", "badaddr", {
    addresses: ["0a:00:00:00:00:06 10.1.0.300 10.1.0.8"],
    ids: { [NS]: "ns-c" },
  });
  await addPort(srv, "sw1", "badname", {
    addresses: ["0a:00:00:00:00:07 10.1.0.9"],
    ids: { [NS]: "-bad name!" },
  });
  await addPort(srv, "sw1", "outside", {
    addresses: ["0a:00:00:00:00:08 192.168.7.7 10.1.0.10"],
    ids: { [NS]: "ns-d" },
  });
  await addPort(srv, "sw1", "denied", {
    addresses: ["0a:00:00:00:00:09 10.99.1.1"],
    ids: { [NS]: "ns-e" },
  });
}

Deno.test("ovn source: snapshot in host mode, hostile rows skipped", async () => {
  const srv = await NbServer.start();
  try {
    await fill(srv);
    // ovsdb-server does not fill dynamic_addresses (northd does); emulate it.
    await srv.nbctl(
      "set",
      "logical_switch_port",
      "vm1",
      'dynamic_addresses="0a:00:00:00:00:04 10.2.0.9"',
    );
    const set = await snapshotOvnTenants(settings(srv), policy);
    const got: Record<string, string[]> = {};
    for (const [n, t] of set.tenants) got[n] = t.prefixes.map(formatPrefix);
    assertEquals(got, {
      "0123456789abcdef0123456789abcdef": ["10.2.0.9/32"],
      "ns-a": ["10.1.0.5/32", "10.1.0.6/32", "fd00:1::5/128"],
      "ns-b": ["10.1.0.7/32"],
      "ns-c": ["10.1.0.8/32"],
      "ns-d": ["10.1.0.10/32"],
    });
    const reasons = set.rejected.map((r) => `${r.tenant} ${r.prefix ?? ""} ${r.reason}`);
    assert(reasons.some((r) => r.includes("10.1.0.300")), reasons.join("\n"));
    assert(reasons.some((r) => r.startsWith("-bad name!")), reasons.join("\n"));
    assert(
      reasons.some((r) => r.includes("192.168.7.7/32") && r.includes("allowed")),
      reasons.join("\n"),
    );
    assert(
      reasons.some((r) => r.includes("10.99.1.1/32") && r.includes("denied")),
      reasons.join("\n"),
    );
    // Every rejection names the row uuid.
    assert(set.rejected.every((r) => /row [0-9a-f-]{36}/.test(r.reason)), reasons.join("\n"));
  } finally {
    await srv.dispose();
  }
});

Deno.test("ovn source: subnet mode aggregates to switch and configured subnets", async () => {
  const srv = await NbServer.start();
  try {
    await fill(srv);
    await srv.nbctl(
      "set",
      "logical_switch",
      "sw1",
      "other_config:subnet=10.1.0.0/24",
      "other_config:ipv6_prefix=fd00:1::",
    );
    const set = await snapshotOvnTenants(
      settings(srv, { prefix_mode: "subnet", subnets: { "ns-b": ["10.1.0.0/25"] } }),
      policy,
    );
    const got: Record<string, string[]> = {};
    for (const [n, t] of set.tenants) got[n] = t.prefixes.map(formatPrefix);
    // ns-a, ns-c, ns-d share sw1's subnet: claimed by several tenants, exported by none.
    // ns-b has its configured /25; the neutron port aggregates to its cidr.
    assertEquals(got["ns-b"], ["10.1.0.0/25"]);
    assertEquals(got["0123456789abcdef0123456789abcdef"], ["10.2.0.0/24"]);
    assertEquals(got["ns-a"], ["fd00:1::/64"]);
    assert(set.rejected.some((r) => r.prefix === "10.1.0.0/24" && r.reason.includes("several")));

    // A default route as switch subnet is refused, named with the row.
    await srv.nbctl("set", "logical_switch", "sw2", "other_config:subnet=0.0.0.0/0");
    const set2 = await snapshotOvnTenants(
      settings(srv, { prefix_mode: "subnet" }),
      compilePolicy({
        allowed: ["0.0.0.0/0", "::/0"],
        deny: [],
        max_prefixes_per_tenant: 1000,
      }),
    );
    assert(
      set2.rejected.some((r) => r.prefix === "0.0.0.0/0" && r.reason.includes("default route")),
      JSON.stringify(set2.rejected),
    );
    assert(!set2.tenants.has("0123456789abcdef0123456789abcdef"));
  } finally {
    await srv.dispose();
  }
});

/** Collects source updates; `next(pred)` resolves with the first update matching. */
function collector() {
  const updates: SourceUpdate[] = [];
  const waiters: { pred: (u: SourceUpdate) => boolean; resolve: (u: SourceUpdate) => void }[] = [];
  return {
    updates,
    onUpdate(u: SourceUpdate) {
      updates.push(u);
      for (const w of [...waiters]) {
        if (w.pred(u)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(u);
        }
      }
    },
    next(pred: (u: SourceUpdate) => boolean, what: string): Promise<SourceUpdate> {
      return new Promise((resolve, reject) => {
        // Safety net against hangs, not a timing assertion.
        const timer = setTimeout(() => reject(new Error(`no update: ${what}`)), 20_000);
        waiters.push({
          pred,
          resolve: (u) => {
            clearTimeout(timer);
            resolve(u);
          },
        });
      });
    },
  };
}

Deno.test("ovn source: live updates from ovn-nbctl (add, remove, address, namespace, IPv6)", async () => {
  const srv = await NbServer.start();
  const source = new OvnTenantSource(settings(srv), { policy });
  const c = collector();
  try {
    await addPort(srv, "sw1", "a1", {
      addresses: ["0a:00:00:00:00:01 10.1.0.5"],
      ids: { [NS]: "ns-a" },
    });
    await source.start({ onUpdate: (u) => c.onUpdate(u) });
    assertEquals(c.updates.length, 1);
    assertEquals(view(c.updates[0]), { "ns-a": ["10.1.0.5/32"] });

    let p = c.next((u) => u.changed?.has("ns-b") ?? false, "port add");
    await addPort(srv, "sw1", "b1", {
      addresses: ["0a:00:00:00:00:02 10.1.0.6"],
      ids: { [NS]: "ns-b" },
    });
    let u = await p;
    assertEquals(view(u), { "ns-a": ["10.1.0.5/32"], "ns-b": ["10.1.0.6/32"] });
    assertEquals([...u.changed!], ["ns-b"]);

    p = c.next((u) => view(u)["ns-a"]?.includes("10.1.0.15/32") ?? false, "address change");
    await srv.nbctl("lsp-set-addresses", "a1", "0a:00:00:00:00:01 10.1.0.15");
    u = await p;
    assertEquals(view(u)["ns-a"], ["10.1.0.15/32"]);

    p = c.next((u) => view(u)["ns-a"]?.includes("fd00:a::15/128") ?? false, "IPv6");
    await srv.nbctl("lsp-set-addresses", "a1", "0a:00:00:00:00:01 10.1.0.15 fd00:a::15");
    u = await p;
    assertEquals(view(u)["ns-a"], ["10.1.0.15/32", "fd00:a::15/128"]);

    p = c.next((u) => view(u)["ns-c"] !== undefined, "namespace change");
    await srv.nbctl("set", "logical_switch_port", "a1", `external_ids:"${NS}"=ns-c`);
    u = await p;
    assertEquals(view(u), { "ns-b": ["10.1.0.6/32"], "ns-c": ["10.1.0.15/32", "fd00:a::15/128"] });
    assertEquals([...u.changed!].sort(), ["ns-a", "ns-c"]);

    p = c.next((u) => view(u)["ns-b"] === undefined, "port remove");
    await srv.nbctl("lsp-del", "b1");
    u = await p;
    assertEquals(view(u), { "ns-c": ["10.1.0.15/32", "fd00:a::15/128"] });
    assertEquals([...u.changed!], ["ns-b"]);

    // A change that does not touch any tenant's prefixes produces no update.
    const before = c.updates.length;
    p = c.next((u) => view(u)["ns-z"] !== undefined, "marker");
    await srv.nbctl("set", "logical_switch_port", "a1", "external_ids:unrelated=1");
    await addPort(srv, "sw1", "z1", {
      addresses: ["0a:00:00:00:00:09 10.1.0.99"],
      ids: { [NS]: "ns-z" },
    });
    await p;
    assertEquals(c.updates.length, before + 1, "the unrelated change emitted nothing");
  } finally {
    await source.stop();
    await srv.dispose();
  }
});

Deno.test("ovn source: ovsdb-server restart mid-stream keeps the tenant set, emits no withdraw", async () => {
  const srv = await NbServer.start();
  const source = new OvnTenantSource(settings(srv), {
    policy,
    client: { backoff: { initialMs: 20, maxMs: 200 } },
  });
  const c = collector();
  const errors: Error[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      await addPort(srv, "sw1", `p${i}`, {
        addresses: [`0a:00:00:00:01:${(16 + i).toString(16)} 10.1.1.${i + 1}`],
        ids: { [NS]: `ns-${i % 3}` },
      });
    }
    await source.start({ onUpdate: (u) => c.onUpdate(u), onError: (e) => errors.push(e) });
    const initial = view(c.updates[0]);
    assertEquals(Object.keys(initial).length, 3);

    let synced = 0;
    let resolveSynced!: () => void;
    const resynced = new Promise<void>((r) => (resolveSynced = r));
    source.client!.onStateChange((s) => {
      if (s.state === "synced" && ++synced === 1) resolveSynced();
    });
    await srv.restart();
    await resynced;
    assert(errors.length >= 1, "the disconnect was reported through onError");
    assertEquals(c.updates.length, 1, "no update (so no withdraw) after the resync");

    // The source still follows changes, and the view is the pre-restart one plus the change.
    const p = c.next((u) => u.changed?.has("ns-new") ?? false, "after restart");
    await addPort(srv, "sw1", "q", {
      addresses: ["0a:00:00:00:02:01 10.1.2.1"],
      ids: { [NS]: "ns-new" },
    });
    const u = await p;
    assertEquals(view(u), { ...initial, "ns-new": ["10.1.2.1/32"] });
  } finally {
    await source.stop();
    await srv.dispose();
  }
});

for (
  const [mode, rowCache] of [["host", false], ["host", true], ["subnet", false]] as const
) {
  Deno.test(`ovn source: changes made while ovsdb-server was down arrive after the reconnect (${mode} mode, row_cache ${rowCache})`, async () => {
    const srv = await NbServer.start();
    // Subnet mode without switch subnets exports host prefixes too, but also follows switches.
    const over = { row_cache: rowCache, prefix_mode: mode };
    const source = new OvnTenantSource(settings(srv, over), {
      policy,
      client: { backoff: { initialMs: 20, maxMs: 200 } },
    });
    const c = collector();
    try {
      for (let i = 0; i < 10; i++) {
        await addPort(srv, "sw1", `p${i}`, {
          addresses: [`0a:00:00:00:01:${(16 + i).toString(16)} 10.1.1.${i + 1}`],
          ids: { [NS]: `ns-${i % 3}` },
        });
      }
      await source.start({ onUpdate: (u) => c.onUpdate(u) });
      assertEquals(
        source.client!.monitorMethod,
        rowCache ? "monitor_cond_since" : "monitor",
        "without the row cache only `monitor` gives whole rows",
      );
      const initial = view(c.updates[0]);
      const p0 = (await srv.nbctl("get", "logical_switch_port", "p0", "_uuid")).trim();
      await srv.stop();
      // Offline, on the database file: p0 leaves its switch (and so the database), p1 moves.
      const txn = [
        "OVN_Northbound",
        {
          op: "mutate",
          table: "Logical_Switch",
          where: [["name", "==", "sw1"]],
          mutations: [["ports", "delete", ["set", [["uuid", p0]]]]],
        },
        {
          op: "update",
          table: "Logical_Switch_Port",
          where: [["name", "==", "p1"]],
          row: { addresses: "0a:00:00:00:01:11 10.1.1.99" },
        },
      ];
      const out = await new Deno.Command("ovsdb-tool", {
        args: ["transact", srv.db, JSON.stringify(txn)],
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const next = c.next((u) => (u.changed?.size ?? 0) > 0, "after the reconnect");
      await srv.restart();
      const u = await next;
      assertEquals([...u.changed!].sort(), ["ns-0", "ns-1"]);
      assertEquals(view(u), {
        ...initial,
        "ns-0": initial["ns-0"].filter((p) => p !== "10.1.1.1/32"),
        "ns-1": initial["ns-1"].map((p) => (p === "10.1.1.2/32" ? "10.1.1.99/32" : p)).sort(),
      });
    } finally {
      await source.stop();
      await srv.dispose();
    }
  });
}

Deno.test("ovn source: a forced monitor method that cannot give whole rows is a clear error", async () => {
  const srv = await NbServer.start();
  try {
    const source = new OvnTenantSource(settings(srv), {
      policy,
      client: { monitorMethod: "monitor_cond", reconnect: false },
    });
    let error: Error | undefined;
    await source.start({ onUpdate: () => {} }).catch((e) => (error = e));
    assert(error?.message.includes('need "monitor", not "monitor_cond"'), String(error));
    // With the row cache the same method is fine.
    const cached = new OvnTenantSource(settings(srv, { row_cache: true }), {
      policy,
      client: { monitorMethod: "monitor_cond", reconnect: false },
    });
    await cached.start({ onUpdate: () => {} });
    assertEquals(cached.client!.monitorMethod, "monitor_cond");
    await cached.stop();
  } finally {
    await srv.dispose();
  }
});
