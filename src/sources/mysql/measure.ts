import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { quoteIdent } from './connection.js';

/**
 * A canonical, ordered description of a database's schema from
 * information_schema: tables and their kind and engine, columns in order with
 * type, nullability, default and collation, indexes, constraints and foreign
 * keys, triggers, routines and events. The database's own name is left out
 * (a foreign key to a table of the same database is written `=`), and so are
 * values that change with use (AUTO_INCREMENT positions, sizes, times), so a
 * copy restored under another name hashes the same.
 */
export async function schemaHash(conn: mysql.Connection, database: string): Promise<string> {
  const sections: Array<[string, string]> = [
    [
      'table',
      `SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`,
    ],
    [
      'column',
      `SELECT TABLE_NAME, LPAD(ORDINAL_POSITION, 5, '0'), COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`,
    ],
    [
      'index',
      `SELECT TABLE_NAME, INDEX_NAME, LPAD(SEQ_IN_INDEX, 3, '0'), NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?`,
    ],
    [
      'constraint',
      `SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
    ],
    [
      'key',
      `SELECT TABLE_NAME, CONSTRAINT_NAME, LPAD(ORDINAL_POSITION, 3, '0'), COLUMN_NAME,
              IF(REFERENCED_TABLE_SCHEMA = TABLE_SCHEMA, '=', REFERENCED_TABLE_SCHEMA), REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
       FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ?`,
    ],
    [
      'reference',
      `SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
    ],
    [
      'trigger',
      `SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`,
    ],
    [
      'routine',
      `SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?`,
    ],
    [
      'event',
      `SELECT EVENT_NAME, EVENT_TYPE, INTERVAL_VALUE, INTERVAL_FIELD, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
    ],
  ];
  const hash = createHash('sha256');
  for (const [kind, sql] of sections) {
    const [rows] = await conn.query({ sql, values: [database], rowsAsArray: true });
    const lines = (rows as unknown[][]).map(
      (r) => `${kind} ${r.map((v) => (v === null ? '∅' : String(v))).join(' | ')}`,
    );
    // Sorted here, by code points, so the server's collation cannot change the order.
    for (const line of lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) hash.update(`${line}\n`);
  }
  return hash.digest('hex');
}

/** COUNT(*) of every base table (the restored copy's side of the row counts). */
export async function rowCounts(conn: mysql.Connection, database: string): Promise<Record<string, number>> {
  const [tables] = await conn.query({
    sql: `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    values: [database],
    rowsAsArray: true,
  });
  const counts: Record<string, number> = {};
  for (const [name] of tables as string[][]) {
    const [rows] = await conn.query({
      sql: `SELECT COUNT(*) FROM ${quoteIdent(database)}.${quoteIdent(name!)}`,
      rowsAsArray: true,
    });
    counts[name!] = Number((rows as unknown[][])[0]![0]);
  }
  return counts;
}
