import { randomBytes } from 'node:crypto';
import { databaseRecordId, track, untrack } from '../../leftovers/track.js';
import { isThrowawayServer } from '../throwaway-databases.js';
import type { RestoreContext, RestoreTarget } from '../contract.js';
import { connect, mysqlError, quoteIdent, type MysqlConnection } from './connection.js';
import { restoreServer } from './restore.js';

/** Prefix of the databases drills and `verify` restore into. */
export const SCRATCH_DATABASE_PREFIX = 'lifeboat_drill_';

/** A new, uniquely named database, recorded in the ledger before the restore creates it. */
export async function mysqlScratch(ctx: RestoreContext<'mysql'>): Promise<RestoreTarget> {
  const name = `${SCRATCH_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  const { host, port, user, socket } = await restoreServer(ctx);
  if (!isThrowawayServer(socket))
    await track(
      {
        kind: 'database',
        engine: 'mysql',
        database: name,
        server: { host, port, user, ...(socket ? { socket } : {}) },
      },
      { source: ctx.sourceName, id: databaseRecordId('mysql', name) },
    );
  return { toDatabase: name };
}

/** Drop the scratch database on the server it was restored to. */
export async function discardMysql(target: RestoreTarget, ctx: RestoreContext<'mysql'>): Promise<void> {
  if (!target.toDatabase?.startsWith(SCRATCH_DATABASE_PREFIX)) return;
  await dropMysqlDatabase(await restoreServer(ctx), target.toDatabase);
  await untrack(databaseRecordId('mysql', target.toDatabase));
}

/** Drop a database if it exists. */
export async function dropMysqlDatabase(server: MysqlConnection, database: string): Promise<void> {
  const admin = await connect(server, undefined);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
  } catch (err) {
    throw mysqlError(err, server);
  } finally {
    await admin.end().catch(() => admin.destroy());
  }
}
