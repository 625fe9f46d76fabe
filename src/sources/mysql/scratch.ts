import { randomBytes } from 'node:crypto';
import type { RestoreContext, RestoreTarget } from '../contract.js';
import { connect, mysqlError, quoteIdent } from './connection.js';
import { restoreServer } from './restore.js';

/** Prefix of the databases drills and `verify` restore into. */
export const SCRATCH_DATABASE_PREFIX = 'lifeboat_drill_';

export async function mysqlScratch(): Promise<RestoreTarget> {
  return { toDatabase: `${SCRATCH_DATABASE_PREFIX}${randomBytes(6).toString('hex')}` };
}

/** Drop the scratch database on the server it was restored to. */
export async function discardMysql(target: RestoreTarget, ctx: RestoreContext<'mysql'>): Promise<void> {
  if (!target.toDatabase?.startsWith(SCRATCH_DATABASE_PREFIX)) return;
  const server = await restoreServer(ctx);
  const admin = await connect(server, undefined);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(target.toDatabase)}`);
  } catch (err) {
    throw mysqlError(err, server);
  } finally {
    await admin.end().catch(() => admin.destroy());
  }
}
