import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { FaultyStorage, type FaultPlan } from '../storage/middleware/index.js';
import { mark } from './mark.js';
import { resolveOptions, type PruneOptions } from './options.js';
import { prune, type PruneResult } from './prune.js';
import { Fixture, randomish } from './testing/fixture.js';

/**
 * A storage whose listings lie (keys dropped without a word, keys repeated)
 * must never make prune delete what a snapshot needs: it refuses, deletes
 * nothing, and every snapshot still restores and checks clean.
 */
const HOUR = 3600_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');

let f: Fixture;
let snapshots: SnapshotEntry[];
beforeEach(async () => {
  f = await Fixture.create();
  snapshots = [];
  for (let i = 0; i < 6; i++) {
    const files = Object.fromEntries(
      Array.from({ length: 3 }, (_, j) => [`f${j}.bin`, randomish(100 * i + j + 1, 3000)]),
    );
    snapshots.push(await f.backup(await f.dataset(`s${i}`, files)));
  }
});
afterEach(async () => f.cleanup());

/** Hide these snapshots from every listing of snapshots/. */
const hiding =
  (ids: string[]): FaultPlan =>
  (op, name) =>
    op === 'list' && name === 'snapshots/'
      ? { kind: 'filter-list', keep: (o) => !ids.some((id) => o.name.endsWith(id)) }
      : undefined;

async function pruneWith(plan: FaultPlan, options: PruneOptions): Promise<PruneResult> {
  const repo = await f.open((s) => new FaultyStorage(s, plan));
  try {
    return await prune(repo, options);
  } finally {
    await repo.close();
  }
}

async function expectIntact(): Promise<void> {
  expect((await f.check()).findings.filter((x) => x.severity === 'error')).toEqual([]);
  expect(await f.restoreAll()).toEqual([]);
  expect(f.names('snapshots/')).toHaveLength(6);
}

describe('prune with a listing that hides 3 of 6 snapshots', () => {
  it('refuses in a one-shot run once an earlier prune saw them; nothing is deleted', async () => {
    await pruneWith(() => undefined, { graceMs: 0, now: () => T0 });
    const before = f.state();
    const hidden = snapshots.slice(0, 3).map((s) => s.id);
    const err = await pruneWith(hiding(hidden), { graceMs: 0, now: () => T0 + HOUR }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Refused });
    expect((err as Error).message).toContain(`snapshot ${hidden[0]!.slice(0, 8)}`);
    expect((err as Error).message).toMatch(/left it out.*nothing was deleted/);
    expect(f.state()).toEqual(before);
    await expectIntact();
  });

  it('refuses in the sweep when the listing went short after the mark (mark → grace → sweep)', async () => {
    await f.forget(snapshots[5]!.id); // something for the mark to mark
    const repo = await f.open();
    try {
      const marked = await mark(repo, resolveOptions({ now: () => T0 }));
      expect(marked.plan.unused.length).toBeGreaterThan(0);
    } finally {
      await repo.close();
    }
    const before = f.state();
    const err = await pruneWith(hiding(snapshots.slice(0, 3).map((s) => s.id)), {
      graceMs: 24 * HOUR,
      now: () => T0 + 25 * HOUR,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Refused });
    expect(f.state()).toEqual(before);
    expect((await f.check()).findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(await f.restoreAll()).toEqual([]);
  });

  it('refuses when a second listing lacks what the first showed', async () => {
    let calls = 0;
    const plan: FaultPlan = (op, name) =>
      op === 'list' && name === 'snapshots/' && ++calls === 2
        ? { kind: 'filter-list', keep: (o) => !snapshots.slice(0, 3).some((s) => o.name.endsWith(s.id)) }
        : undefined;
    const before = f.state();
    const err = await pruneWith(plan, { graceMs: 0, now: () => T0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Refused });
    expect((err as Error).message).toMatch(/two listings of snapshots\/ disagree/);
    expect(f.state()).toEqual(before);
    await expectIntact();
  });

  it('refuses when a snapshot seen by an earlier prune is gone without a tombstone', async () => {
    await pruneWith(() => undefined, { graceMs: 0, now: () => T0 });
    const gone = snapshots[2]!.id;
    const object = f.objects.get(`snapshots/${gone}`)!;
    f.objects.delete(`snapshots/${gone}`);
    const before = f.state();
    const err = await pruneWith(() => undefined, { graceMs: 0, now: () => T0 + HOUR }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Refused });
    expect((err as Error).message).toContain(`snapshot ${gone.slice(0, 8)}`);
    expect((err as Error).message).toMatch(/no forget recorded its removal/);
    expect(f.state()).toEqual(before);
    f.objects.set(`snapshots/${gone}`, object);
    await expectIntact();
  });

  it('prunes normally after forget: its tombstones account for the removed snapshots', async () => {
    await pruneWith(() => undefined, { graceMs: 0, now: () => T0 });
    await f.forget(snapshots[0]!.id);
    const result = await pruneWith(() => undefined, { graceMs: 0, now: () => T0 + HOUR });
    expect(result.sweep!.plan.delete.length).toBeGreaterThan(0);
    expect(await f.restoreAll()).toEqual([]);
  });
});

describe('prune with other lying listings', () => {
  it('counts each snapshot and pack once when the listing repeats every key', async () => {
    const plan: FaultPlan = (op) => (op === 'list' ? { kind: 'filter-list', keep: () => true, times: 2 } : undefined);
    const result = await pruneWith(plan, { graceMs: 0, now: () => T0 });
    expect(result.mark.snapshots).toBe(6);
    expect(result.sweep!.plan.delete).toEqual([]);
    await expectIntact();
  });

  it('refuses when the data/ listing leaves out packs the index names', async () => {
    const packs = f.names('data/').slice(0, 2);
    const plan: FaultPlan = (op, name) =>
      op === 'list' && name === 'data/' ? { kind: 'filter-list', keep: (o) => !packs.includes(o.name) } : undefined;
    const before = f.state();
    const err = await pruneWith(plan, { graceMs: 0, now: () => T0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Refused });
    expect((err as Error).message).toMatch(/listing of data\/ left them out/);
    expect(f.state()).toEqual(before);
    await expectIntact();
  });
});
