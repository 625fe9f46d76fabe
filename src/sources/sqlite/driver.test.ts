import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { startSqliteWriter } from '../../../test/helpers/sqlite-writer.js';
import { backupSource, restoreSource } from '../run-source.js';
import { describeSourceConformance } from '../testing/source-suite.js';

function createAppDatabase(file: string, journalMode: 'wal' | 'delete'): void {
  const db = new Database(file);
  db.pragma(`journal_mode = ${journalMode}`);
  db.exec(`
    CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance INTEGER NOT NULL);
    CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, payload TEXT, created_at TEXT);
    CREATE INDEX events_created ON events(created_at);
  `);
  const add = db.prepare('INSERT INTO accounts (name, balance) VALUES (?, ?)');
  const ev = db.prepare('INSERT INTO events (kind, payload, created_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 500; i++) add.run(`account-${i}`, i * 10);
    for (let i = 0; i < 20_000; i++)
      ev.run('seed', 'p'.repeat(100 + (i % 300)), new Date(Date.now() - i * 1000).toISOString());
  })();
  db.close();
}

for (const mode of ['wal', 'delete'] as const) {
  describeSourceConformance(
    'sqlite',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), `lifeboat-sqlite-${mode}-`));
      const file = path.join(dir, 'app.db');
      createAppDatabase(file, mode);
      let n = 0;
      return {
        config: { type: 'sqlite', path: file },
        secrets: [],
        startWriter: async () => {
          const writer = await startSqliteWriter(file, 500);
          await new Promise((r) => setTimeout(r, 200)); // let it write before the copy starts
          return async () => {
            expect(await writer.stop(), 'the application kept writing').toBeGreaterThan(50);
          };
        },
        restoreTarget: async () => ({ toFile: path.join(dir, `restored-${++n}.db`) }),
        unreachable: { type: 'sqlite', path: path.join(dir, 'missing', 'nothing.db') },
        recordedFields: ['integrity', 'tables', 'schemaHash', 'pageSize', 'journalMode'],
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
    { label: mode === 'wal' ? 'WAL' : 'rollback journal' },
  );
}

describe('sqlite source', () => {
  let work: string;
  let repo: Repository;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sqlite-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  });
  afterAll(async () => {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  });

  it('records row counts that match the copy taken, while the application writes', async () => {
    const file = path.join(work, 'busy.db');
    createAppDatabase(file, 'wal');
    const writer = await startSqliteWriter(file, 800);
    await new Promise((r) => setTimeout(r, 300));
    const { snapshot, record } = await backupSource(repo, 'busy', { type: 'sqlite', path: file });
    const written = await writer.stop();
    const tables = record.tables as Record<string, number>;
    expect(tables.accounts).toBe(500);
    expect(tables.events).toBeGreaterThan(20_000);
    expect(tables.events).toBeLessThanOrEqual(20_000 + written);
    const out = path.join(work, 'busy-restored.db');
    await restoreSource(repo, snapshot, { toFile: out });
    // An independent reader agrees: the sqlite3 CLI.
    const cli = spawnSync('sqlite3', [out, 'PRAGMA integrity_check; SELECT count(*) FROM events;'], {
      encoding: 'utf8',
    });
    expect(cli.stdout.trim().split('\n')).toEqual(['ok', String(tables.events)]);
  });

  it('stores the database under its own path in the snapshot', async () => {
    const file = path.join(work, 'layout.db');
    createAppDatabase(file, 'delete');
    const { snapshot } = await backupSource(repo, 'layout', { type: 'sqlite', path: file });
    expect(snapshot.paths).toEqual([file]);
  });

  it('refuses a file that is not a SQLite database', async () => {
    const file = path.join(work, 'not-a-db.db');
    await writeFile(file, 'this is not sqlite'.repeat(100));
    await expectCode(backupSource(repo, 'bogus', { type: 'sqlite', path: file }), ErrorCode.SourceFailed);
  });

  it('removes a stale WAL beside the target when forced to replace it', async () => {
    const file = path.join(work, 'replace.db');
    createAppDatabase(file, 'wal');
    const { snapshot } = await backupSource(repo, 'replace', { type: 'sqlite', path: file });
    // The old database beside the target has a valid WAL of its own, with changes not yet checkpointed.
    const target = path.join(work, 'replace-target.db');
    createAppDatabase(target, 'wal');
    const old = new Database(target);
    old.pragma('wal_autocheckpoint = 0');
    old.exec('DELETE FROM events WHERE id % 2 = 0; DROP TABLE accounts;');
    const wal = await readFile(target + '-wal');
    old.close(); // checkpoints and removes the WAL; put it back as a crashed application would leave it
    await writeFile(target + '-wal', wal);
    const result = await restoreSource(repo, snapshot, { toFile: target, force: true });
    expect(result.checks.every((c) => c.ok)).toBe(true);
  });
});
