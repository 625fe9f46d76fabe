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
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: unknown;
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      last = err;
      if (err instanceof PermanentError || attempt === o.attempts) break;
      await sleep(o.baseDelayMs * 2 ** (attempt - 1));
    }
  }
  const message = (last as Error)?.message ?? String(last);
  throw new Error(`${message} (after ${o.attempts === 1 ? '1 attempt' : `up to ${o.attempts} attempts`})`, { cause: last });
}
