import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { dirname } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { configSchema, parseWithSchema } from "../../src/config/mod.ts";
import { validateAllocationConfig } from "../../src/allocate/mod.ts";
import {
  DEFAULT_PATHS,
  productEnvironment,
  productPermissionFlags,
} from "../../scripts/permissions.ts";
import { configDefaults, hasCommand, listenPort, repoPath, runCommand } from "./_support.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

async function load(path: string): Promise<Obj> {
  return parse(await Deno.readTextFile(repoPath(path)));
}

const daemonset = await load("deploy/k3s/base/daemonset.yaml");
const configmap = await load("deploy/k3s/base/configmap.yaml");
const configText: string = configmap.data["vpnv4-agent.yaml"];
const config = parseWithSchema(configText, configSchema, { file: "configmap.yaml" });
const pod = daemonset.spec.template.spec;
const agent = pod.containers.find((c: Obj) => c.name === "agent");
const mounts = new Map<string, Obj>(agent.volumeMounts.map((m: Obj) => [m.mountPath, m]));
const volumes = new Map<string, Obj>(pod.volumes.map((v: Obj) => [v.name, v]));
const port = listenPort(config.http.listen);
const kustomization = await load("deploy/k3s/kustomization.yaml");

function hostPathAt(mountPath: string): string | undefined {
  const m = mounts.get(mountPath);
  return m ? volumes.get(m.name)?.hostPath?.path : undefined;
}

Deno.test("k3s ConfigMap: the agent configuration validates against the schema", () => {
  assertEquals(validateAllocationConfig(config), []);
  assertEquals(config.tenants.sources[0].type, "ovn");
  assertEquals(config.frr.vtysh, DEFAULT_PATHS.vtysh);
  assertEquals(dirname(config.allocation.state_file), DEFAULT_PATHS.stateDir);
  assertEquals(port, listenPort(configDefaults().http.listen));
  assertMatch(config.http.listen, /^0\.0\.0\.0:/); // hostNetwork: probes come from the node
});

Deno.test("k3s DaemonSet: host network, image, args and config mount", () => {
  assertEquals(daemonset.kind, "DaemonSet");
  assertEquals(pod.hostNetwork, true);
  assertEquals(pod.dnsPolicy, "ClusterFirstWithHostNet");
  assertEquals(agent.image.split(":")[0], "vpnv4-agent");
  assert(
    kustomization.images.some((i: Obj) => i.name === "vpnv4-agent"),
    "kustomization sets the image",
  );
  assertEquals(agent.args.slice(0, 2), ["run", "--config"]);
  const configPath: string = agent.args[2];
  const cfgMount = mounts.get(dirname(configPath));
  assert(cfgMount?.readOnly, "config folder mounted read-only");
  assertEquals(volumes.get(cfgMount.name).configMap.name, configmap.metadata.name);
  assert(configPath.endsWith("/vpnv4-agent.yaml") && "vpnv4-agent.yaml" in configmap.data);
});

Deno.test("k3s DaemonSet: only NET_ADMIN, non-root 42494 with group 42424", () => {
  assertEquals(agent.securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
  assertEquals(agent.securityContext.readOnlyRootFilesystem, true);
  assertEquals(agent.securityContext.allowPrivilegeEscalation, true); // file capability
  assertEquals(agent.securityContext.privileged, undefined);
  assertEquals(pod.securityContext.runAsUser, 42494);
  assertEquals(pod.securityContext.runAsGroup, 42494);
  assertEquals(pod.securityContext.runAsNonRoot, true);
  assert(pod.securityContext.supplementalGroups.includes(42424));
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    assertEquals(c.securityContext?.privileged, undefined, c.name);
  }
});

Deno.test("k3s DaemonSet: probes and Prometheus annotations on the agent's port", () => {
  assertEquals(agent.livenessProbe.httpGet, { path: "/healthz", port });
  assertEquals(agent.readinessProbe.httpGet, { path: "/readyz", port });
  assertEquals(agent.startupProbe.httpGet, { path: "/healthz", port });
  assertEquals(agent.ports, [{ name: "http", containerPort: port, protocol: "TCP" }]);
  const a = daemonset.spec.template.metadata.annotations;
  assertEquals(a["prometheus.io/scrape"], "true");
  assertEquals(a["prometheus.io/port"], String(port));
  assertEquals(a["prometheus.io/path"], "/metrics");
});

Deno.test("k3s DaemonSet: host folders, and the permissions cover every mount", () => {
  assertEquals(hostPathAt("/run/ovn"), "/run/ovn");
  assertEquals(hostPathAt("/run/openvswitch"), "/run/openvswitch");
  assertEquals(hostPathAt("/run/frr"), "/run/frr");
  assertEquals(hostPathAt(DEFAULT_PATHS.stateDir), DEFAULT_PATHS.stateDir);
  assert(mounts.has(DEFAULT_PATHS.runtimeDir));
  const source = config.tenants.sources[0];
  assert(source.type === "ovn");
  const socketDir = dirname(source.connection.replace(/^unix:/, ""));
  assert(mounts.has(socketDir), `OVN socket folder ${socketDir} mounted`);
  const flags = productPermissionFlags();
  const list = (name: string) =>
    flags.find((f) => f.startsWith(`--allow-${name}=`))!.split("=")[1].split(",");
  for (const [path, m] of mounts) {
    if (path === "/run/frr") continue; // used by vtysh, a child process outside Deno's sandbox
    assert(list("read").includes(path), `${path} readable`);
    if (!m.readOnly) assert(list("write").includes(path), `${path} writable`);
  }
  assertEquals(list("run"), [config.frr.vtysh]);
  // The product environment: TMPDIR in the writable runtime folder (an emptyDir here).
  assertEquals(
    Object.fromEntries(agent.env.map((e: Obj) => [e.name, e.value])),
    productEnvironment(),
  );
  assert(volumes.get(mounts.get(DEFAULT_PATHS.runtimeDir).name).emptyDir, "runtime is emptyDir");
});

