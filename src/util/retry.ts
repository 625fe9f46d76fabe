/**
 * The one retry loop: run `fn` again after a backoff while its error is
 * `retryable`, within a bound on attempts and on elapsed time. What is
 * retried, how often and how long to wait stay each caller's policy (remote
 * storage, lock waits, notifications); the loop and the backoff formula live
 * here once.
 */
export interface RetryLoop {
  /** Whether a failure may be tried again; anything else is thrown at once, as it is. */
  retryable: (err: unknown) => boolean;
  /** Attempts in all, the first included (default: no bound). */
  maxAttempts?: number;
  /** No retry starts when its backoff would end more than this long after the first attempt (default: no bound). */
  maxElapsedMs?: number;
  /** The wait after failed attempt `attempt` (1-based); see `exponentialBackoff`. */
  delayMs: (attempt: number) => number;
  /** The error thrown when a retryable failure exhausted the bounds (default: that failure as it is). */
  exhausted?: (err: unknown, attempts: number) => unknown;
  /** Told before each wait. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Stops waiting: an abort during a backoff throws the signal's reason. */
  signal?: AbortSignal;
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, loop: RetryLoop): Promise<T> {
  const now = loop.now ?? Date.now;
  const sleep = loop.sleep ?? ((ms: number) => abortableSleep(ms, loop.signal));
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!loop.retryable(err)) throw err;
      const delayMs = loop.delayMs(attempt);
      if (attempt >= (loop.maxAttempts ?? Infinity) || now() - started + delayMs > (loop.maxElapsedMs ?? Infinity)) {
        throw loop.exhausted ? loop.exhausted(err, attempt) : err;
      }
      loop.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}

export interface Backoff {
  /** The wait after the first failure; it doubles with each further one. */
  baseDelayMs: number;
  /** Upper bound of one wait, before jitter (default: none). */
  maxDelayMs?: number;
  /**
   * In [0, 1), the jitter source: half of each wait fixed, half random ("equal
   * jitter"), so clients spread out but never hammer. Without it, no jitter.
   */
  random?: () => number;
}

/** The wait after failed attempt `failed` (1-based): base × 2^(failed−1), capped, with equal jitter when `random` is given. */
export function exponentialBackoff(backoff: Backoff, failed: number): number {
  const cap = Math.min(backoff.maxDelayMs ?? Infinity, backoff.baseDelayMs * 2 ** (failed - 1));
  return backoff.random ? Math.round(cap / 2 + backoff.random() * (cap / 2)) : cap;
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
