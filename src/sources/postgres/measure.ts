/**
 * What capture records and inspect measures, with the same queries on both
 * sides: row count per table, a schema hash and the newest value of the
 * configured timestamp column. Capture runs this inside the transaction whose
 * snapshot pg_dump uses, so the figures describe exactly what was dumped.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent } from './connection.js';

const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

export interface RecentData {
  table: string;
  column: string;
  /** The newest value as JSON renders it (ISO 8601 for dates and timestamps, in UTC), null for an empty table. */
  newest: string | null;
}

export interface PgMeasurement {
  tables: Record<string, number>;
  schemaHash: string;
  recentData?: RecentData;
}

export async function measureDatabase(
  client: pg.Client,
  recent?: { table: string; column: string },
): Promise<PgMeasurement> {
  const tables = await rowCounts(client);
  const schemaHash = createHash('sha256')
    .update((await schemaDescription(client)).join('\n'))
    .digest('hex');
  return { tables, schemaHash, ...(recent ? { recentData: await newestValue(client, recent) } : {}) };
}

async function rowCounts(client: pg.Client): Promise<Record<string, number>> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND ${USER_SCHEMA}`,
  );
  const counts: Record<string, number> = {};
  for (const { schema, name } of sortBy(rows, (r) => `${r.schema}\0${r.name}`)) {
    const { rows: n } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${quoteIdent(schema)}.${quoteIdent(name)}`,
    );
    counts[`${schema}.${name}`] = Number(n[0]!.n);
  }
  return counts;
}

/** "schema.table" or "table" (in the search path's first schema, as PostgreSQL resolves it). */
export async function newestValue(client: pg.Client, recent: { table: string; column: string }): Promise<RecentData> {
  const dot = recent.table.indexOf('.');
  const table =
    dot > 0
      ? `${quoteIdent(recent.table.slice(0, dot))}.${quoteIdent(recent.table.slice(dot + 1))}`
      : quoteIdent(recent.table);
  // to_json renders timestamps as ISO 8601 with microseconds; the session runs in UTC (see connect options).
  const { rows } = await client.query<{ newest: string | null }>(
    `SELECT to_json(max(${quoteIdent(recent.column)})) #>> '{}' AS newest FROM ${table}`,
  );
  return { table: recent.table, column: recent.column, newest: rows[0]?.newest ?? null };
}

/**
 * A canonical, ordered description of the schema from the catalog: relations,
 * columns (in order), types, nullability, defaults, constraints, indexes,
 * views, triggers and functions. Nothing that a restore legitimately changes
 * (OIDs, attribute numbers after dropped columns, owners, sequence positions)
 * is part of it, so it comes out identical when measured on a restored copy.
 */
export async function schemaDescription(client: pg.Client): Promise<string[]> {
  const q = async (sql: string) =>
    (await client.query<Record<string, unknown>>(sql)).rows.map((r) =>
      Object.values(r)
        .map((v) => (v === null ? '∅' : String(v)))
        .join(' | '),
    );
  const rel = `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}`;
  const sections: Array<[string, string]> = [
    [
      'relation',
      `SELECT n.nspname, c.relname, c.relkind, c.relpersistence ${rel} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')`,
    ],
    [
      'column',
      `SELECT n.nspname, c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS position, a.attname,
              format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, co.collname
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
       WHERE ${USER_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped`,
    ],
    [
      'constraint',
      `SELECT n.nspname, c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid, true) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}`,
    ],
    [
      'index',
      `SELECT n.nspname, c.relname, i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}`,
    ],
    ['view', `SELECT n.nspname, c.relname, pg_get_viewdef(c.oid, true) ${rel} AND c.relkind IN ('v', 'm')`],
    [
      'trigger',
      `SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid, true) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA} AND NOT t.tgisinternal`,
    ],
    [
      'function',
      `SELECT n.nspname, p.proname, p.prokind, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA}`,
    ],
    ['schema', `SELECT n.nspname FROM pg_namespace n WHERE ${USER_SCHEMA}`],
  ];
  const lines: string[] = [];
  // Sorted here, by code points, so the server's collation cannot change the order.
  for (const [kind, sql] of sections) lines.push(...sortBy(await q(sql), (l) => l).map((l) => `${kind} ${l}`));
  return lines;
}

/** Roles that own or are granted something in the database: restore keeps ownership only when all exist. */
export async function referencedRoles(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ rolname: string }>(
    `SELECT r.rolname FROM pg_roles r WHERE r.oid IN (
       SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}
       UNION SELECT (aclexplode(c.relacl)).grantee FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA} AND c.relacl IS NOT NULL
       UNION SELECT n.nspowner FROM pg_namespace n WHERE ${USER_SCHEMA}
       UNION SELECT (aclexplode(n.nspacl)).grantee FROM pg_namespace n WHERE ${USER_SCHEMA} AND n.nspacl IS NOT NULL
       UNION SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA}
       UNION SELECT (aclexplode(p.proacl)).grantee FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA} AND p.proacl IS NOT NULL
       UNION SELECT t.typowner FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_SCHEMA}
       UNION SELECT d.defaclrole FROM pg_default_acl d
       UNION SELECT (aclexplode(d.defaclacl)).grantee FROM pg_default_acl d)`,
  );
  return rows.map((r) => r.rolname).sort();
}

function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, k: key(item) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.item);
}
