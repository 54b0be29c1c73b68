/** Shared fixtures of the status, HTTP and metrics tests. */
import type { AgentStatus } from "../../src/status/model.ts";

const DIR = new URL("../fixtures/status/", import.meta.url);

/** Reads a JSON fixture from tests/fixtures/status/. */
export async function readFixtureJson<T = unknown>(name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(name, DIR))) as T;
}

/** Path of a fixture in tests/fixtures/status/. */
export function fixturePath(name: string): string {
  return new URL(name, DIR).pathname;
}

/** A fresh copy of the fixture status document (not ready, 2 tenants, 3 peers). */
export function fixtureStatus(): Promise<AgentStatus> {
  return readFixtureJson<AgentStatus>("agent_status.json");
}

/** The fixture status, made ready. */
export async function readyStatus(): Promise<AgentStatus> {
  return { ...(await fixtureStatus()), ready: true, notReady: [] };
}
