import { exponentialBackoff, retry } from '../../util/retry.js';

/**
 * Try `fn` up to `attempts` times, waiting `baseDelayMs`, 2×, 4×… between
 * tries. An error marked `permanent` (a 4xx answer) is not retried.
 */
export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export class PermanentError extends Error {
  readonly permanent = true;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  try {
    return await retry(fn, {
      retryable: (err) => !(err instanceof PermanentError),
      maxAttempts: o.attempts,
      delayMs: (failed) => exponentialBackoff({ baseDelayMs: o.baseDelayMs }, failed),
      sleep: o.sleep,
    });
  } catch (last) {
    const message = (last as Error)?.message ?? String(last);
    throw new Error(`${message} (after ${o.attempts === 1 ? '1 attempt' : `up to ${o.attempts} attempts`})`, {
      cause: last,
    });
  }
}
