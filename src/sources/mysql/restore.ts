import type mysql from 'mysql2/promise';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { feedChild } from '../child-process.js';
import type { Restored, RestoreContext, SourceRecord } from '../contract.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';
import { dumpPath } from './capture.js';
import {
  configuredConnection,
  connect,
  findTool,
  mysqlError,
  parseMysqlUrl,
  publicUrl,
  quoteIdent,
  withToolHint,
  writeDefaultsFile,
  type MysqlConnection,
} from './connection.js';

type Ctx = RestoreContext<'mysql'>;

export function recordOf(ctx: Ctx): SourceRecord {
  // Read directly: importing run-source here would make the driver registry import itself.
  const record = (ctx.snapshot.metadata as { record?: unknown } | undefined)?.record;
  return record && typeof record === 'object' ? (record as SourceRecord) : {};
}

/** The configured source's server, else the one the record names (password from MYSQL_PWD or ~/.my.cnf). */
export async function restoreServer(ctx: Ctx): Promise<MysqlConnection> {
  if (ctx.config) return configuredConnection(ctx.config);
  const url = recordOf(ctx).url;
  if (typeof url !== 'string')
    throw new LifeboatError(ErrorCode.Usage, 'the snapshot does not say which server it came from', {
      hint: 'restore with the source configured in lifeboat.yaml',
    });
  return parseMysqlUrl(url);
}

/**
 * Feed the dump to the mariadb (or mysql) client in a new database of the
 * given name. An existing database is refused, or with --force dropped and
 * created again; a failed restore drops the half-restored database.
 */
export async function restoreMysql(ctx: Ctx): Promise<Restored> {
  const target = ctx.toDatabase;
  if (!target) {
    throw new LifeboatError(
      ErrorCode.Usage,
      'a mysql snapshot is restored into a database: name it with --to-database NAME',
      {
        hint: "the database is created on the source's server; an existing one is replaced only with --force",
      },
    );
  }
  const record = recordOf(ctx);
  const server = await restoreServer(ctx);
  const dumpFile = typeof record.dump === 'string' ? record.dump : dumpPath(String(record.database ?? ''));
  const node = await snapshotFileNode(ctx.repo, ctx.snapshot, dumpFile);
  const admin = await connect(server, undefined);
  let created = false;
  try {
    if (await databaseExists(admin, target)) {
      if (!ctx.force) {
        throw new LifeboatError(
          ErrorCode.Refused,
          `database "${target}" already exists on ${server.socket ?? `${server.host}:${server.port}`}; a restore does not replace a database unless told to`,
          {
            hint: 'pass --force to drop and replace it, or restore with another --to-database name',
          },
        );
      }
      ctx.log(`dropping the existing database ${target}`);
      await admin.query(`DROP DATABASE ${quoteIdent(target)}`);
    }
    // The original database's defaults, so tables created without explicit ones come out the same.
    const word = (v: unknown) => (typeof v === 'string' && /^\w+$/.test(v) ? v : undefined);
    const charset = word(record.charset) ? ` CHARACTER SET ${word(record.charset)}` : '';
    const collation = word(record.collation) ? ` COLLATE ${word(record.collation)}` : '';
    await admin.query(`CREATE DATABASE ${quoteIdent(target)}${charset}${collation}`);
    created = true;
    const client = findTool(['mariadb', 'mysql']);
    ctx.log(`${client.split('/').pop()} into ${publicUrl(server, target)}`);
    await feedChild(
      {
        label: client.split('/').pop()!,
        command: client,
        args: [
          `--defaults-extra-file=${await writeDefaultsFile(server, ctx.tempDir)}`,
          '--batch',
          `--database=${target}`,
        ],
        env: server.password === undefined && process.env.MYSQL_PWD ? { MYSQL_PWD: process.env.MYSQL_PWD } : {},
        secrets: server.password ? [server.password] : [],
        signal: ctx.signal,
      },
      readSnapshotFile(ctx.repo, node, dumpFile),
    ).catch((err: unknown) => {
      throw withToolHint(err);
    });
  } catch (err) {
    if (created) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(target)}`).catch(() => {});
    throw mysqlError(err, { ...server, database: target });
  } finally {
    await admin.end().catch(() => admin.destroy());
  }
  const restored: MysqlConnection = { ...server, database: target };
  delete restored.password;
  return { location: publicUrl(restored), details: { ...restored } };
}

async function databaseExists(admin: mysql.Connection, name: string): Promise<boolean> {
  const [rows] = await admin.query({
    sql: 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    values: [name],
    rowsAsArray: true,
  });
  return (rows as unknown[]).length > 0;
}
