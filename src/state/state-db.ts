import path from 'node:path';
import Database from 'better-sqlite3';
import { makeDirectoriesSync } from '../util/make-dirs.js';

/** The file under the state directory that holds the run history and alert state. */
export const STATE_DB_FILE = 'state.db';

/**
 * Open `<stateDir>/state.db` with the settings every user of it relies on:
 * the directory made private (0700), write-ahead logging so the daemon and a
 * CLI run can read while the other writes, and a 10 s wait on a busy database
 * instead of failing at once. `schema` (idempotent `CREATE … IF NOT EXISTS`)
 * is applied before the handle is returned.
 */
export function openStateDb(stateDir: string, schema: string): Database.Database {
  makeDirectoriesSync(stateDir, 0o700);
  const db = new Database(path.join(stateDir, STATE_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 10000');
  db.exec(schema);
  return db;
}
