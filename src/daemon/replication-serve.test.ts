import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Repository } from '../repository/repository.js';
import { restoreToTime } from '../sources/sqlite/continuous/restore-point.js';
import { openStorage } from '../storage/registry.js';
import { startDaemon, type Daemon } from './daemon.js';

/** `serve` runs continuous protection of a sqlite source with `continuous`, shows it in status and /metrics, and ships what is committed when it stops. */
describe('lifeboat serve with a continuous sqlite source (in process)', () => {
  let dir: string;
  let daemon: Daemon;
  let token: string;
  const call = async (pathname: string) => {
    const res = await fetch(`${daemon.url}${pathname}`, { headers: { authorization: `Bearer ${token}` } });
    return res.text();
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-daemon-wal-'));
    writeFileSync(path.join(dir, 'repo.pass'), 'daemon wal passphrase\n', { mode: 0o600 });
    const repo = await Repository.init(
      await openStorage(path.join(dir, 'repo'), { create: true }),
      Buffer.from('daemon wal passphrase'),
    );
    await repo.close();
    const db = new Database(path.join(dir, 'app.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replicates while serving, reports lag, and stops with everything shipped', async () => {
    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  app: { type: sqlite, path: app.db, rpo: 1m, continuous: { interval: 1s } }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, { listen: '127.0.0.1:0', cacheRoot: path.join(dir, 'cache') });
    token = readFileSync(daemon.tokenFile, 'utf8').trim();
    const db = new Database(path.join(dir, 'app.db'));
    const status = path.join(dir, 'state', 'replication', 'app.json');
    // Generous: the status file appears once the replicator started and took its first full copy (a busy machine may take seconds).
    for (let i = 0; i < 600; i++) {
      try {
        readFileSync(status);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (let n = 1; n <= 50; n++) db.prepare('INSERT INTO t (n) VALUES (?)').run(n);
    let metrics = '';
    for (
      let i = 0;
      i < 300 && !/lifeboat_replication_last_shipped_timestamp_seconds\{source="app"\}/.test(metrics);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = await call('/metrics');
    }
    expect(metrics).toMatch(/lifeboat_replication_lag_seconds\{source="app"\} \d/);
    const doc = JSON.parse(await call('/api/v1/system/backup/status')) as {
      sources: Record<string, { ok: boolean; continuous?: { running: boolean; ok: boolean } }>;
    };
    expect(doc.sources.app!.continuous).toMatchObject({ running: true, ok: true });
    expect(doc.sources.app!.ok).toBe(true);
    for (let n = 51; n <= 60; n++) db.prepare('INSERT INTO t (n) VALUES (?)').run(n);
    await daemon.stop();
    db.close();
    expect(JSON.parse(readFileSync(status, 'utf8'))).toMatchObject({ running: false, unshippedCommits: 0 });
    const repo = await Repository.open(await openStorage(path.join(dir, 'repo')), {
      kind: 'password',
      password: Buffer.from('daemon wal passphrase'),
      source: 'test',
    });
    try {
      const got = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, 'restored.db') });
      expect(got.record.tables.t).toBe(60);
    } finally {
      await repo.close();
    }
  }, 120_000);
});
