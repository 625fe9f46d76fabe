/**
 * RetryingStorage: retries `retryable` failures of a remote Storage with
 * exponential backoff and jitter, within a bound on attempts and on total time.
 *
 * Every retry repeats the whole operation: a put resends the whole object, a
 * read asks for the whole range again, a listing starts over (never merged
 * from parts). A put that resolves after an earlier attempt failed is checked
 * with `stat`: the stored length must be the object's length, otherwise that
 * counts as one more failed attempt. Non-retryable errors (not_found, bad
 * names, permission, authentication) pass through at once.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../../errors/index.js';
import { exponentialBackoff, retry } from '../../util/retry.js';
import type { ObjectInfo, SpaceInfo, Storage, StorageFactory } from '../contract.js';

export interface RetryInfo {
  op: string;
  name: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: LifeboatError;
}

export interface RetryPolicy {
  /** Attempts per operation, the first included (default 6). */
  maxAttempts: number;
  /** No retry starts once this long has passed since the first attempt (default 120 s). */
  maxElapsedMs: number;
  /** Backoff before the second attempt (default 250 ms); doubles each time. */
  baseDelayMs: number;
  /** Upper bound of one backoff (default 15 s). */
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** In [0, 1); the jitter source. */
  random: () => number;
  onRetry?: (info: RetryInfo) => void;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  maxElapsedMs: 120_000,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
  random: () => Math.random(),
};

/** Delay before attempt `failed + 1`: half fixed, half random ("equal jitter"), so clients spread out but never hammer. */
export function backoffDelay(
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
  failed: number,
): number {
  return exponentialBackoff(policy, failed);
}

function isRetryable(err: unknown): err is LifeboatError {
  return isLifeboatError(err) && err.retryable;
}

function gaveUp(err: LifeboatError, op: string, name: string, attempts: number): LifeboatError {
  return new LifeboatError(err.code, `${err.message} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`, {
    hint: err.hint ?? 'the storage kept failing; check the network and the server, then run the command again',
    retryable: true,
    context: { ...err.context, op, name, attempts },
    cause: err,
  });
}

/** Runs `fn` until it resolves, a non-retryable error, or the policy's bounds. */
export async function withRetries<T>(
  op: string,
  name: string,
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<T> {
  return retry(fn, {
    retryable: isRetryable,
    maxAttempts: policy.maxAttempts,
    maxElapsedMs: policy.maxElapsedMs,
    delayMs: (failed) => backoffDelay(policy, failed),
    exhausted: (err, attempts) => gaveUp(err as LifeboatError, op, name, attempts),
    onRetry:
      policy.onRetry &&
      ((err, attempt, delayMs) => policy.onRetry!({ op, name, attempt, delayMs, error: err as LifeboatError })),
    sleep: policy.sleep,
    now: policy.now,
  });
}

export class RetryingStorage implements Storage {
  private readonly policy: RetryPolicy;

  /** Present when the inner storage has it. */
  readonly removeStaleTemporaries?: Storage['removeStaleTemporaries'];

  constructor(
    readonly inner: Storage,
    policy: Partial<RetryPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...policy };
    const remove = inner.removeStaleTemporaries?.bind(inner);
    if (remove)
      this.removeStaleTemporaries = (olderThanMs, options) =>
        this.retry('removeStaleTemporaries', '', () => remove(olderThanMs, options));
  }

  get location(): string {
    return this.inner.location;
  }

  get accessRole(): string | undefined {
    return this.inner.accessRole;
  }

  private retry<T>(op: string, name: string, fn: () => Promise<T>): Promise<T> {
    return withRetries(op, name, fn, this.policy);
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    let failedBefore = false;
    await this.retry('put', name, async () => {
      try {
        await this.inner.put(name, data);
      } catch (err) {
        failedBefore = true;
        throw err;
      }
      // The failed attempt may have left something behind on a backend that is not atomic: check.
      if (failedBefore) await this.verifyLength(name, data.byteLength);
    });
  }

  private async verifyLength(name: string, expected: number): Promise<void> {
    let info: ObjectInfo;
    try {
      info = await this.inner.stat(name);
    } catch (err) {
      if (!isLifeboatError(err, ErrorCode.NotFound)) throw err;
      throw new LifeboatError(ErrorCode.Storage, `put ${name} resolved but the object is missing`, {
        retryable: true,
        context: { name },
      });
    }
    if (info.size !== expected) {
      throw new LifeboatError(ErrorCode.Storage, `put ${name} stored ${info.size} of ${expected} bytes`, {
        retryable: true,
        context: { name, size: info.size, expected },
      });
    }
  }

  get(name: string): Promise<Buffer> {
    return this.retry('get', name, () => this.inner.get(name));
  }

  getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.retry('getRange', name, async () => {
      const data = await this.inner.getRange(name, offset, length);
      if (data.length !== length) {
        throw new LifeboatError(ErrorCode.Storage, `getRange ${name} returned ${data.length} of ${length} bytes`, {
          retryable: true,
          context: { name, offset, length, got: data.length },
        });
      }
      return data;
    });
  }

  stat(name: string): Promise<ObjectInfo> {
    return this.retry('stat', name, () => this.inner.stat(name));
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.retry('list', prefix, () => this.inner.list(prefix));
  }

  remove(name: string): Promise<void> {
    return this.retry('remove', name, () => this.inner.remove(name));
  }

  space(): Promise<SpaceInfo> {
    return this.retry('space', '', () => this.inner.space());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A factory whose opening is retried like an operation, and whose storage retries its operations. */
export function retryingFactory(factory: StorageFactory, policy: Partial<RetryPolicy> = {}): StorageFactory {
  const full = { ...DEFAULT_RETRY_POLICY, ...policy };
  return async (url, options) =>
    new RetryingStorage(await withRetries('open', '', () => factory(url, options), full), full);
}
