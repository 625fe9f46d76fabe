import { describe, expect, it } from 'vitest';
import { exponentialBackoff, retry } from './retry.js';

describe('retry', () => {
  it('retries a retryable failure with the backoff asked for, and stops at the attempt bound', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const run = retry(
      async () => {
        calls++;
        throw new Error('busy');
      },
      {
        retryable: () => true,
        maxAttempts: 3,
        delayMs: (n) => exponentialBackoff({ baseDelayMs: 100 }, n),
        sleep: async (ms) => void sleeps.push(ms),
        exhausted: (err, n) => new Error(`${(err as Error).message} after ${n}`),
      },
    );
    await expect(run).rejects.toThrow('busy after 3');
    expect(calls).toBe(3);
    expect(sleeps).toEqual([100, 200]);
  });

  it('throws a failure that is not retryable at once, as it is', async () => {
    const permanent = new Error('no such thing');
    let calls = 0;
    await expect(
      retry(async () => (calls++, Promise.reject(permanent)), { retryable: () => false, delayMs: () => 1 }),
    ).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });

  it('gives up when the next wait would end past the elapsed bound', async () => {
    let clock = 0;
    let calls = 0;
    const run = retry(async () => (calls++, Promise.reject(new Error('locked'))), {
      retryable: () => true,
      maxElapsedMs: 1_000,
      delayMs: () => 400,
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
    });
    await expect(run).rejects.toThrow('locked');
    expect(calls).toBe(3); // waits end at 400 and 800; a third would end at 1,200
  });

  it('stops waiting when its signal aborts', async () => {
    const ac = new AbortController();
    const run = retry(async () => Promise.reject(new Error('down')), {
      retryable: () => true,
      delayMs: () => 3_600_000,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(new Error('stopped')), 10);
    await expect(run).rejects.toThrow('stopped');
  });

  it('caps the backoff and keeps equal jitter within half and all of it', () => {
    expect(exponentialBackoff({ baseDelayMs: 500, maxDelayMs: 10_000 }, 10)).toBe(10_000);
    expect(exponentialBackoff({ baseDelayMs: 500, maxDelayMs: 10_000, random: () => 0 }, 2)).toBe(500);
    expect(exponentialBackoff({ baseDelayMs: 500, maxDelayMs: 10_000, random: () => 0.999 }, 2)).toBeLessThanOrEqual(
      1_000,
    );
  });
});
