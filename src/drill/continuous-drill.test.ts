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
