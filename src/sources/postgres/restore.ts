import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { databaseRecordId, track, untrack } from '../../leftovers/track.js';
import { feedChild } from '../child-process.js';
import { isThrowawayServer } from '../throwaway-databases.js';
import type { Restored, RestoreContext, SourceRecord } from '../contract.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';
import { dumpPath, GLOBALS_PATH } from './capture.js';
import {
  configuredConnection,
  connect,
  parsePostgresUrl,
  pgError,
  pgTool,
  publicUrl,
  quoteIdent,
  toolEnv,
  withToolHint,
  type PgConnection,
} from './connection.js';

type Ctx = RestoreContext<'postgres'>;

export function recordOf(ctx: Ctx): SourceRecord {
  // Read directly: importing run-source here would make the driver registry import itself.
  const record = (ctx.snapshot.metadata as { record?: unknown } | undefined)?.record;
  return record && typeof record === 'object' ? (record as SourceRecord) : {};
}

/**
 * The server to restore to: the configured source's, else the one the record
 * names (without credentials: libpq's PGPASSWORD / ~/.pgpass then apply).
 */
export async function restoreServer(ctx: Ctx): Promise<PgConnection> {
  if (ctx.config) return configuredConnection(ctx.config);
  const url = recordOf(ctx).url;
  if (typeof url !== 'string')
    throw new LifeboatError(ErrorCode.Usage, 'the snapshot does not say which server it came from', {
      hint: 'restore with the source configured in lifeboat.yaml',
    });
  return parsePostgresUrl(url);
}

/** Record one of Lifeboat's own databases in the ledger before creating it (no password: the sweep takes it from the source). */
export async function trackPostgresDatabase(server: PgConnection, database: string, source: string): Promise<void> {
  if (isThrowawayServer(server.host)) return;
  const { host, port, user, sslmode } = server;
  await track(
    { kind: 'database', engine: 'postgres', database, server: { host, port, user, ...(sslmode ? { sslmode } : {}) } },
    { source, id: databaseRecordId('postgres', database) },
  );
}

/**
 * pg_restore into a new database of the given name. The dump is restored into
 * a temporary database first and renamed at the end, so a failed restore
 * never leaves a half-filled database under the target name, and `--force`
 * drops the existing database only once its replacement is complete.
 */
export async function restorePostgres(ctx: Ctx): Promise<Restored> {
  const target = ctx.toDatabase;
  if (!target) {
    throw new LifeboatError(
      ErrorCode.Usage,
      'a postgres snapshot is restored into a database: name it with --to-database NAME',
      {
        hint: "the database is created on the source's server; an existing one is replaced only with --force",
      },
    );
  }
  const record = recordOf(ctx);
  const server = await restoreServer(ctx);
  const dumpFile = typeof record.dump === 'string' ? record.dump : dumpPath(String(record.database ?? ''));
  const node = await snapshotFileNode(ctx.repo, ctx.snapshot, dumpFile);
  const admin = await maintenanceConnection(server);
  const temp = `lifeboat_restore_${randomBytes(6).toString('hex')}`;
  let created = false;
  try {
    if ((await databaseExists(admin, target)) && !ctx.force) throw refused(target, server);
    const ownership = await ownershipPlan(admin, record, ctx.log);
    const encoding = typeof record.encoding === 'string' ? ` ENCODING ${quoteLiteral(record.encoding)}` : '';
    await trackPostgresDatabase(server, temp, ctx.sourceName);
    await admin.query(`CREATE DATABASE ${quoteIdent(temp)} TEMPLATE template0${encoding}`);
    created = true;
    ctx.log(`pg_restore into ${publicUrl(server, target)}${ownership.length ? ` (${ownership.join(' ')})` : ''}`);
    await feedChild(
      {
        label: 'pg_restore',
        command: pgTool('pg_restore', ctx.config?.bin_dir),
        args: ['--exit-on-error', '--no-password', `--dbname=${temp}`, ...ownership],
        env: await toolEnv(server, ctx.tempDir, temp),
        secrets: server.password ? [server.password] : [],
        signal: ctx.signal,
      },
      readSnapshotFile(ctx.repo, node, dumpFile),
    ).catch((err: unknown) => {
      throw withToolHint(err, 'pg_restore');
    });
    if (await databaseExists(admin, target)) {
      if (!ctx.force) throw refused(target, server);
      await dropDatabase(admin, target);
    }
    await admin.query(`ALTER DATABASE ${quoteIdent(temp)} RENAME TO ${quoteIdent(target)}`);
    created = false;
    await untrack(databaseRecordId('postgres', temp));
  } catch (err) {
    // The staging database's record goes only once it is gone; otherwise the sweep drops it later.
    const gone =
      !created ||
      (await dropDatabase(admin, temp).then(
        () => true,
        () => false,
      ));
    if (gone) await untrack(databaseRecordId('postgres', temp)).catch(() => {});
    throw pgError(err, server);
  } finally {
    await admin.end().catch(() => {});
  }
  const restored = { ...server, database: target };
  delete restored.password;
  return { location: publicUrl(restored), details: { ...restored } };
}

function refused(target: string, server: PgConnection): LifeboatError {
  return new LifeboatError(
    ErrorCode.Refused,
    `database "${target}" already exists on ${server.host}:${server.port}; a restore does not replace a database unless told to`,
    {
      hint: 'pass --force to drop and replace it, or restore with another --to-database name',
    },
  );
}

/** A connection for CREATE/DROP/RENAME DATABASE, to a database other than the target. */
export async function maintenanceConnection(server: PgConnection): Promise<pg.Client> {
  for (const database of ['postgres', 'template1']) {
    try {
      return await connect(server, database);
    } catch (err) {
      if (!(err instanceof LifeboatError && /does not exist/.test(err.message))) throw err;
    }
  }
  return connect(server);
}

async function databaseExists(admin: pg.Client, name: string): Promise<boolean> {
  return (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount! > 0;
}

/** Close the database's sessions and drop it. */
export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  const num = Number(
    (await admin.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v,
  );
  // WITH (FORCE) (PostgreSQL 13+) also ends sessions that connected after the terminate above.
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${num >= 130000 ? ' WITH (FORCE)' : ''}`);
}

/**
 * Keep the original owners and grants when every role they name exists on
 * this server and we may assign them (superuser); otherwise the restoring
 * user owns everything, and grants to missing roles are left out.
 */
async function ownershipPlan(admin: pg.Client, record: SourceRecord, log: (line: string) => void): Promise<string[]> {
  const roles = Array.isArray(record.roles) ? (record.roles as string[]) : [];
  const { rows } = await admin.query<{ name: string; superuser: boolean }>(
    'SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
  );
  const me = rows[0]!;
  const existing = new Set(
    (await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [roles])).rows.map(
      (r) => r.rolname,
    ),
  );
  const missing = roles.filter((r) => !existing.has(r));
  const options: string[] = [];
  if (missing.length > 0) {
    log(
      `roles missing on this server: ${missing.join(', ')}; objects will be owned by ${me.name} and grants are not restored (apply ${GLOBALS_PATH} first to keep them)`,
    );
    options.push('--no-owner', '--no-privileges');
  } else if (!me.superuser && roles.some((r) => r !== me.name)) {
    log(`${me.name} is not a superuser, so it cannot give objects to their original owners; it will own them`);
    options.push('--no-owner');
  }
  return options;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