Deno.test("k3s FRR sidecar overlay: shares /run/frr, agent untouched", async () => {
  const patch = await load("deploy/k3s/frr-sidecar/daemonset-patch.yaml");
  const spec = patch.spec.template.spec;
  assertEquals(spec.containers.map((c: Obj) => c.name), ["frr"]);
  const frrRun = spec.volumes.find((v: Obj) => v.name === "frr-run");
  assertEquals(frrRun, { name: "frr-run", hostPath: null, emptyDir: {} });
  assert(spec.containers[0].volumeMounts.some((m: Obj) => m.mountPath === "/run/frr"));
  const k = await load("deploy/k3s/frr-sidecar/kustomization.yaml");
  assertEquals(k.resources[0], "../base");
});

Deno.test("OpenShift MachineConfig: modules at boot, MPLS labels, state folder", async () => {
  const mc = await load("deploy/ocp/machineconfig.yaml");
  assertEquals(mc.kind, "MachineConfig");
  assertEquals(mc.metadata.labels["machineconfiguration.openshift.io/role"], "worker");
  const files = new Map<string, string>(
    mc.spec.config.storage.files.map((f: Obj) => {
      assertEquals(f.mode, 0o644, f.path);
      const src: string = f.contents.source;
      assert(src.startsWith("data:,"), src);
      return [f.path, decodeURIComponent(src.slice("data:,".length))];
    }),
  );
  const modules = files.get("/etc/modules-load.d/vpnv4-agent.conf")!.split("\n")
    .filter((l) => l && !l.startsWith("#"));
  assertEquals(modules, ["vrf", "mpls_router", "mpls_iptunnel"]);
  const sysctl = files.get("/etc/sysctl.d/90-vpnv4-agent.conf")!;
  const labels = /^net\.mpls\.platform_labels = (\d+)$/m.exec(sysctl);
  assert(labels && Number(labels[1]) > 0, sysctl);
  assertStringIncludes(
    files.get("/etc/tmpfiles.d/vpnv4-agent.conf")!,
    `d ${DEFAULT_PATHS.stateDir} 0700 42494 42494 -`,
  );
});

Deno.test("OpenShift: SCC allows only NET_ADMIN and is bound to the agent's account", async () => {
  const scc = await load("deploy/ocp/scc.yaml");
  assertEquals(scc.allowedCapabilities, ["NET_ADMIN"]);
  assertEquals(scc.allowPrivilegedContainer, false);
  assertEquals(scc.allowHostNetwork, true);
  assertEquals(scc.runAsUser, { type: "MustRunAs", uid: 42494 });
  const rbac = parseAllDocuments(await Deno.readTextFile(repoPath("deploy/ocp/rbac.yaml")))
    .map((d) => d.toJS());
  const role = rbac.find((d) => d.kind === "ClusterRole");
  assertEquals(role.rules[0].resourceNames, [scc.metadata.name]);
  const sa = rbac.find((d) => d.kind === "ServiceAccount");
  const patch = await load("deploy/ocp/daemonset-patch.yaml");
  assertEquals(patch.spec.template.spec.serviceAccountName, sa.metadata.name);
  assertEquals(
    patch.spec.template.metadata.annotations["openshift.io/required-scc"],
    scc.metadata.name,
  );
  const k = await load("deploy/ocp/kustomization.yaml");
  assert(k.resources.includes("../k3s/base"));
});

const kubectl = await hasCommand("kubectl");

Deno.test({
  name: "kustomize: every overlay builds; rendered agent keeps only NET_ADMIN",
  ignore: !kubectl,
  fn: async () => {
    for (const dir of ["deploy/k3s", "deploy/k3s/frr-sidecar", "deploy/ocp"]) {
      const r = await runCommand("kubectl", ["kustomize", repoPath(dir)]);
      assertEquals(r.code, 0, `${dir}: ${r.stderr}`);
      const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
      const ds = docs.find((d) => d.kind === "DaemonSet");
      assertEquals(ds.metadata.namespace, "vpnv4-agent", dir);
      const a = ds.spec.template.spec.containers.find((c: Obj) => c.name === "agent");
      assertEquals(a.securityContext.capabilities.add, ["NET_ADMIN"], dir);
      assertEquals(a.image, "vpnv4-agent:0.1.0", dir);
      const frrRun = ds.spec.template.spec.volumes.find((v: Obj) => v.name === "frr-run");
      if (dir.endsWith("frr-sidecar")) assertEquals(frrRun.emptyDir, {});
      else assertEquals(frrRun.hostPath.path, "/run/frr");
    }
  },
});
