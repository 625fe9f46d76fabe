import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Starts acquire(amount) and reports when it resolves. */
function track(s: Semaphore, amount: number): { done: () => boolean; promise: Promise<void> } {
  let resolved = false;
  const promise = s.acquire(amount).then(() => {
    resolved = true;
  });
  return { done: () => resolved, promise };
}

describe('Semaphore', () => {
  it('admits up to the capacity at once, then waits for a release', async () => {
    const s = new Semaphore(10);
    await s.acquire(4);
    await s.acquire(6);
    const next = track(s, 1);
    await tick();
    expect(next.done()).toBe(false);
    s.release(4);
    await tick();
    expect(next.done()).toBe(true);
  });

  it('the default amount is 1', async () => {
    const s = new Semaphore(2);
    await s.acquire();
    await s.acquire();
    const third = track(s, 1);
    await tick();
    expect(third.done()).toBe(false);
    s.release();
    await third.promise;
  });

  it('waiters are admitted in FIFO order; a small request does not overtake a big waiting one', async () => {
    const s = new Semaphore(10);
    await s.acquire(6);
    const order: string[] = [];
    const big = s.acquire(8).then(() => order.push('big'));
    const small = s.acquire(1).then(() => order.push('small'));
    await tick();
    // 6 + 1 would fit, but the big request came first.
    expect(order).toEqual([]);
    s.release(6);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
  });

  it('releases several waiters at once when they fit', async () => {
    const s = new Semaphore(3);
    await s.acquire(3);
    const a = track(s, 1);
    const b = track(s, 1);
    const c = track(s, 1);
    const d = track(s, 1);
    s.release(3);
    await tick();
    expect([a.done(), b.done(), c.done(), d.done()]).toEqual([true, true, true, false]);
  });

  it('an oversize request is admitted alone: immediately when idle', async () => {
    const s = new Semaphore(10);
    await s.acquire(100); // resolves: nothing else holds the semaphore
    const other = track(s, 1);
    await tick();
    expect(other.done()).toBe(false); // nothing runs beside it
    s.release(100);
    await other.promise;
  });

  it('an oversize request waits until everything else is released, then runs alone', async () => {
    const s = new Semaphore(10);
    await s.acquire(3);
    await s.acquire(3);
    const huge = track(s, 50);
    await tick();
    expect(huge.done()).toBe(false);
    s.release(3);
    await tick();
    expect(huge.done()).toBe(false);
    s.release(3);
    await tick();
    expect(huge.done()).toBe(true);
    const after = track(s, 1);
    await tick();
    expect(after.done()).toBe(false);
    s.release(50);
    await tick();
    expect(after.done()).toBe(true);
  });

  it('with() releases on success and on failure', async () => {
    const s = new Semaphore(1);
    expect(await s.with(1, async () => 'ok')).toBe('ok');
    await expect(s.with(1, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    // Both releases happened: the semaphore is free again.
    const next = track(s, 1);
    await tick();
    expect(next.done()).toBe(true);
  });

  it('property: the amount in use never exceeds the capacity (except one oversize holder alone), and everything finishes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ amount: fc.integer({ min: 1, max: 30 }), hold: fc.integer({ min: 0, max: 3 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        async (capacity, jobs) => {
          const s = new Semaphore(capacity);
          let inUse = 0;
          let holders = 0;
          let finished = 0;
          await Promise.all(
            jobs.map((job) =>
              s.with(job.amount, async () => {
                inUse += job.amount;
                holders++;
                if (job.amount > capacity) expect(holders).toBe(1);
                else expect(inUse).toBeLessThanOrEqual(capacity);
                for (let i = 0; i < job.hold; i++) await tick();
                inUse -= job.amount;
                holders--;
                finished++;
              }),
            ),
          );
          expect(finished).toBe(jobs.length);
          expect(inUse).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('property: admission order is the request order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 30 }), async (amounts) => {
        const s = new Semaphore(5);
        await s.acquire(5);
        const order: number[] = [];
        const all = amounts.map((a, i) =>
          s.acquire(a).then(async () => {
            order.push(i);
            await tick();
            s.release(a);
          }),
        );
        s.release(5);
        await Promise.all(all);
        expect(order).toEqual(amounts.map((_, i) => i));
      }),
      { numRuns: 50 },
    );
  });

  it('a long queue (tens of thousands waiting) is admitted in request order while new requests keep joining it', async () => {
    const s = new Semaphore(1);
    await s.acquire(1);
    const order: number[] = [];
    const waiting: Promise<void>[] = [];
    const join = (i: number) =>
      waiting.push(
        s
          .acquire(1)
          .then(() => order.push(i))
          .then(() => undefined),
      );
    for (let i = 0; i < 20_000; i++) join(i);
    // Release one at a time, adding a newcomer now and then, past the points where the queue is compacted.
    for (let i = 0; i < 30_000; i++) {
      if (i % 3 === 0) join(20_000 + i / 3);
      s.release(1);
      await Promise.resolve();
      await Promise.resolve();
    }
    await Promise.all(waiting);
    expect(order).toEqual(Array.from({ length: 30_000 }, (_, i) => i));
    // The last one admitted gives its place back: the queue is empty and a request is admitted at once.
    s.release(1);
    const next = track(s, 1);
    await tick();
    expect(next.done()).toBe(true);
  });
});
