import { afterAll, beforeAll, expect, it } from 'vitest';
import { FaultyStorage, type FaultPlan } from '../storage/middleware/index.js';
import { prune } from './prune.js';
import { Fixture, randomish } from './testing/fixture.js';

/**
 * RELIABILITY: "kill -9 during prune at each phase: check is clean, every kept
 * snapshot restores, the next prune completes." A run that repacks, deletes
 * packs and consolidates the index is recorded once; then, from the same
 * starting state, it is stopped at each of its writes and removals in turn
 * (the failing call and everything after it never happen).
 */
const T0 = Date.parse('2030-01-01T00:00:00Z');
let f: Fixture;
let baseline: Map<string, Buffer>;

beforeAll(async () => {
  f = await Fixture.create();
  const all = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.bin`, randomish(500 + i, 3000)]));
  const gone = await f.backup(
    await f.dataset(
      'gone',
      Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`g${i}.bin`, randomish(900 + i, 5000)])),
    ),
  );
  const full = await f.backup(await f.dataset('full', all));
  await f.backup(await f.dataset('half', Object.fromEntries(Object.entries(all).filter((_, i) => i % 2 === 0))));
  await f.forget(gone.id);
  await f.forget(full.id);
  baseline = new Map(f.objects);
});
afterAll(async () => f.cleanup());

const mutating = (op: string, name: string) => (op === 'put' || op === 'remove') && !name.startsWith('locks/');

function reset(): void {
  f.objects.clear();
  for (const [k, v] of baseline) f.objects.set(k, v);
}

async function runPrune(plan: FaultPlan, now: number): Promise<void> {
  const repo = await f.open((s) => new FaultyStorage(s, plan));
  try {
    await prune(repo, { graceMs: 0, now: () => now });
  } finally {
    await repo.close();
  }
}

it('leaves a repository that checks clean and restores when stopped at any step, and the next prune completes', async () => {
  const steps: string[] = [];
  await runPrune((op, name) => {
    if (mutating(op, name)) steps.push(`${op} ${name.split('/')[0]}`);
    return undefined;
  }, T0);
  const kinds = new Set(steps);
  for (const k of ['put prune', 'put data', 'put index', 'remove index', 'remove data', 'remove prune'])
    expect(kinds, `the run covers "${k}"`).toContain(k);
  const reclaimed = f.bytes('data/');

  for (let stop = 1; stop <= steps.length; stop++) {
    reset();
    let seen = 0;
    const crash: FaultPlan = (op, name) =>
      mutating(op, name) && ++seen >= stop ? { kind: 'error', message: `stopped at step ${stop}` } : undefined;
    await expect(runPrune(crash, T0), `step ${stop} (${steps[stop - 1]})`).rejects.toThrow(`stopped at step ${stop}`);

    const report = await f.check();
    expect(
      report.findings.filter((x) => x.severity === 'error'),
      `check after stopping at step ${stop} (${steps[stop - 1]})`,
    ).toEqual([]);
    expect(await f.restoreAll(), `restore after stopping at step ${stop}`).toEqual([]);

    await runPrune(() => undefined, T0 + 3600_000);
    expect((await f.check()).findings, `check after the next prune (stopped at step ${stop})`).toEqual([]);
    expect(f.bytes('data/'), `space reclaimed after stopping at step ${stop}`).toBe(reclaimed);
    expect(await f.markedPacks()).toEqual([]);
  }
}, 600_000);
