import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initRepo } from '../../test/helpers/repo-lib.js';
import type { Repository } from '../repository/repository.js';
import { Replicator } from '../sources/sqlite/continuous/replicator.js';
import { drillContinuous } from './continuous-drill.js';

let dir: string;
let repo: Repository;
beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-drill-wal-'));
  repo = await initRepo(path.join(dir, 'repo'), 'pw');
});
afterEach(async () => {
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('drill of a continuous source', () => {
  it('restores a random point of the stream, checks it, and reports RPO as now minus the newest shipped transaction', async () => {
    let clock = Date.parse('2026-12-07T10:00:00Z');
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    const r = new Replicator({
      source: 'app',
      path: file,
      repo,
      intervalMs: 1000,
      snapshotEveryMs: 3600_000,
      retentionMs: 86_400_000,
      now: () => clock,
    });
    await r.start();
    for (let i = 1; i <= 10; i++) {
      db.prepare('INSERT INTO t (n) VALUES (?)').run(i);
      clock += 1000;
      await r.tick();
    }
    await r.stop();
    db.close();
    const newestShipped = clock;
    const at = (fraction: number, rpoSeconds: number) =>
      drillContinuous(repo, {
        source: 'app',
        rpoSeconds,
        rtoSeconds: null,
        random: () => fraction,
        now: () => newestShipped + 30_000,
        tempBase: dir,
      });
    const mid = await at(0.5, 60);
    expect(mid.verdict).toBe('PASS');
    expect(mid.integrity).toBe('ok');
    expect(mid.tables.t).toBe(5);
    expect(mid.rpo).toMatchObject({ measuredSeconds: 30, ok: true });
    const late = await at(1, 10);
    expect(late.verdict).toBe('FAIL');
    expect(late.tables.t).toBe(10);
    expect(late.reasons[0]).toMatch(/30s old, past the RPO of 10s/);
  });
});

describe("the source's configured checks on the restored point", () => {
  /** Ten transactions, one a second, each a row whose created_at is its own time; returns the newest shipped time. */
  async function stream(opts: { futureRowAt?: number } = {}): Promise<number> {
    let clock = Date.parse('2026-12-07T10:00:00Z');
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE events (n INTEGER PRIMARY KEY, created_at TEXT NOT NULL)');
    const r = new Replicator({
      source: 'app',
      path: file,
      repo,
      intervalMs: 1000,
      snapshotEveryMs: 3600_000,
      retentionMs: 86_400_000,
      now: () => clock,
    });
    await r.start();
    for (let i = 1; i <= 10; i++) {
      // A row stamped an hour ahead (an application clock gone wrong) in transaction futureRowAt.
      const stamp = i === opts.futureRowAt ? clock + 3600_000 : clock;
      db.prepare('INSERT INTO events (n, created_at) VALUES (?, ?)').run(i, new Date(stamp).toISOString());
      clock += 1000;
      await r.tick();
    }
    await r.stop();
    db.close();
    return clock;
  }
  const drill = (
    newest: number,
    fraction: number,
    extra: { smoke?: string; recentData?: { table: string; column: string } },
  ) =>
    drillContinuous(repo, {
      source: 'app',
      rpoSeconds: null,
      rtoSeconds: null,
      random: () => fraction,
      now: () => newest + 5000,
      tempBase: dir,
      ...extra,
    });
  const recentData = { table: 'events', column: 'created_at' };

  it('runs the smoke command against the restored file with LIFEBOAT_DRILL_FILE, and checks recent data against the point', async () => {
    const newest = await stream();
    // A real shell command that reads the restored file: its header and the source name it is given.
    const smoke =
      '[ "$LIFEBOAT_DRILL_SOURCE" = app ] && [ "$(head -c 15 "$LIFEBOAT_DRILL_FILE")" = "SQLite format 3" ] && echo "usable: $LIFEBOAT_DRILL_FILE"';
    const d = await drill(newest, 0.5, { smoke, recentData });
    expect(d.verdict, d.reasons.join('\n')).toBe('PASS');
    expect(d.tables.events).toBe(5);
    expect(d.smoke).toMatchObject({ command: smoke, ok: true, exitCode: 0 });
    expect(d.smoke!.output).toMatch(/usable: .*drill\.db/);
    // Transaction 5 committed at 10:00:05 and wrote the row stamped 10:00:04.
    expect(d.checks).toEqual([
      expect.objectContaining({ name: 'recent data', ok: true, actual: '2026-12-07T10:00:04.000Z' }),
    ]);
    expect(d.checks[0]!.detail).toMatch(/^1s before the restored commit/);
  });

  it('fails with the reasons when the smoke command fails, and when the copy holds data newer than its point', async () => {
    const newest = await stream({ futureRowAt: 3 });
    const d = await drill(newest, 0.5, {
      smoke: 'echo "no orders table in $LIFEBOAT_DRILL_FILE" >&2; exit 3',
      recentData,
    });
    expect(d.verdict).toBe('FAIL');
    expect(d.smoke).toMatchObject({ ok: false, exitCode: 3 });
    expect(d.reasons).toEqual([
      // The row of transaction 3 is stamped 11:00:02; the point holds the commit of 10:00:05.
      expect.stringMatching(/^recent data: 59m 57s after the restored commit/),
      expect.stringMatching(/^smoke command failed \(exit 3\): .*no orders table/),
    ]);
  });

  it('fails when the recent_data table is empty or missing at the point restored to', async () => {
    const newest = await stream();
    const missing = await drill(newest, 0.5, { recentData: { table: 'orders', column: 'created_at' } });
    expect(missing.verdict).toBe('FAIL');
    expect(missing.reasons[0]).toMatch(/recent data: could not read orders\.created_at: no such table: orders/);
    expect(missing.smoke).toBeNull();
    // Point 0: the full copy taken at start, before any row was written.
    const empty = await drill(newest, 0, { recentData });
    expect(empty.tables.events).toBe(0);
    expect(empty.reasons).toEqual(['recent data: the table is empty at this point']);
  });
});
