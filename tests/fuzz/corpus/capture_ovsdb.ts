/**
 * Captures real OVSDB JSON-RPC traffic for the fuzz corpus: starts ovsdb-server with the OVN
 * Northbound schema, fills it with ovn-nbctl, and records what the server sends to a raw client
 * (list_dbs, get_schema, monitor_cond initial contents, update2 notifications, echo). Each server
 * message lands in tests/fuzz/corpus/ovsdb/NN_<what>.jsonrpc, byte for byte as received
 * (not `.json`, so `deno fmt` leaves the raw bytes alone).
 *
 * Run: `deno run -A tests/fuzz/corpus/capture_ovsdb.ts` (needs ovsdb-server and ovn-nbctl).
 * @module
 */
import { startOvnDb } from "../../support/ovn_nb.ts";
import { JsonFramer } from "../../../src/ovsdb/framing.ts";

const OUT = new URL("./ovsdb/", import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NS = "k8s.ovn.org/namespace";

await using nb = await startOvnDb();
await nb.nbctl([
  "ls-add",
  "sw0",
  "--",
  "set",
  "logical_switch",
  "sw0",
  "other_config:subnet=10.244.0.0/24",
]);
await nb.nbctl([
  "lsp-add",
  "sw0",
  "demo_pod1",
  "--",
  "lsp-set-addresses",
  "demo_pod1",
  "0a:58:0a:f4:00:05 10.244.0.5 fd00:10:244::5",
  "--",
  "set",
  "logical_switch_port",
  "demo_pod1",
  `external_ids:"${NS}"=demo`,
]);
await nb.nbctl(["lsp-add", "sw0", "stor-sw0", "--", "lsp-set-type", "stor-sw0", "router"]);

const conn = await Deno.connect({ transport: "unix", path: nb.socketPath });
const framer = new JsonFramer();
const received: { raw: Uint8Array; value: unknown }[] = [];
let waiters: (() => void)[] = [];
(async () => {
  const buf = new Uint8Array(1 << 20);
  let pending = new Uint8Array(0);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    const chunk = buf.slice(0, n);
    // Keep the raw bytes of each message: re-frame the concatenation by hand.
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    const values = framer.push(chunk);
    if (values.length === 0) {
      pending = joined;
      continue;
    }
    // Split `joined` at top-level message ends (the framer just told us how many).
    let depth = 0, inStr = false, esc = false, start = 0, found = 0;
    for (let i = 0; i < joined.length && found < values.length; i++) {
      const b = joined[i];
      if (inStr) {
        if (esc) esc = false;
        else if (b === 0x5c) esc = true;
        else if (b === 0x22) inStr = false;
        continue;
      }
      if (b === 0x22) inStr = true;
      else if (b === 0x7b || b === 0x5b) {
        if (depth === 0) start = i;
        depth++;
      } else if (b === 0x7d || b === 0x5d) {
        if (--depth === 0) {
          received.push({ raw: joined.slice(start, i + 1), value: values[found++] });
          pending = joined.slice(i + 1);
        }
      }
    }
    const w = waiters;
    waiters = [];
    w.forEach((f) => f());
  }
})();

async function send(msg: unknown) {
  await conn.write(encoder.encode(JSON.stringify(msg)));
}
async function until(count: number) {
  const deadline = Date.now() + 10_000;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${received.length} messages received`);
    await new Promise<void>((r) => {
      waiters.push(r);
      setTimeout(r, 100);
    });
  }
}

await send({ method: "list_dbs", params: [], id: 1 });
await until(1);
await send({ method: "get_schema", params: ["OVN_Northbound"], id: 2 });
await until(2);
const lsp = ["name", "type", "addresses", "dynamic_addresses", "external_ids"];
await send({
  method: "monitor_cond",
  params: ["OVN_Northbound", ["fuzz"], {
    Logical_Switch: [{ columns: ["ports", "other_config"] }],
    Logical_Switch_Port: [{ columns: lsp }],
  }],
  id: 3,
});
await until(3);
await nb.nbctl([
  "lsp-add",
  "sw0",
  "demo_pod2",
  "--",
  "lsp-set-addresses",
  "demo_pod2",
  "0a:58:0a:f4:00:06 10.244.0.6",
  "--",
  "set",
  "logical_switch_port",
  "demo_pod2",
  `external_ids:"${NS}"=demo`,
]);
await until(4);
await nb.nbctl(["lsp-set-addresses", "demo_pod1", "0a:58:0a:f4:00:05 10.244.0.7"]);
await until(5);
await nb.nbctl(["lsp-del", "demo_pod2"]);
await until(6);
await send({ method: "echo", params: ["ping"], id: 4 });
await until(7);
await send({ method: "transact", params: ["OVN_Northbound", { op: "bogus" }], id: 5 });
await until(8);
conn.close();

const names = [
  "list_dbs",
  "get_schema",
  "monitor_cond",
  "update2_insert",
  "update2_modify",
  "update2_delete",
  "echo_reply",
  "transact_error",
];
for (const [i, m] of received.entries()) {
  const name = `${String(i + 1).padStart(2, "0")}_${names[i] ?? "message"}.jsonrpc`;
  await Deno.writeFile(new URL(name, OUT), m.raw);
  console.log(name, m.raw.length, "bytes", decoder.decode(m.raw.slice(0, 80)));
}
