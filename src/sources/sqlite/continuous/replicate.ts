import { Replicator, type ReplicateOptions } from './replicator.js';

/** What `replicate` shipped before its signal stopped it. */
export interface ReplicateResult {
  source: string;
  /** Committed transactions that could not be shipped before the stop (0 after a clean stop). */
  unshipped: number;
  transactionsShipped: number;
  objectsWritten: number;
  bytesWritten: number;
  generationsStarted: number;
}

/**
 * Continuous protection of one SQLite database until `signal` aborts (ADR
 * 0030): what is committed when it aborts is shipped before this resolves.
 * For Node applications that run it in-process; `lifeboat replicate` and
 * `lifeboat serve` call it for every source with `continuous`.
 */
export async function replicate(options: ReplicateOptions & { signal: AbortSignal }): Promise<ReplicateResult> {
  const replicator = new Replicator(options);
  const { unshipped } = await replicator.run(options.signal);
  const c = replicator.counters;
  return {
    source: options.source,
    unshipped,
    transactionsShipped: c.transactionsShipped,
    objectsWritten: c.objectsWritten,
    bytesWritten: c.bytesWritten,
    generationsStarted: c.generationsStarted,
  };
}
