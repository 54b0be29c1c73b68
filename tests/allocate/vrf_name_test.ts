import { assert, assertEquals, assertMatch, assertThrows } from "../support/assert.ts";
import {
  chooseVrfName,
  hashedVrfName,
  isValidIfName,
  readableVrfName,
} from "../../src/allocate/mod.ts";
import { TENANT_NAME } from "../../src/tenants/mod.ts";
import { collidingHash, prng } from "./_fixtures.ts";

const HASHED = /^vt[a-z2-7]{10}$/;

Deno.test("vrf name: short plain lowercase names stay themselves", () => {
  for (const name of ["demo", "demo-b", "a", "blue1", "prod-eu-1", "0abc", "abcdefghij"]) {
    assertEquals(readableVrfName(name), name, name);
    assertEquals(chooseVrfName(name, new Set()), name, name);
  }
});

Deno.test("vrf name: long, uppercase, dotted, reserved and vt-prefixed names are hashed", () => {
  const hashed = [
    "kube-system", // 11 bytes
    "abcdefghijk",
    "Demo",
    "my.ns",
    "my_ns",
    "lo",
    "default",
    "all",
    "none",
    "main",
    "local",
    "vt",
    "vtabc",
    "eth0",
    "br-int",
    "bond0",
    "vxlan100",
    "0123456789abcdef0123456789abcdef", // OpenStack project id
  ];
  for (const name of hashed) {
    assertEquals(readableVrfName(name), undefined, name);
    const vrf = chooseVrfName(name, new Set());
    assertMatch(vrf, HASHED, name);
    assert(isValidIfName(vrf), vrf);
  }
  assertMatch(chooseVrfName("kube-system", new Set()), /^vt/);
});

Deno.test("vrf name: hashing is deterministic and differs per name", () => {
  assertEquals(hashedVrfName("kube-system", 0), hashedVrfName("kube-system", 0));
  assert(hashedVrfName("kube-system", 0) !== hashedVrfName("kube-public", 0));
  assert(hashedVrfName("kube-system", 0) !== hashedVrfName("kube-system", 1));
});

Deno.test("vrf name: taken readable name falls back to a hashed one, collisions probe", () => {
  assertMatch(chooseVrfName("demo", new Set(["demo"])), HASHED);
  const first = chooseVrfName("Alpha", new Set(), { hash: collidingHash });
  const second = chooseVrfName("Beta", new Set([first]), { hash: collidingHash });
  assertEquals(first, hashedVrfName("anything", 0, { hash: collidingHash }));
  assert(first !== second);
  assertEquals(second, hashedVrfName("anything", 1, { hash: collidingHash }));
  assertThrows(
    () => chooseVrfName("X", new Set([first, second]), { hash: collidingHash, maxAttempts: 2 }),
    Error,
    "no free VRF name",
  );
});

Deno.test("vrf name: isValidIfName follows the kernel's rules", () => {
  for (const ok of ["a", "demo", "vtabcdefghij", "a.b_c-d", "x".repeat(15)]) {
    assert(isValidIfName(ok), ok);
  }
  for (const bad of ["", "x".repeat(16), "a/b", "a b", "a:b", ".", "..", "é", "a\tb"]) {
    assert(!isValidIfName(bad), bad);
  }
});

Deno.test("vrf name: property - every tenant name yields a valid, distinct ifname", () => {
  const rnd = prng(42);
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  const first = alphabet.slice(0, 62);
  const names = new Set<string>();
  while (names.size < 5000) {
    const len = 1 + Math.floor(rnd() ** 2 * 63);
    let s = first[Math.floor(rnd() * first.length)];
    // bias towards the readable alphabet so both branches are well covered
    const pool = rnd() < 0.5 ? "abcdefghijklmnopqrstuvwxyz0123456789-" : alphabet;
    while (s.length < len) s += pool[Math.floor(rnd() * pool.length)];
    assert(TENANT_NAME.test(s), s);
    names.add(s);
  }
  const taken = new Set<string>();
  let readable = 0;
  for (const name of names) {
    const vrf = chooseVrfName(name, taken);
    assert(isValidIfName(vrf), `${name} -> ${vrf}`);
    assert(!taken.has(vrf), `${name} -> ${vrf} twice`);
    taken.add(vrf);
    if (vrf === name) {
      readable++;
      assertMatch(name, /^[a-z0-9][a-z0-9-]{0,9}$/);
      assert(!name.startsWith("vt"), name);
    } else {
      assertMatch(vrf, HASHED);
    }
  }
  assert(readable > 500, `only ${readable} readable names: the generator is not covering them`);
  assert(readable < names.size - 500, "the generator is not covering hashed names");
});
