import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, isLifeboatError } from '../errors/index.js';
import { FaultyStorage, type FaultPlan } from '../storage/middleware/index.js';
import { prune, type PruneResult } from './prune.js';
import { mark, type MarkResult } from './mark.js';
import { sweep, type SweepResult } from './sweep.js';
import { resolveOptions, type PruneOptions } from './options.js';
import { Fixture, randomish } from './testing/fixture.js';

const HOUR = 3600_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');

let f: Fixture;
beforeEach(async () => {
  f = await Fixture.create();
});
afterEach(async () => f.cleanup());

async function runPrune(options: PruneOptions): Promise<PruneResult> {
  const repo = await f.open();
  try {
    return await prune(repo, options);
  } finally {
    await repo.close();
  }
}

/** Only the sweep phase, as a later run would start it (tests of what happens between mark and sweep). */
async function sweepOnly(now: number, graceMs?: number): Promise<SweepResult> {
  const repo = await f.open();
  try {
    return await sweep(repo, resolveOptions({ now: () => now, ...(graceMs !== undefined ? { graceMs } : {}) }));
  } finally {
    await repo.close();
  }
}

async function pruneWith(plan: FaultPlan, options: PruneOptions): Promise<PruneResult> {
  const repo = await f.open((s) => new FaultyStorage(s, plan));
  try {
    return await prune(repo, options);
  } finally {
    await repo.close();
  }
}

/** The oracle every test ends with: check finds no error and every snapshot restores its source. */
async function expectIntact(): Promise<void> {
  const report = await f.check();
  expect(report.findings.filter((x) => x.severity === 'error')).toEqual([]);
  expect(await f.restoreAll()).toEqual([]);
}

