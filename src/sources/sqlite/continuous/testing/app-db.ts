/**
 * The application database the continuous-replication tests write to: a real
 * SQLite file in WAL mode whose log is never checkpointed behind the
 * replicator's back, rows numbered by `seq` with payloads of varying size, and
 * a replicator over it with the tests' usual settings. For tests only.
 *
 * @module
 */

import Database from 'better-sqlite3';
import { Replicator } from '../replicator.js';

export type ReplicatorOptions = ConstructorParameters<typeof Replicator>[0];

/** Open (creating when needed) the application database with table `t`. */
export function appDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, payload TEXT)');
  return db;
}

/** Insert rows `from` … `from + count - 1`, one transaction each. */
export function insert(db: Database.Database, from: number, count: number): void {
  const stmt = db.prepare('INSERT INTO t (seq, payload) VALUES (?, ?)');
  for (let i = from; i < from + count; i++) stmt.run(i, 'x'.repeat(100 + (i % 50)));
}

/** The row numbers a database file (such as a restored copy) holds, in order. */
export function seqs(file: string): number[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT seq FROM t ORDER BY seq').all() as Array<{ seq: number }>).map((r) => r.seq);
  } finally {
    db.close();
  }
}

/** The whole numbers from `a` to `b`, both included. */
export const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** A replicator of source `app` polling every second, a full copy an hour, an hour's retention, unless `overrides` say otherwise. */
export function testReplicator(
  base: Pick<ReplicatorOptions, 'path' | 'repo' | 'now'>,
  overrides: Partial<ReplicatorOptions> = {},
): Replicator {
  return new Replicator({
    source: 'app',
    intervalMs: 1000,
    snapshotEveryMs: 3600_000,
    retentionMs: 3600_000,
    ...base,
    ...overrides,
  });
}
