import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { LocalStorage } from '../drivers/local/index.js';
import { MemoryStorage } from '../drivers/memory/index.js';
import { describeStorageConformance, expectCode, temporariesOnDisk } from '../testing/conformance.js';
import { FaultyStorage, faultOnNthCall, type Fault, type FaultPlan, type StorageOp } from './faulty.js';
import { RetryingStorage, backoffDelay, retryingFactory, type RetryPolicy } from './retrying.js';

/** A fake clock: sleep advances it instantly and records each delay. */
function fakeTime(overrides: Partial<RetryPolicy> = {}) {
  let t = 0;
  const sleeps: number[] = [];
  const policy: Partial<RetryPolicy> = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    random: () => 0.5,
    ...overrides,
  };
  return { policy, sleeps, advance: (ms: number) => (t += ms) };
}

const retryable: Fault = { kind: 'error', retryable: true, message: 'connection reset' };
const fatal: Fault = { kind: 'error', retryable: false, message: 'permission denied' };

/** Faults per call of `op`, in order; calls beyond the list behave normally. */
function schedule(op: StorageOp, faults: Array<Fault | undefined>): FaultPlan {
  let i = 0;
  return (o) => (o === op ? faults[i++] : undefined);
}

describeStorageConformance('retrying (over memory)', async () => {
  const storage = new RetryingStorage(new MemoryStorage(), fakeTime().policy);
  return { storage, cleanup: () => storage.close() };
});

// Both wrappers pass the optional removeStaleTemporaries through when the driver has it.
describeStorageConformance(
  'retrying over faulty (no faults) over local',
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-wrapped-'));
    const storage = new RetryingStorage(new FaultyStorage(new LocalStorage(dir)), fakeTime().policy);
    return { storage, cleanup: () => rm(dir, { recursive: true, force: true }), temporaries: temporariesOnDisk(dir) };
  },
  { writesTemporaries: true },
);

