/**
 * Wait `ms`, or less when `signal` aborts: the pause between rounds of a
 * long-running loop (restart backoff, poll interval) that must end promptly on
 * shutdown. It never rejects, so the loop itself sees the abort and decides
 * how to stop; `retry` uses a rejecting wait instead, since it ends the work.
 *
 * @module
 */

export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
