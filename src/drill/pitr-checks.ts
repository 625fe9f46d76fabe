/**
 * The recorded checks of a point-in-time drill, run on the recovered,
 * promoted throwaway server. Row counts and the schema hash recorded with a
 * logical dump describe the moment of that dump, not a random later point, so
 * they are not compared here. What holds at any point is checked instead: the
 * facts recorded with the base backup (the cluster's system identifier, its
 * major version, the timeline recovery followed) and the source's
 * `recent_data` judged against the recovery target.
 *
 * @module
 */

import type pg from 'pg';
import type { PgConnection } from '../sources/postgres/connection.js';
import { connect } from '../sources/postgres/connection.js';
import { newestValue } from '../sources/postgres/measure.js';
import type { BaseBackupRecord } from '../sources/postgres/pitr/catalog.js';
import { judgeRecentAtPoint } from './point-recent-data.js';
import type { DrillCheckShape } from './report-shape.js';

const major = (versionNum: number) => Math.floor(versionNum / 10000);

/**
 * The role to check and smoke-test as: the cluster's bootstrap superuser
 * (OID 10), found by connecting as the source's user, which exists in every
 * copy of its cluster.
 */
export async function bootstrapSuperuser(server: PgConnection): Promise<string> {
  const client = await connect(server);
  try {
    return (await client.query<{ name: string }>('SELECT rolname AS name FROM pg_roles WHERE oid = 10')).rows[0]!.name;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The checks on the recovered server; a query that fails is a failed check with its message, never skipped. */
export async function recoveredServerChecks(
  server: PgConnection,
  o: {
    base: BaseBackupRecord;
    /** The timeline recovery ended on; promotion then writes on the next one. */
    timeline: number;
    pointMs: number;
    recentData?: { table: string; column: string };
  },
): Promise<DrillCheckShape[]> {
  const checks: DrillCheckShape[] = [];
  let client: pg.Client | undefined;
  try {
    client = await connect(server);
    const one = async (sql: string) => (await client!.query<{ v: string }>(sql)).rows[0]?.v;
    const system = await one('SELECT system_identifier::text AS v FROM pg_control_system()');
    checks.push({
      name: 'system identifier',
      ok: system === o.base.systemIdentifier,
      expected: o.base.systemIdentifier,
      actual: system,
      detail: 'recorded with the base backup: the copy is of the same cluster',
    });
    const version = Number(await one(`SELECT current_setting('server_version_num') AS v`));
    checks.push({
      name: 'major version',
      ok: major(version) === major(o.base.serverVersionNum),
      expected: major(o.base.serverVersionNum),
      actual: major(version),
    });
    const wal = await one('SELECT pg_walfile_name(pg_current_wal_lsn()) AS v');
    const writing = wal ? parseInt(wal.slice(0, 8), 16) : null;
    checks.push({
      name: 'timeline',
      ok: writing === o.timeline + 1 && o.timeline >= o.base.timeline,
      expected: `recovery follows timeline ${o.timeline} from the base backup's ${o.base.timeline}, the promoted copy writes on ${o.timeline + 1}`,
      actual: writing === null ? null : `writes on timeline ${writing}`,
    });
    if (o.recentData) {
      let newest: unknown;
      try {
        newest = (await newestValue(client, o.recentData)).newest;
      } catch (err) {
        checks.push({
          name: 'recent data',
          ok: false,
          expected: `the newest ${o.recentData.table}.${o.recentData.column}`,
          actual: null,
          detail: `could not read it: ${(err as Error).message}`,
        });
        return checks;
      }
      checks.push(judgeRecentAtPoint(o.recentData, newest, o.pointMs, 'the recovery target'));
    }
  } catch (err) {
    checks.push({
      name: 'recovered server',
      ok: false,
      expected: 'queries answered',
      actual: 'failed',
      detail: (err as Error).message,
    });
  } finally {
    await client?.end().catch(() => {});
  }
  return checks;
}
