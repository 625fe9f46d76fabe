import type { SourceConfigOf } from '../../config/source-schemas.js';
import { captureServer, type ServerEngine } from '../all-databases.js';
import type { Capture, CaptureContext } from '../contract.js';
import { captureMysql, dumpPath } from './capture.js';
import { configuredConnection, connect, mysqlError, publicUrl } from './connection.js';

type MysqlConfig = SourceConfigOf<'mysql'>;

/** The server's own databases: not application data, and `mysql` (users, grants) is not restored into another server's. */
const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema', 'mysql', 'sys']);

/** Every database of a MySQL/MariaDB server (the URL names none): one dump each. */
const mysqlServer: ServerEngine<MysqlConfig> = {
  kind: 'mysql',
  dumpPath,
  async listDatabases(config) {
    const conn = await configuredConnection(config);
    const client = await connect(conn, undefined);
    try {
      const [rows] = await client.query({ sql: 'SHOW DATABASES', rowsAsArray: true });
      return (rows as unknown[][]).map((r) => String(r[0])).filter((name) => !SYSTEM_DATABASES.has(name));
    } catch (err) {
      throw mysqlError(err, conn);
    } finally {
      await client.end().catch(() => client.destroy());
    }
  },
  captureOne: captureMysql,
  async publicUrl(config) {
    return publicUrl(await configuredConnection(config));
  },
};

export function captureMysqlServer(config: MysqlConfig, ctx: CaptureContext): Promise<Capture> {
  return captureServer(mysqlServer, config, ctx);
}
