import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { startOvnDb } from "../support/ovn_nb.ts";
import { missing } from "./_skip.ts";

const skip = await missing(
  "/usr/sbin/ovsdb-server",
  "/usr/bin/ovn-nbctl",
  "/usr/share/ovn/ovn-nb.ovsschema",
);

Deno.test({
  name: "ovn_nb: NB accepts lsp-add, keeps data across restart, answers on TCP",
  ignore: !!skip,
  async fn() {
    await using nb = await startOvnDb({ tcp: true });
    assertEquals(nb.database, "OVN_Northbound");
    await nb.nbctl(["ls-add", "sw0"]);
    await nb.nbctl(["lsp-add", "sw0", "pod1"]);
    await nb.nbctl(["lsp-set-addresses", "pod1", "0a:58:0a:f4:00:05 10.244.0.5"]);
    await nb.nbctl([
      "set",
      "logical_switch_port",
      "pod1",
      'external_ids:"k8s.ovn.org/namespace"=demo',
    ]);
    await nb.restart();
    assertEquals(
      (await nb.nbctl(["--bare", "--columns=name", "list", "logical_switch_port"])).trim(),
      "pod1",
    );
    assertStringIncludes(
      await nb.nbctl([
        "get",
        "logical_switch_port",
        "pod1",
        'external_ids:"k8s.ovn.org/namespace"',
      ]),
      "demo",
    );
    assertStringIncludes(await nb.client(["list-dbs", nb.tcpRemote!]), "OVN_Northbound");
  },
});

Deno.test({
  name: "ovn_nb: SB schema via the schema option",
  ignore: !!skip,
  async fn() {
    await using sb = await startOvnDb({ schema: "sb" });
    assertEquals(sb.database, "OVN_Southbound");
    assertStringIncludes(await sb.client(["list-tables", "{remote}"]), "Chassis");
  },
});