describe('RetryingStorage', () => {
  it('retries a retryable put, resending the whole object, and verifies the length afterwards', async () => {
    const inner = new MemoryStorage();
    const faulty = new FaultyStorage(inner, schedule('put', [retryable, retryable]));
    const { policy, sleeps } = fakeTime();
    const s = new RetryingStorage(faulty, policy);
    const data = Buffer.from('a whole pack');
    await s.put('data/ab/p', data);
    expect(faulty.calls.put).toBe(3);
    expect(faulty.calls.stat).toBe(1);
    expect((await inner.get('data/ab/p')).equals(data)).toBe(true);
    expect(sleeps).toEqual([
      backoffDelay({ baseDelayMs: 250, maxDelayMs: 15_000, random: () => 0.5 }, 1),
      backoffDelay({ baseDelayMs: 250, maxDelayMs: 15_000, random: () => 0.5 }, 2),
    ]);
  });

  it('does not stat after a put that succeeded at once', async () => {
    const faulty = new FaultyStorage(new MemoryStorage());
    await new RetryingStorage(faulty, fakeTime().policy).put('config', Buffer.from('c'));
    expect(faulty.calls).toMatchObject({ put: 1, stat: 0 });
  });

  it('catches a short object left by a retry after an error and sends it again', async () => {
    const inner = new MemoryStorage();
    const faulty = new FaultyStorage(inner, schedule('put', [retryable, { kind: 'truncate', bytes: 3 }]));
    const s = new RetryingStorage(faulty, fakeTime().policy);
    const data = Buffer.from('0123456789');
    await s.put('data/ab/p', data);
    expect(faulty.calls.put).toBe(3);
    expect((await inner.get('data/ab/p')).equals(data)).toBe(true);
  });

  it('passes non-retryable errors and not_found through at once', async () => {
    const faulty = new FaultyStorage(new MemoryStorage(), (op) => (op === 'put' ? fatal : undefined));
    const { policy, sleeps } = fakeTime();
    const s = new RetryingStorage(faulty, policy);
    const err = await expectCode(s.put('config', Buffer.from('x')), 'storage');
    expect(err.message).toBe('permission denied');
    await expectCode(s.get('snapshots/none'), 'not_found');
    expect(faulty.calls).toMatchObject({ put: 1, get: 1 });
    expect(sleeps).toEqual([]);
  });

  it('gives up after maxAttempts with the last error, backing off exponentially with jitter', async () => {
    const faulty = new FaultyStorage(new MemoryStorage(), (op) => (op === 'list' ? retryable : undefined));
    const random = [0, 0.999, 0.5, 0.25];
    const { policy, sleeps } = fakeTime({ maxAttempts: 5, random: () => random[sleeps.length] ?? 0 });
    const err = await expectCode(new RetryingStorage(faulty, policy).list('data/'), 'storage');
    expect(err.message).toBe('connection reset (gave up after 5 attempts)');
    expect(err.retryable).toBe(true);
    expect(err.context).toMatchObject({ attempts: 5, op: 'list' });
    expect(faulty.calls.list).toBe(5);
    expect(sleeps).toHaveLength(4);
    // Equal jitter: each delay within [cap/2, cap] of 250·2^(n-1).
    sleeps.forEach((ms, i) => {
      const cap = 250 * 2 ** i;
      expect(ms).toBeGreaterThanOrEqual(cap / 2);
      expect(ms).toBeLessThanOrEqual(cap);
    });
    expect(sleeps[0]).toBe(125);
  });

  it('stops retrying when the total time would pass maxElapsedMs', async () => {
    const faulty = new FaultyStorage(new MemoryStorage(), (op) => (op === 'get' ? retryable : undefined));
    const { policy, advance } = fakeTime({ maxAttempts: 100, maxElapsedMs: 10_000 });
    const retryStarts: number[] = [];
    // Each attempt takes 1 s of the clock; retries must all start within the 10 s.
    const s = new RetryingStorage(faulty, {
      ...policy,
      sleep: async (ms) => {
        await policy.sleep!(ms);
        retryStarts.push(policy.now!());
        advance(1000);
      },
    });
    await expectCode(s.get('config'), 'storage');
    expect(retryStarts.length).toBeGreaterThan(2);
    expect(Math.max(...retryStarts)).toBeLessThanOrEqual(10_000);
    expect(faulty.calls.get).toBe(retryStarts.length + 1);
  });

  it('caps one backoff at maxDelayMs', () => {
    expect(backoffDelay({ baseDelayMs: 250, maxDelayMs: 15_000, random: () => 0.999999 }, 30)).toBeLessThanOrEqual(
      15_000,
    );
  });

  it('retries a failed listing whole and returns only a complete one', async () => {
    const inner = new MemoryStorage();
    for (let i = 0; i < 5; i++) await inner.put(`data/0${i}/x`, Buffer.from('x'));
    const faulty = new FaultyStorage(inner, schedule('list', [retryable, retryable]));
    const listed = await new RetryingStorage(faulty, fakeTime().policy).list('data/');
    expect(listed).toHaveLength(5);
    expect(faulty.calls.list).toBe(3);
  });

  it('re-requests the whole range on a retry and never returns a short range', async () => {
    const inner = new MemoryStorage();
    await inner.put('data/ab/p', Buffer.from('0123456789'));
    const faulty = new FaultyStorage(inner, schedule('getRange', [retryable]));
    const seen: Array<[number, number]> = [];
    const spy = Object.assign(Object.create(faulty) as FaultyStorage, {
      getRange: (name: string, offset: number, length: number) => {
        seen.push([offset, length]);
        // The second call answers short, like a transport that lost the tail.
        return seen.length === 2 ? Promise.resolve(Buffer.from('234')) : faulty.getRange(name, offset, length);
      },
    });
    const got = await new RetryingStorage(spy, fakeTime().policy).getRange('data/ab/p', 2, 5);
    expect(got.toString()).toBe('23456');
    expect(seen).toEqual([
      [2, 5],
      [2, 5],
      [2, 5],
    ]);
  });

  it('retries remove, stat and space, and passes close through once', async () => {
    const inner = new MemoryStorage();
    await inner.put('locks/l', Buffer.from('l'));
    const faulty = new FaultyStorage(inner);
    const plans = new Map<StorageOp, FaultPlan>();
    faulty.setPlan((op, name) => {
      if (!plans.has(op)) plans.set(op, faultOnNthCall(op, 1, retryable));
      return op === 'close' ? undefined : plans.get(op)!(op, name);
    });
    const s = new RetryingStorage(faulty, fakeTime().policy);
    expect(await s.stat('locks/l')).toEqual({ name: 'locks/l', size: 1 });
    await s.remove('locks/l');
    expect(await s.space()).toEqual(await inner.space());
    await s.close();
    expect(faulty.calls).toMatchObject({ stat: 2, remove: 2, space: 2, close: 1 });
  });

  it('retries opening through retryingFactory and wraps the storage', async () => {
    let opens = 0;
    const inner = new MemoryStorage();
    const factory = retryingFactory(async () => {
      if (++opens < 3) throw new LifeboatError(ErrorCode.Storage, 'ECONNREFUSED', { retryable: true });
      return inner;
    }, fakeTime().policy);
    const s = await factory(new URL('memory://x'), {});
    expect(s).toBeInstanceOf(RetryingStorage);
    expect(opens).toBe(3);
    const refused = retryingFactory(async () => {
      throw new LifeboatError(ErrorCode.Storage, 'host key changed');
    }, fakeTime().policy);
    await expectCode(refused(new URL('memory://x'), {}), 'storage');
  });
});

