import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapLimit } from './map-limit.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('mapLimit', () => {
  it('keeps results in input order whatever the completion order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        async (delays, limit) => {
          const out = await mapLimit(delays, limit, async (d, i) => {
            for (let k = 0; k < d; k++) await tick();
            return `${i}:${d}`;
          });
          expect(out).toEqual(delays.map((d, i) => `${i}:${d}`));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never has more than `limit` calls in flight, and uses the parallelism it is given', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        async (delays, limit) => {
          let inFlight = 0;
          let peak = 0;
          const seen: number[] = [];
          await mapLimit(delays, limit, async (d, i) => {
            inFlight++;
            peak = Math.max(peak, inFlight);
            seen.push(i);
            await tick();
            for (let k = 0; k < d; k++) await tick();
            inFlight--;
          });
          expect(peak).toBeLessThanOrEqual(limit);
          expect(peak).toBe(Math.min(limit, delays.length));
          // Every item exactly once, started in input order.
          expect(seen).toEqual(delays.map((_, i) => i));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('an empty input gives an empty result without calling fn', async () => {
    let called = false;
    expect(
      await mapLimit([], 4, async () => {
        called = true;
      }),
    ).toEqual([]);
    expect(called).toBe(false);
  });

  it('passes the index and works with real timers', async () => {
    const out = await mapLimit(['a', 'b', 'c', 'd'], 2, async (x, i) => {
      await sleep(x === 'a' ? 15 : 1);
      return x + i;
    });
    expect(out).toEqual(['a0', 'b1', 'c2', 'd3']);
  });

  it('rejects when a call rejects', async () => {
    await expect(
      mapLimit([1, 2, 3], 2, async (x) => {
        await tick();
        if (x === 2) throw new Error('item 2 failed');
        return x;
      }),
    ).rejects.toThrow('item 2 failed');
  });
});
