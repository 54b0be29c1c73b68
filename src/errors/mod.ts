/**
 * Error causes: the one place that walks `Error.cause` chains for messages.
 * @module
 */

/** Messages of `error` and its causes, outermost first (at most `limit`, default 8). */
export function errorChain(error: unknown, options: { limit?: number } = {}): string[] {
  const out: string[] = [];
  let current: unknown = error;
  for (let i = 0; current !== undefined && i < (options.limit ?? 8); i++) {
    out.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return out;
}

/**
 * The chain on one line, `outer: cause: root cause` (for logs and status). A cause whose text
 * the outer message already ends with (`cannot write: ${cause.message}`) is not repeated.
 */
export function describeError(error: unknown): string {
  const chain = errorChain(error);
  return chain.filter((m, i) => i === 0 || !chain[i - 1].endsWith(m)).join(": ");
}
