import type { SourceConfigOf } from '../../config/source-schemas.js';
import { captureServer, type ServerEngine } from '../all-databases.js';
import type { Capture, CaptureContext } from '../contract.js';
import { capturePostgres, dumpPath, globalsEntry, GLOBALS_PATH } from './capture.js';
import { configuredConnection, pgError, publicUrl, toolEnv } from './connection.js';
import { maintenanceConnection } from './restore.js';

type PostgresConfig = SourceConfigOf<'postgres'>;

/** Every database of a PostgreSQL server (the URL names none): one pg_dump each, roles and tablespaces once. */
const postgresServer: ServerEngine<PostgresConfig> = {
  kind: 'postgres',
  dumpPath,
  async listDatabases(config) {
    const conn = await configuredConnection(config);
    const admin = await maintenanceConnection(conn);
    try {
      // Templates and databases that refuse connections (template0) are not application data.
      const { rows } = await admin.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname NOT IN ('template0', 'template1') ORDER BY datname`,
      );
      return rows.map((r) => r.datname);
    } catch (err) {
      throw pgError(err, conn);
    } finally {
      await admin.end().catch(() => {});
    }
  },
  captureOne: (config, ctx) => capturePostgres({ ...config, globals: false }, ctx),
  async serverStreams(config, ctx) {
    if (config.globals === false) return { streams: [], record: { globals: null } };
    const conn = await configuredConnection(config);
    const env = await toolEnv(conn, ctx.tempDir);
    delete env.PGDATABASE;
    const stop = new AbortController();
    return {
      streams: [globalsEntry(config, conn, env, AbortSignal.any([ctx.signal, stop.signal]))],
      record: { globals: GLOBALS_PATH },
      release: async () => stop.abort(),
    };
  },
  async publicUrl(config) {
    return publicUrl(await configuredConnection(config));
  },
};

export function capturePostgresServer(config: PostgresConfig, ctx: CaptureContext): Promise<Capture> {
  return captureServer(postgresServer, config, ctx);
}
