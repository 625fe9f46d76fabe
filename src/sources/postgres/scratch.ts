import { randomBytes } from 'node:crypto';
import { databaseRecordId, untrack } from '../../leftovers/track.js';
import type { RestoreContext, RestoreTarget } from '../contract.js';
import { pgError, type PgConnection } from './connection.js';
import { dropDatabase, maintenanceConnection, restoreServer, trackPostgresDatabase } from './restore.js';

/** Prefix of the databases drills and `verify` restore into; nothing else uses it, so leftovers are easy to spot. */
export const SCRATCH_DATABASE_PREFIX = 'lifeboat_drill_';

/**
 * A new database with a unique name on the configured server (the restore
 * creates it; the name is never an existing one), recorded in the ledger
 * first so that a killed drill's database is dropped by the next sweep.
 */
export async function postgresScratch(ctx: RestoreContext<'postgres'>): Promise<RestoreTarget> {
  const name = `${SCRATCH_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  await trackPostgresDatabase(await restoreServer(ctx), name, ctx.sourceName);
  return { toDatabase: name };
}

/** Drop the scratch database, ending its sessions (a smoke command may still hold one), then its record. */
export async function discardPostgres(target: RestoreTarget, ctx: RestoreContext<'postgres'>): Promise<void> {
  if (!target.toDatabase?.startsWith(SCRATCH_DATABASE_PREFIX)) return;
  await dropPostgresDatabase(await restoreServer(ctx), target.toDatabase);
  await untrack(databaseRecordId('postgres', target.toDatabase));
}

/** Drop a database, ending its sessions. */
export async function dropPostgresDatabase(server: PgConnection, database: string): Promise<void> {
  const admin = await maintenanceConnection(server);
  try {
    await dropDatabase(admin, database);
  } catch (err) {
    throw pgError(err, server);
  } finally {
    await admin.end().catch(() => {});
  }
}
