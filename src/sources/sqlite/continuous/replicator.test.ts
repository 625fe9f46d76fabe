import { mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initRepo } from '../../../../test/helpers/repo-lib.js';
import { Repository } from '../../../repository/repository.js';
import { openStorage } from '../../../storage/index.js';
import { Replicator } from './replicator.js';
import { restoreToTime } from './restore-point.js';
import { listStream } from './stream-listing.js';
import { enforceStreamRetention } from './stream-retention.js';
import { appDb, insert, range, type ReplicatorOptions, seqs, testReplicator } from './testing/app-db.js';

let dir: string;
let repo: Repository;
let clock: number;
const now = () => clock;

const replicator = (file: string, extra: Partial<ReplicatorOptions> = {}) =>
  testReplicator({ path: file, repo, now }, { retentionMs: 24 * 3600_000, ...extra });

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-wal-'));
  repo = await initRepo(path.join(dir, 'repo'), 'pw');
  clock = Date.parse('2026-12-07T10:00:00Z');
});

afterEach(async () => {
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Replicator', () => {
  it('ships committed transactions and restores to the newest state and to earlier times', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    insert(db, 1, 10);
    const r = replicator(file);
    await r.start();
    clock += 1000;
    insert(db, 11, 5);
    await r.tick();
    clock += 1000;
    insert(db, 16, 5);
    await r.tick();
    await r.stop();
    db.close();
    const newest = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'newest.db') });
    expect(seqs(newest.file)).toEqual(range(1, 20));
    expect(newest.record.integrity).toBe('ok');
    const earlier = await restoreToTime(repo, {
      source: 'app',
      toFile: path.join(dir, 'earlier.db'),
      atMs: clock - 500,
    });
    expect(seqs(earlier.file)).toEqual(range(1, 15));
    const first = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'first.db'), atMs: clock - 1500 });
    expect(seqs(first.file)).toEqual(range(1, 10));
  });

  it('a restore reports its progress and stops through its signal, leaving no file behind', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    insert(db, 1, 10);
    const r = replicator(file);
    await r.start();
    for (let i = 0; i < 4; i++) {
      clock += 1000;
      insert(db, 11 + i * 5, 5);
      await r.tick();
    }
    await r.stop();
    db.close();

    const reports: Array<{ phase: string; segments: number; transactions: number }> = [];
    const whole = await restoreToTime(repo, {
      source: 'app',
      toFile: path.join(dir, 'whole.db'),
      onProgress: (p) => reports.push(p),
    });
    expect(seqs(whole.file)).toEqual(range(1, 30));
    expect(reports[0]!.phase).toBe('full-copy');
    const applied = reports.filter((p) => p.phase === 'segments');
    expect(applied.length).toBe(whole.segments);
    expect(applied.at(-1)).toMatchObject({ segments: whole.segments, transactions: whole.transactions });

    const controller = new AbortController();
    const target = path.join(dir, 'stopped.db');
    const err = await restoreToTime(repo, {
      source: 'app',
      toFile: target,
      signal: controller.signal,
      onProgress: (p) => p.phase === 'segments' && controller.abort(),
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('interrupted');
    expect(() => statSync(target)).toThrow();
    expect(() => statSync(target + '.restoring')).toThrow();
  });

  it('ships nothing while the database is idle', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    insert(db, 1, 10);
    const r = replicator(file);
    await r.start();
    const before = (await listStream(repo, r.stream)).objects;
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      await r.tick();
    }
    expect((await listStream(repo, r.stream)).objects).toBe(before);
    await r.stop();
    db.close();
  });

  it('takes over checkpoints: the log restarts, the stream continues in the same generation without a gap', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    const r = replicator(file, { checkpointBytes: 64 * 1024 });
    await r.start();
    let next = 1;
    for (let round = 0; round < 30; round++) {
      // The application's own checkpoints between its writes: without the replicator's read
      // transaction each would let the next write restart the log over frames not read yet.
      for (let k = 0; k < 3; k++) {
        insert(db, next, 10);
        next += 10;
        db.pragma('wal_checkpoint(PASSIVE)');
      }
      clock += 1000;
      await r.tick();
      await r.tick();
    }
    // The log stayed small: it restarted after each checkpoint instead of growing for ever.
    expect(statSync(file + '-wal').size).toBeLessThan(1024 * 1024);
    await r.stop();
    db.close();
    expect(r.counters.checkpoints).toBeGreaterThan(0);
    expect(r.counters.generationsStarted).toBe(1);
    const listing = await listStream(repo, r.stream);
    expect(listing.generations).toHaveLength(1);
    expect(Math.max(...listing.generations[0]!.segments.map((s) => s.index))).toBeGreaterThan(0);
    const restored = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'r.db') });
    expect(seqs(restored.file)).toEqual(range(1, next - 1));
  });

  it('a checkpoint ends with a shipment: one segment per interval while the log restarts under load', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    const r = replicator(file, { checkpointBytes: 64 * 1024 });
    await r.start();
    const objects = async () => (await listStream(repo, r.stream)).objects;
    let next = 1;
    let before = await objects();
    for (let round = 0; round < 20; round++) {
      insert(db, next, 40);
      next += 40;
      db.pragma('wal_checkpoint(PASSIVE)');
      clock += 1000;
      await r.tick();
      // Exactly one object per shipment: the frames read under the checkpoint's lock go out with it.
      const now = await objects();
      expect(now - before).toBe(1);
      before = now;
    }
    expect(r.counters.checkpoints).toBeGreaterThan(3);
    expect(r.counters.generationsStarted).toBe(1);
    await r.stop();
    db.close();
    const restored = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'all.db') });
    expect(seqs(restored.file)).toEqual(range(1, next - 1));
    expect(restored.record.integrity).toBe('ok');
  });

  it('schedules the next tick for the moment a shipment falls due', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    const r = replicator(file);
    await r.start();
    expect(r.nextDelayMs()).toBe(r.pollMs); // nothing waiting: a poll period
    clock += 1000;
    insert(db, 1, 3);
    await r.tick(); // shipped at once: the last shipment was an interval ago
    clock += 950;
    insert(db, 4, 3);
    await r.tick(); // read, not due yet
    expect(r.nextDelayMs()).toBe(50);
    clock += 50;
    await r.tick();
    expect(r.nextDelayMs()).toBe(r.pollMs);
    await r.stop();
    db.close();
  });

  it('resumes the same generation after a restart when the log still holds its last frame', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    insert(db, 1, 10);
    const r1 = replicator(file);
    await r1.start();
    clock += 1000;
    insert(db, 11, 10);
    await r1.tick();
    await r1.stop();
    insert(db, 21, 10);
    clock += 1000;
    const r2 = replicator(file);
    await r2.start();
    clock += 1000;
    await r2.tick();
    await r2.stop();
    db.close();
    expect(r2.counters.generationsStarted).toBe(0);
    const restored = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'r.db') });
    expect(seqs(restored.file)).toEqual(range(1, 30));
  });

  it('starts a new generation when the database file is replaced, and restores on both sides of the boundary', async () => {
    const file = path.join(dir, 'app.db');
    let db = appDb(file);
    insert(db, 1, 10);
    const r = replicator(file);
    await r.start();
    clock += 1000;
    insert(db, 11, 10);
    await r.tick();
    const beforeReplace = clock;
    // Replaced by hand: another database written with VACUUM INTO and renamed over it.
    const other = path.join(dir, 'other.db');
    const src = appDb(path.join(dir, 'src.db'));
    insert(src, 1000, 3);
    src.exec(`VACUUM INTO '${other}'`);
    src.close();
    db.close();
    renameSync(other, file);
    rmSync(file + '-wal', { force: true });
    rmSync(file + '-shm', { force: true });
    db = appDb(file);
    clock += 1000;
    await r.tick();
    clock += 1000;
    insert(db, 1003, 2);
    await r.tick();
    clock += 1000;
    await r.tick();
    await r.stop();
    db.close();
    expect(r.counters.generationsStarted).toBe(2);
    const old = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'old.db'), atMs: beforeReplace });
    expect(seqs(old.file)).toEqual(range(1, 20));
    const replaced = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'new.db') });
    expect(seqs(replaced.file)).toEqual(range(1000, 1004));
  });

  it('with an append key, retention removes nothing and says so once, and shipping goes on', async () => {
    await repo.addKey(Buffer.from('append password'), 'web-1', 'append');
    const appendRepo = await Repository.open(await openStorage(path.join(dir, 'repo')), {
      kind: 'password',
      password: Buffer.from('append password'),
      source: 'LIFEBOAT_PASSWORD',
    });
    expect(appendRepo.role).toBe('append');
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    const lines: string[] = [];
    const r = new Replicator({
      source: 'app',
      path: file,
      repo: appendRepo,
      intervalMs: 1000,
      snapshotEveryMs: 5_000,
      retentionMs: 5_000,
      now,
      log: (l) => lines.push(l),
    });
    await r.start();
    let next = 1;
    for (let i = 0; i < 30; i++) {
      insert(db, next, 5);
      next += 5;
      // Past the replicator's retention period twice: its retention runs, and would remove old objects.
      clock += i % 10 === 9 ? 10 * 60_000 : 1000;
      await r.tick();
    }
    await r.stop();
    db.close();
    await appendRepo.close();
    expect(lines.filter((l) => l.includes('role is append'))).toHaveLength(1);
    expect(seqs((await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'all.db') })).file)).toEqual(
      range(1, next - 1),
    );
    // There was something an admin's retention removes: the append key left it.
    expect(await enforceStreamRetention(repo, r.stream, clock - 5_000)).toBeGreaterThan(0);
  });

  it('retention keeps the newest full copy before the window and everything after it', async () => {
    const file = path.join(dir, 'app.db');
    const db = appDb(file);
    const r = replicator(file, { snapshotEveryMs: 10_000 });
    await r.start();
    let next = 1;
    for (let i = 0; i < 40; i++) {
      insert(db, next, 5);
      next += 5;
      clock += 1000;
      await r.tick();
    }
    await r.stop();
    db.close();
    const cutoff = clock - 15_000;
    const removed = await enforceStreamRetention(repo, r.stream, cutoff);
    expect(removed).toBeGreaterThan(0);
    // Every second inside the window still restores exactly.
    for (let t = cutoff; t <= clock; t += 1000) {
      const got = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, `w${t}.db`), atMs: t });
      const expected = Math.floor((t - Date.parse('2026-12-07T10:00:00Z')) / 1000) * 5;
      expect(got.record.integrity).toBe('ok');
      expect(seqs(got.file)).toEqual(range(1, expected));
    }
    await expect(
      restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'gone.db'), atMs: cutoff - 6000 }),
    ).rejects.toThrow(/no state at or before/);
  });
});
