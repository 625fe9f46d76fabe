/**
 * PostgreSQL: pg_dump (custom format) streamed into the repository from an
 * exported snapshot, plus roles and tablespaces from pg_dumpall; restored with
 * pg_restore into a named database and measured the way it was recorded.
 *
 * @module
 */

import type { SourceDriver } from '../contract.js';
import { backsUpServer } from '../all-databases.js';
import { capturePostgres } from './capture.js';
import { capturePostgresServer } from './server.js';
import { connect, pgError } from './connection.js';
import { measureDatabase } from './measure.js';
import { recordOf, restorePostgres, restoreServer } from './restore.js';
import { discardPostgres, postgresScratch } from './scratch.js';

export const postgresSource: SourceDriver<'postgres'> = {
  type: 'postgres',
  verifiedFields: ['tables', 'schemaHash', 'recentData'],
  // A URL without a database: every (selected) database of the server.
  capture: (config, ctx) => (backsUpServer(config) ? capturePostgresServer(config, ctx) : capturePostgres(config, ctx)),
  restore: restorePostgres,
  scratchTarget: postgresScratch,
  discard: discardPostgres,

  async inspect(restored, ctx) {
    const server = { ...(await restoreServer(ctx)), database: String(restored.details.database) };
    const recorded = recordOf(ctx).recentData as { table: string; column: string } | undefined;
    const client = await connect(server);
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return {
        ...(await measureDatabase(client, recorded ? { table: recorded.table, column: recorded.column } : undefined)),
      };
    } catch (err) {
      throw pgError(err, server);
    } finally {
      await client.end().catch(() => {});
    }
  },
};
