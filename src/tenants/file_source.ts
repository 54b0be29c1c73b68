/**
 * The tenants file as a live source: watched (atomic-rename friendly: the folder is watched
 * and events are filtered by name), re-read after a short debounce, and on an invalid edit the
 * last good tenant set is kept and the problem reported.
 */
import { basename, dirname, resolve } from "node:path";
import { getLogger } from "../log/mod.ts";
import { loadTenantsFile } from "./file.ts";
import type { RawTenant, SourceUpdate, TenantSource } from "./model.ts";
import type { PrefixPolicy } from "./policy.ts";

const log = getLogger("tenants", "file");

/** Options of {@link FileTenantSource}. */
export interface FileSourceOptions {
  policy: PrefixPolicy;
  /** Quiet time after a change before re-reading (default 100 ms). */
  debounceMs?: number;
}

/** Watches a tenants file. */
export class FileTenantSource implements TenantSource {
  readonly id: string;
  readonly #path: string;
  readonly #options: FileSourceOptions;
  #watcher?: Deno.FsWatcher;
  #timer?: ReturnType<typeof setTimeout>;
  #lastText?: string;
  #loop?: Promise<void>;

  constructor(path: string, options: FileSourceOptions) {
    this.#path = resolve(path);
    this.id = `file:${this.#path}`;
    this.#options = options;
  }

  /** Reads the file once (an invalid file at start is thrown: the agent won't start). */
  async start(handlers: {
    onUpdate: (update: SourceUpdate) => void;
    onError?: (error: Error) => void;
  }): Promise<void> {
    const first = await this.#read();
    handlers.onUpdate({ tenants: first });
    this.#watcher = Deno.watchFs(dirname(this.#path), { recursive: false });
    const name = basename(this.#path);
    this.#loop = (async () => {
      for await (const event of this.#watcher!) {
        if (!event.paths.some((p) => basename(p) === name)) continue;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#reload(handlers), this.#options.debounceMs ?? 100);
      }
    })().catch((e) => handlers.onError?.(e as Error));
  }

  async #read(): Promise<RawTenant[]> {
    this.#lastText = await Deno.readTextFile(this.#path).catch(() => undefined);
    return await loadTenantsFile(this.#path, { policy: this.#options.policy });
  }

  async #reload(handlers: {
    onUpdate: (update: SourceUpdate) => void;
    onError?: (error: Error) => void;
  }): Promise<void> {
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch {
      text = undefined;
    }
    if (text !== undefined && text === this.#lastText) return;
    try {
      const tenants = await this.#read();
      log.info("tenants file {path} reloaded: {count} tenants", {
        path: this.#path,
        count: tenants.length,
      });
      handlers.onUpdate({ tenants });
    } catch (e) {
      log.error("tenants file {path} is invalid; keeping the last good tenant set: {error}", {
        path: this.#path,
        error: (e as Error).message,
      });
      handlers.onError?.(e as Error);
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    await this.#loop;
  }
}