/**
 * A backend that can also lose a connection mid-body: for the calls `dropAt`
 * names, part of the object is stored (a non-atomic server), then the call
 * fails as retryable. Other calls go through the FaultyStorage plan.
 */
class MidBodyDrops extends FaultyStorage {
  puts = 0;
  constructor(
    inner: MemoryStorage,
    private readonly dropAt: (call: number) => number | undefined,
    plan: FaultPlan,
  ) {
    super(inner, plan);
  }

  override async put(name: string, data: Uint8Array): Promise<void> {
    const keep = this.dropAt(this.puts++);
    if (keep === undefined) return super.put(name, data);
    this.calls.put++;
    await this.inner.put(name, data.subarray(0, Math.min(keep, data.byteLength - 1)));
    throw new LifeboatError(ErrorCode.Storage, 'connection reset mid-body', { retryable: true });
  }
}

type Step = 'ok' | 'retryable' | 'fatal' | 'drop-mid-body' | 'truncate-on-retry';

describe('RetryingStorage property: a put that resolved stored the whole object', () => {
  it('holds for every fault schedule of puts and the stat that verifies them', async () => {
    const step = fc.constantFrom<Step>('ok', 'retryable', 'retryable', 'fatal', 'drop-mid-body', 'truncate-on-retry');
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.array(step, { maxLength: 10 }),
        fc.array(fc.constantFrom<'ok' | 'retryable' | 'fatal'>('ok', 'ok', 'retryable', 'fatal'), { maxLength: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        async (data, steps, statSteps, maxAttempts, preexisting) => {
          const inner = new MemoryStorage();
          if (preexisting) await inner.put('data/ab/p', Buffer.from('an older, different object of another length'));
          const failedBefore = (call: number) =>
            steps.slice(0, call).some((x) => x === 'retryable' || x === 'fatal' || x === 'drop-mid-body');
          const storage: MidBodyDrops = new MidBodyDrops(
            inner,
            (call) => (steps[call] === 'drop-mid-body' ? Math.floor(data.length / 3) : undefined),
            (op) => {
              if (op === 'stat') {
                const x = statSteps.shift();
                return x === 'retryable' ? retryable : x === 'fatal' ? fatal : undefined;
              }
              if (op !== 'put') return undefined;
              const call = storage.puts - 1;
              const x = steps[call] ?? 'ok';
              if (x === 'retryable') return retryable;
              if (x === 'fatal') return fatal;
              if (x === 'truncate-on-retry' && failedBefore(call))
                return { kind: 'truncate', bytes: Math.floor(data.length / 2) };
              return undefined;
            },
          );
          const s = new RetryingStorage(storage, fakeTime({ maxAttempts }).policy);
          const resolved = await s.put('data/ab/p', data).then(
            () => true,
            (err: unknown) => {
              expect(err).toBeInstanceOf(LifeboatError);
              return false;
            },
          );
          if (resolved) expect((await inner.get('data/ab/p')).equals(Buffer.from(data))).toBe(true);
          // Only retryable failures are retried, and never beyond the bound.
          expect(storage.puts).toBeLessThanOrEqual(maxAttempts);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('with only retryable faults and enough attempts, every put completes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.array(fc.constantFrom('retryable', 'drop-mid-body'), { maxLength: 5 }),
        async (data, steps) => {
          const inner = new MemoryStorage();
          const storage: MidBodyDrops = new MidBodyDrops(
            inner,
            (call) => (steps[call] === 'drop-mid-body' ? 1 : undefined),
            (op) => (op === 'put' && steps[storage.puts - 1] === 'retryable' ? retryable : undefined),
          );
          await new RetryingStorage(storage, fakeTime({ maxAttempts: 6 }).policy).put('data/ab/p', data);
          expect((await inner.get('data/ab/p')).equals(Buffer.from(data))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
