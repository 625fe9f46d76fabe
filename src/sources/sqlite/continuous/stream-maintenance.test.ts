import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initRepo } from '../../../../test/helpers/repo-lib.js';
import type { LifeboatConfig } from '../../../config/schema.js';
import type { Repository } from '../../../repository/repository.js';
import type { Replicator } from './replicator.js';
import { restoreToTime } from './restore-point.js';
import { checkStreams } from './stream-check.js';
import { copyStreams } from './stream-copy.js';
import { forgetStreams } from './stream-forget.js';
import { storedStreams } from './stream-inventory.js';
import { leaseName } from './stream-lease.js';
import { listStream } from './stream-listing.js';
import { appDb, insert, range, seqs, testReplicator } from './testing/app-db.js';

/**
 * What the rest of the tool does with streams: one replicator per stream,
 * check (structure and read-data), copy to another repository, forget's
 * retention and orphans. Real SQLite, real local repositories.
 */
let dir: string;
let repo: Repository;
let clock: number;
const now = () => clock;

const replicator = (file: string, source = 'app') => testReplicator({ path: file, repo, now }, { source });

function configWith(sources: Record<string, { continuous?: object }>): LifeboatConfig {
  return {
    sources: Object.fromEntries(
      Object.entries(sources).map(([name, s]) => [name, { type: 'sqlite', path: '/unused.db', ...s }]),
    ),
  } as unknown as LifeboatConfig;
}

/** Ten rounds of five transactions, one shipment each: a stream of one full copy and ten segments. */
async function streamOf(file: string, source = 'app'): Promise<Replicator> {
  const db = appDb(file);
  insert(db, 1, 5);
  const r = replicator(file, source);
  await r.start();
  for (let round = 1; round <= 10; round++) {
    clock += 1000;
    insert(db, round * 5 + 1, 5);
    await r.tick();
  }
  await r.stop();
  db.close();
  return r;
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-wal-maint-'));
  repo = await initRepo(path.join(dir, 'repo'), 'pw');
  clock = Date.parse('2026-12-07T10:00:00Z');
});

afterEach(async () => {
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('one replicator per stream', () => {
  it('refuses a second replicator while the first holds the lease, and lets one start after the first stopped', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    insert(db, 1, 5);
    const first = replicator(file);
    await first.start();
    await expect(replicator(file).start()).rejects.toMatchObject({
      code: 'locked',
      message: expect.stringMatching(/already being replicated by pid \d+/),
    });
    await first.stop();
    await expect(repo.storage.stat(leaseName(first.stream))).rejects.toMatchObject({ code: 'not_found' });
    const second = replicator(file);
    await second.start();
    await second.stop();
    db.close();
  });

  it('takes over a lease whose time ran out', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    insert(db, 1, 5);
    const first = replicator(file);
    await first.start();
    clock += 61_000; // the first never renewed it (as after a crash on another host)
    const second = replicator(file);
    await second.start();
    // The first, writing again, finds the stream taken and stops instead of shipping beside the second.
    insert(db, 6, 5);
    clock += 1000;
    await expect(first.tick()).rejects.toMatchObject({ code: 'lock_lost' });
    await second.stop();
    db.close();
  });
});

