/**
 * MySQL / MariaDB: mariadb-dump (or mysqldump) --single-transaction streamed
 * into the repository with rows counted from the stream; restored with the
 * mariadb (or mysql) client into a named database and measured again.
 *
 * @module
 */

import type { SourceDriver } from '../contract.js';
import { backsUpServer } from '../all-databases.js';
import { captureMysql, newestValue } from './capture.js';
import { captureMysqlServer } from './server.js';
import { connect, mysqlError } from './connection.js';
import { rowCounts, schemaHash } from './measure.js';
import { recordOf, restoreMysql, restoreServer } from './restore.js';
import { discardMysql, mysqlScratch } from './scratch.js';

export const mysqlSource: SourceDriver<'mysql'> = {
  type: 'mysql',
  verifiedFields: ['tables', 'schemaHash'],
  // A URL without a database: every (selected) database of the server.
  capture: (config, ctx) => (backsUpServer(config) ? captureMysqlServer(config, ctx) : captureMysql(config, ctx)),
  restore: restoreMysql,
  scratchTarget: mysqlScratch,
  discard: discardMysql,

  async inspect(restored, ctx) {
    const server = { ...(await restoreServer(ctx)), database: String(restored.details.database) };
    const client = await connect(server);
    try {
      // The newest recent_data value is measured for drills' RPO check, not compared: capture reads it before the dump starts.
      const recent = recordOf(ctx).recentData as { table: string; column: string } | undefined;
      return {
        tables: await rowCounts(client, server.database),
        schemaHash: await schemaHash(client, server.database),
        ...(recent ? { recentData: await newestValue(client, server.database, recent) } : {}),
      };
    } catch (err) {
      throw mysqlError(err, server);
    } finally {
      await client.end().catch(() => client.destroy());
    }
  },
};
