import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { SourceRecord } from '../contract.js';

/**
 * What is recorded about a SQLite database, measured the same way on the
 * consistent copy at backup time and on a restored file afterwards.
 */
export interface SqliteRecord extends SourceRecord {
  integrity: string;
  tables: Record<string, number>;
  schemaHash: string;
  pageSize: number;
  pageCount: number;
  sqliteVersion: string;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function measureSqlite(file: string): SqliteRecord {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const integrityRows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    const integrity = integrityRows.map((r) => r.integrity_check).join('; ');
    const schema = db
      .prepare(`SELECT type, name, tbl_name, COALESCE(sql, '') AS sql FROM sqlite_schema ORDER BY type, name`)
      .all() as Array<{ type: string; name: string; tbl_name: string; sql: string }>;
    const tables: Record<string, number> = {};
    for (const t of schema.filter((s) => s.type === 'table' && !s.name.startsWith('sqlite_'))) {
      tables[t.name] = (db.prepare(`SELECT count(*) AS n FROM ${quote(t.name)}`).get() as { n: number }).n;
    }
    const schemaHash = createHash('sha256')
      .update(schema.map((s) => [s.type, s.name, s.tbl_name, s.sql].join('\u0000')).join('\u0001'))
      .digest('hex');
    return {
      integrity,
      tables,
      schemaHash,
      pageSize: db.pragma('page_size', { simple: true }) as number,
      pageCount: db.pragma('page_count', { simple: true }) as number,
      sqliteVersion: (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
    };
  } finally {
    db.close();
  }
}
