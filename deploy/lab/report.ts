/**
 * Progress and evidence output of the lab: numbered steps with timings, indented evidence
 * blocks, and the failing step named on error.
 * @module
 */

/** Where lab lines go (stdout by default). */
export type Writer = (line: string) => void;

/** Thrown by {@link Reporter.step} wrappers: carries the failing step's title. */
export class StepError extends Error {
  override name = "StepError";
  constructor(readonly step: string, cause: unknown) {
    super(`step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** Numbered steps with elapsed times and evidence blocks. */
export class Reporter {
  readonly #start = performance.now();
  #n = 0;
  /** Step title to blame when something fails outside a step. */
  current = "";

  constructor(readonly write: Writer = (l) => console.log(l), readonly total = 0) {}

  /** Seconds since the lab started, e.g. `+12.3s`. */
  elapsed(): string {
    return `+${((performance.now() - this.#start) / 1000).toFixed(1)}s`;
  }

  /** A progress line. */
  info(text: string): void {
    this.write(`[lab ${this.elapsed()}] ${text}`);
  }

  /** Runs one numbered step; a failure becomes a {@link StepError} naming the step. */
  async step<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.#n++;
    const label = this.total ? `${this.#n}/${this.total}` : `${this.#n}`;
    this.current = title;
    this.info(`── step ${label}: ${title}`);
    const t0 = performance.now();
    try {
      const value = await fn();
      this.info(`   ok (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
      return value;
    } catch (e) {
      this.info(`   FAILED after ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      throw e instanceof StepError ? e : new StepError(title, e);
    }
  }

  /** An evidence block: a title line and the text indented under it. */
  evidence(title: string, text: string): void {
    this.write(`   ┌ ${title}`);
    const body = text.replace(/^\s*\n/, "").replace(/\s+$/, "");
    for (const l of body ? body.split("\n") : ["(empty)"]) this.write(`   │ ${l}`);
    this.write(`   └`);
  }
}