describe('check of streams', () => {
  it('passes a whole stream, finds a removed segment (gap) and a damaged one (read-data)', async () => {
    const r = await streamOf(path.join(dir, 'app.db'));
    const config = configWith({ app: { continuous: {} } });
    const whole = await checkStreams(repo, config, { readData: true });
    expect(whole.findings).toEqual([]);
    expect(whole.streams).toBe(1);

    const { generations } = await listStream(repo, r.stream);
    const segments = generations[0]!.segments;
    expect(segments.length).toBeGreaterThanOrEqual(5);
    // Damage: one segment's bytes replaced (authentication fails), another removed (a gap).
    await repo.storage.put(segments[2]!.name, Buffer.from('not a sealed object at all, just bytes'));
    const structure = await checkStreams(repo, config);
    expect(structure.findings).toEqual([]); // names alone still chain: damage inside objects needs read-data
    const read = await checkStreams(repo, config, { readData: true });
    expect(read.findings.map((f) => f.kind)).toEqual(['corrupt-stream-object']);
    expect(read.findings[0]!.message).toMatch(/^stream of app: object .* cannot be read or authenticated/);

    await repo.storage.remove(segments[4]!.name);
    const gap = await checkStreams(repo, config);
    expect(gap.findings.map((f) => f.kind)).toEqual(['stream-gap']);
    expect(gap.findings[0]!.object).toBe(segments[5]!.name);
  });

  it('reports a full copy that lacks a part and segments with no whole full copy', async () => {
    const r = await streamOf(path.join(dir, 'app.db'));
    const { generations } = await listStream(repo, r.stream);
    const part = generations[0]!.objects.find((o) => /\/base\/[^/]+\.[0-9a-f]{4}$/.test(o.name))!;
    await repo.storage.remove(part.name);
    const found = await checkStreams(repo, undefined);
    expect(found.findings.map((f) => f.kind).sort()).toEqual(['incomplete-full-copy', 'stream-without-full-copy']);
    expect(found.findings[0]!.message).toMatch(/^orphan stream [0-9a-f]{12}/);
  });
});

describe('copy of streams', () => {
  it('copies a named stream re-sealed for the destination (restorable there), only what is missing, and leaves orphans with a reason', async () => {
    await streamOf(path.join(dir, 'app.db'));
    await streamOf(path.join(dir, 'gone.db'), 'gone');
    const dest = await initRepo(path.join(dir, 'dest'), 'other password');
    try {
      const config = configWith({ app: { continuous: { retention: '24h' } } });
      const first = await copyStreams(repo, dest, config, { now });
      expect(first.copied).toHaveLength(1);
      expect(first.copied[0]).toMatchObject({ source: 'app', present: 0 });
      expect(first.copied[0]!.objects).toBeGreaterThan(5);
      expect(first.notCopied).toHaveLength(1);
      expect(first.notCopied[0]!.reason).toMatch(/matches no sqlite source/);
      const again = await copyStreams(repo, dest, config, { now });
      expect(again.copied[0]).toMatchObject({ objects: 0, present: first.copied[0]!.objects });

      const restored = await restoreToTime(dest, { source: 'app', toFile: path.join(dir, 'from-dest.db') });
      expect(seqs(restored.file)).toEqual(range(1, 55));
      expect(restored.record.integrity).toBe('ok');
      expect((await checkStreams(dest, config, { readData: true })).findings).toEqual([]);
    } finally {
      await dest.close();
    }
  });
});

describe('forget and orphans', () => {
  it('applies each configured stream its window, keeps orphans whole, and the inventory marks them', async () => {
    await streamOf(path.join(dir, 'app.db'));
    await streamOf(path.join(dir, 'old.db'), 'old');
    // `old` lost its `continuous`: its stream is an orphan.
    const config = configWith({ app: { continuous: { retention: '5s' } }, old: {} });
    const inventory = await storedStreams(repo, config);
    expect(inventory.map((s) => [s.source, s.configured])).toEqual([
      ['app', true],
      ['old', false],
    ]);
    clock += 3600_000; // every point of app's stream is now older than its window, except the newest full copy's
    const planned = await forgetStreams(repo, config, { dryRun: true, now });
    const app = planned.find((d) => d.source === 'app')!;
    const old = planned.find((d) => d.source === 'old')!;
    expect(old).toMatchObject({ rule: 'orphan', remove: 0 });
    expect(app.rule).toBe('window');
    const before = (await storedStreams(repo, config)).map((s) => s.objects);
    expect((await storedStreams(repo, config)).map((s) => s.objects)).toEqual(before); // dry run: nothing removed
    await forgetStreams(repo, config, { now });
    const after = await storedStreams(repo, config);
    expect(after.find((s) => s.source === 'old')!.objects).toBe(before[1]);
    expect(after.find((s) => s.source === 'app')!.objects).toBe(before[0]! - app.remove);
    // What is kept still restores the newest state.
    const restored = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'after.db') });
    expect(seqs(restored.file)).toEqual(range(1, 55));
  });
});
