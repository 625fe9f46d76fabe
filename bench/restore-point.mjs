#!/usr/bin/env node
/**
 * Restore time to a point in time for a 200 MB SQLite database with a long
 * stream of WAL segments (figure in docs/performance.md). Synthesised, with
 * the built Lifeboat (`dist/`): a database of --mb MB of incompressible rows,
 * one full copy, then --hours of shipments at one segment per second (the
 * replicator driven with a simulated clock, --tx small transactions a
 * segment), into a local repository. Then it times restores: to the newest
 * point (every segment after the full copy applied) and to the middle.
 *
 * With the default `snapshot_every: 6h` a restore anywhere in a 24 h window
 * starts from a full copy at most 6 h older than its point, so `--hours 6`
 * (the default) is the worst case of a 24 h window.
 *
 *   npx tsc -p tsconfig.build.json && node bench/restore-point.mjs [--mb 200] [--hours 6] [--tx 5]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MB = arg('mb', 200);
const HOURS = arg('hours', 6);
const TX = arg('tx', 5);

const { openStorage, Repository, restoreToTime } = await import(path.join(root, 'dist/index.js'));
const { Replicator } = await import(path.join(root, 'dist/sources/sqlite/continuous/replicator.js'));
const Database = createRequire(import.meta.url)('better-sqlite3');

const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-bench-pitr-'));
try {
  const repo = await Repository.init(await openStorage(path.join(dir, 'repo'), { create: true }), Buffer.from('bench'));
  const file = path.join(dir, 'app.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 1000');
  db.exec(
    'CREATE TABLE bulk (id INTEGER PRIMARY KEY, data BLOB); CREATE TABLE seq (n INTEGER PRIMARY KEY, at INTEGER, pad TEXT)',
  );
  const bulk = db.prepare('INSERT INTO bulk (data) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < MB * 1000; i++) bulk.run(randomBytes(1000));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');

  let clock = Date.parse('2026-12-07T00:00:00Z');
  const r = new Replicator({
    source: 'app',
    path: file,
    repo,
    intervalMs: 1000,
    snapshotEveryMs: 1000 * 3600 * 1000, // one full copy only: every point is reached from it
    retentionMs: 48 * 3600_000,
    now: () => clock,
  });
  const t0 = Date.now();
  await r.start();
  const fullCopyMs = Date.now() - t0;
  const insert = db.prepare('INSERT INTO seq (n, at, pad) VALUES (?, ?, ?)');
  const seconds = Math.round(HOURS * 3600);
  const startMs = clock;
  let n = 0;
  const t1 = Date.now();
  for (let s = 0; s < seconds; s++) {
    for (let k = 0; k < TX; k++) insert.run(++n, clock, 'p'.repeat(40));
    clock += 1000;
    await r.tick();
  }
  await r.stop();
  db.close();
  const shipMs = Date.now() - t1;

  const timed = async (name, atMs) => {
    const t = Date.now();
    const out = await restoreToTime(repo, { source: 'app', toFile: path.join(dir, `${name}.db`), atMs });
    return {
      ms: Date.now() - t,
      segments: out.segments,
      transactions: out.transactions,
      integrity: out.record.integrity,
      bytes: out.record.pageCount * out.record.pageSize,
    };
  };
  const newest = await timed('newest', undefined);
  const middle = await timed('middle', startMs + (seconds * 1000) / 2);
  await repo.close();
  console.log(
    JSON.stringify({
      databaseMB: MB,
      hoursOfSegments: HOURS,
      transactions: n,
      objects: r.counters.objectsWritten,
      storedMB: Math.round(r.counters.bytesWritten / 1e6),
      fullCopyMs,
      synthesiseMs: shipMs,
      restoreNewest: newest,
      restoreMiddle: middle,
      loadAverage: os.loadavg()[0],
      cores: os.cpus().length,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