const files = (seed: number, n: number, size = 6000) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.bin`, randomish(seed * 1000 + i, size)]));

describe('prune', () => {
  it('reclaims unreferenced data only after the grace period', async () => {
    const old = await f.backup(await f.dataset('old', files(1, 6)));
    await f.backup(await f.dataset('new', files(2, 6)));
    await f.forget(old.id);
    const before = f.bytes('data/');

    const first = await runPrune({ now: () => T0 });
    expect(first.mark.plan.unused.length).toBeGreaterThan(0);
    expect(first.mark.record).toMatch(/^prune\/[0-9a-f]{64}$/);
    expect(first.sweep!.plan.delete).toEqual([]);
    expect(f.bytes('data/')).toBe(before);

    const early = await runPrune({ now: () => T0 + 23 * HOUR });
    expect(early.sweep!.plan.delete).toEqual([]);
    expect(early.mark.plan.alreadyMarked).toBe(first.mark.plan.unused.length);
    expect(f.bytes('data/')).toBe(before);

    const late = await runPrune({ now: () => T0 + 25 * HOUR });
    expect(late.sweep!.plan.delete.length).toBe(first.mark.plan.unused.length);
    expect(f.bytes('data/')).toBeLessThan(before * 0.6);
    expect(await f.markedPacks()).toEqual([]);
    await expectIntact();
    const report = await f.check();
    expect(report.findings).toEqual([]);
  });

  it('keeps a marked pack that a backup between mark and sweep deduplicated against', async () => {
    const content = files(3, 6);
    const a = await f.backup(await f.dataset('a', content));
    await f.forget(a.id);
    const marked = await runPrune({ now: () => T0 });
    expect(marked.mark.plan.unused.length).toBeGreaterThan(0);
    const packsBefore = f.names('data/').length;

    // Same content again: the backup finds every blob in the (marked) packs and stores nothing.
    const b = await f.backup(await f.dataset('b', content));
    expect(f.names('data/').length).toBe(packsBefore + 1); // only the new tree pack

    // The sweep alone: the data packs are needed again and stay; only the forgotten snapshot's own tree pack goes.
    const swept = await sweepOnly(T0 + 25 * HOUR);
    expect(swept.plan.kept.length).toBeGreaterThan(0);
    expect(swept.plan.delete.length).toBeLessThan(marked.mark.plan.unused.length);
    expect(await f.markedPacks()).toEqual([]);
    expect(f.expected.has(b.id)).toBe(true);
    await expectIntact();

    // A whole run re-marks nothing of b's data: it is in use, in packs no record names any more.
    const next = await runPrune({ graceMs: 0, now: () => T0 + 26 * HOUR });
    expect(next.sweep!.plan.delete).toEqual([]);
    await expectIntact();
  });

  it('keeps data a backup running during the mark deduplicates against, and defers the sweep while it runs', async () => {
    const content = files(4, 5);
    const a = await f.backup(await f.dataset('a', content));
    await f.forget(a.id);
    let during: PruneResult | undefined;
    // The mark runs while the backup holds its shared lock, just before it saves its snapshot.
    await f.backup(await f.dataset('b', content), undefined, async () => {
      during = await runPrune({ graceMs: 0, now: () => T0 });
    });
    expect(during!.mark.plan.unused.length).toBeGreaterThan(0);
    expect(during!.deferred?.code).toBe(ErrorCode.Locked);
    expect(during!.sweep).toBeUndefined();

    const after = await sweepOnly(T0 + HOUR, 0);
    expect(after.plan.kept.length).toBeGreaterThan(0);
    expect(after.plan.delete.length).toBeLessThan(during!.mark.plan.unused.length);
    await expectIntact();
  });

  it('repacks partly used packs and reclaims their unused space', async () => {
    const all = files(5, 12, 3000);
    const full = await f.backup(await f.dataset('full', all));
    const half = Object.fromEntries(Object.entries(all).filter((_, i) => i % 2 === 0));
    await f.backup(await f.dataset('half', half));
    await f.forget(full.id);
    const before = f.bytes('data/');

    const result = await runPrune({ graceMs: 0, now: () => T0 });
    expect(result.mark.plan.repack.length).toBeGreaterThan(0);
    expect(result.mark.repacked!.packs.length).toBeGreaterThan(0);
    expect(result.mark.repacked!.skipped).toEqual([]);
    expect(result.sweep!.plan.delete.length).toBeGreaterThanOrEqual(result.mark.plan.repack.length);
    expect(f.bytes('data/')).toBeLessThan(before * 0.7);
    await expectIntact();
    expect((await f.check()).findings).toEqual([]);

    // Nothing left to do: a second run marks nothing.
    const again = await runPrune({ graceMs: 0, now: () => T0 + HOUR });
    expect(again.mark.record).toBeUndefined();
    expect(again.sweep!.plan.delete).toEqual([]);
  });

  it('consolidates the index so the warnings about a lost and re-uploaded pack clear', async () => {
    const root = await f.dataset('a', files(6, 4));
    await f.backup(root);
    const lost = f.names('data/')[0]!;
    f.objects.delete(lost);
    await f.backup(root); // stores the lost blobs again
    await f.backup(await f.dataset('b', files(7, 3)));
    const warned = await f.check();
    expect(warned.ok).toBe(true);
    expect(warned.findings.map((x) => x.kind)).toContain('missing-pack');
    expect(f.names('index/').length).toBeGreaterThan(2);

    const result = await runPrune({ now: () => T0 });
    expect(result.sweep!.consolidated).toBe(true);
    expect(f.names('index/').length).toBe(1);
    expect((await f.check()).findings).toEqual([]);
    await expectIntact();
  });

  it('changes nothing with --dry-run', async () => {
    const old = await f.backup(await f.dataset('old', files(8, 6)));
    await f.backup(await f.dataset('new', files(9, 6)));
    await runPrune({ graceMs: 0, now: () => T0 }); // something to consolidate and a record of nothing
    await f.forget(old.id);
    await runPrune({ now: () => T0 }); // a pending record, ripe later
    const before = new Map([...f.objects].filter(([n]) => !n.startsWith('locks/')));

    const result = await runPrune({ dryRun: true, graceMs: 0, now: () => T0 + 48 * HOUR });
    expect(result.sweep!.plan.delete.length).toBeGreaterThan(0);
    expect(f.state()).toEqual([...before.keys()].sort());
    for (const [name, bytes] of before) expect(f.objects.get(name)!.equals(bytes)).toBe(true);
  });
});

describe('prune refuses on incomplete knowledge', () => {
  async function prepared(): Promise<void> {
    const old = await f.backup(await f.dataset('old', files(10, 5)));
    await f.backup(await f.dataset('new', files(11, 5)));
    await f.forget(old.id);
    await runPrune({ now: () => T0 }); // a ripe record from here on
  }

  for (const prefix of ['snapshots/', 'index/', 'data/', 'prune/']) {
    it(`aborts with nothing deleted when listing ${prefix} fails`, async () => {
      await prepared();
      const before = f.state();
      const plan: FaultPlan = (op, name) => (op === 'list' && name === prefix ? { kind: 'error' } : undefined);
      await expect(pruneWith(plan, { now: () => T0 + 48 * HOUR })).rejects.toMatchObject({ code: ErrorCode.Storage });
      expect(f.state()).toEqual(before);
      await expectIntact();
    });
  }

  it('aborts with nothing deleted when a tree cannot be read', async () => {
    await prepared();
    const before = f.state();
    // Damage every tree read: flip a byte in whole-pack reads (trees are read whole).
    const plan: FaultPlan = (op, name) =>
      op === 'get' && name.startsWith('data/') ? { kind: 'corrupt-read' } : undefined;
    const err = await pruneWith(plan, { now: () => T0 + 48 * HOUR }).catch((e: unknown) => e);
    expect(isLifeboatError(err, ErrorCode.Refused)).toBe(true);
    expect((err as Error).message).toMatch(/tree .* cannot be read/);
    expect(f.state()).toEqual(before);
  });

  it('aborts when a snapshot cannot be read', async () => {
    await prepared();
    const before = f.state();
    const snap = f.names('snapshots/')[0]!;
    const plan: FaultPlan = (op, name) => (op === 'get' && name === snap ? { kind: 'corrupt-read' } : undefined);
    await expect(pruneWith(plan, { now: () => T0 + 48 * HOUR })).rejects.toMatchObject({ code: ErrorCode.Refused });
    expect(f.state()).toEqual(before);
  });

  it('survives a listing that silently drops snapshots during the mark: the sweep recomputes', async () => {
    const a = await f.backup(await f.dataset('a', files(12, 5)));
    await f.backup(await f.dataset('b', files(13, 5)));
    // A lying backend hides every snapshot from the mark: all data looks unused.
    const hidden: FaultPlan = (op, name) =>
      op === 'list' && name === 'snapshots/' ? { kind: 'short-list', keep: 0 } : undefined;
    const repo = await f.open((s) => new FaultyStorage(s, hidden));
    let marked: MarkResult;
    try {
      marked = await mark(repo, resolveOptions({ now: () => T0 }));
      expect(marked.plan.unused.length).toBeGreaterThan(0);
    } finally {
      await repo.close();
    }
    const swept = await sweepOnly(T0 + 48 * HOUR);
    expect(swept.plan.delete).toEqual([]);
    expect(swept.plan.kept.length).toBe(marked.plan.unused.length);
    expect(f.expected.has(a.id)).toBe(true);
    await expectIntact();
  });
});
