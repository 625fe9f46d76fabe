import { randomBytes } from 'node:crypto';
import type { RestoreContext, RestoreTarget } from '../contract.js';
import { pgError } from './connection.js';
import { dropDatabase, maintenanceConnection, restoreServer } from './restore.js';

/** Prefix of the databases drills and `verify` restore into; nothing else uses it, so leftovers are easy to spot. */
export const SCRATCH_DATABASE_PREFIX = 'lifeboat_drill_';

/** A new database with a unique name on the configured server (the restore creates it; the name is never an existing one). */
export async function postgresScratch(): Promise<RestoreTarget> {
  return { toDatabase: `${SCRATCH_DATABASE_PREFIX}${randomBytes(6).toString('hex')}` };
}

/** Drop the scratch database, ending its sessions (a smoke command may still hold one). */
export async function discardPostgres(target: RestoreTarget, ctx: RestoreContext<'postgres'>): Promise<void> {
  if (!target.toDatabase?.startsWith(SCRATCH_DATABASE_PREFIX)) return;
  const server = await restoreServer(ctx);
  const admin = await maintenanceConnection(server);
  try {
    await dropDatabase(admin, target.toDatabase);
  } catch (err) {
    throw pgError(err, server);
  } finally {
    await admin.end().catch(() => {});
  }
}
