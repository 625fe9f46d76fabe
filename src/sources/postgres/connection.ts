import path from 'node:path';
import pg from 'pg';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { readSecretFile, writeCredentialFile } from '../secret-file.js';
import { parseDatabaseUrl } from '../database-url.js';

/** Where a PostgreSQL database is, without credentials (safe to log and record). */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  sslmode?: string;
}

export interface PgConnection extends PgTarget {
  password?: string;
}

/** postgres://user[:password]@host[:port]/database[?sslmode=…]; a host may be a socket directory (%2Frun%2Fpostgresql). */
export function parsePostgresUrl(url: string): PgConnection {
  const { params, ...parts } = parseDatabaseUrl(url, 'postgres', { host: 'localhost', port: 5432, user: 'postgres' });
  const sslmode = params.get('sslmode');
  return { ...parts, ...(sslmode ? { sslmode } : {}) };
}

/** The URL of a target without any password, for messages and the record. */
export function publicUrl(t: PgTarget, database = t.database): string {
  const host = t.host.startsWith('/') ? encodeURIComponent(t.host) : t.host.includes(':') ? `[${t.host}]` : t.host;
  return `postgres://${encodeURIComponent(t.user)}@${host}:${t.port}/${encodeURIComponent(database)}${t.sslmode ? `?sslmode=${t.sslmode}` : ''}`;
}

/** The connection of a configured source: the URL, and the password from `password_file` (or the URL). */
export async function configuredConnection(config: { url: string; password_file?: string }): Promise<PgConnection> {
  const conn = parsePostgresUrl(config.url);
  if (config.password_file) conn.password = await readSecretFile(config.password_file, 'postgres password');
  return conn;
}

/**
 * The environment for pg_dump, pg_dumpall and pg_restore: connection settings
 * as PG* variables, and the password in a 0600 password file inside the
 * private temp directory (never argv). Without a password, libpq's own
 * PGPASSWORD / ~/.pgpass apply.
 */
export async function toolEnv(
  conn: PgConnection,
  tempDir: string,
  database = conn.database,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PGHOST: conn.host,
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    PGDATABASE: database,
    PGAPPNAME: 'lifeboat',
    PGCONNECT_TIMEOUT: '15',
  };
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  if (conn.password !== undefined) {
    const escaped = conn.password.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
    env.PGPASSFILE = await writeCredentialFile(tempDir, 'pgpass', `*:*:*:*:${escaped}\n`);
  }
  return env;
}

/** Open a client, turning connection failures into SourceFailed errors with a hint. */
export async function connect(conn: PgConnection, database = conn.database): Promise<pg.Client> {
  const ssl =
    conn.sslmode && ['require', 'verify-ca', 'verify-full'].includes(conn.sslmode)
      ? { rejectUnauthorized: conn.sslmode !== 'require' }
      : undefined;
  const client = new pg.Client({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    database,
    ...(conn.password !== undefined ? { password: conn.password } : {}),
    ...(ssl ? { ssl } : {}),
    application_name: 'lifeboat',
    // UTC, so recorded timestamps read the same wherever they are measured.
    options: '-c TimeZone=UTC',
    connectionTimeoutMillis: 15_000,
  });
  // A server that goes away later is reported by the query that fails; without a listener it would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw pgError(err, { ...conn, database });
  }
  return client;
}

/** A PostgreSQL or network error as a SourceFailed error that says what to check. */
export function pgError(err: unknown, t: PgTarget): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = err as { code?: string; message?: string };
  const where = `${t.host}:${t.port}`;
  const message = e.message || String(err);
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ENOENT':
      return new LifeboatError(ErrorCode.SourceFailed, `cannot reach PostgreSQL at ${where}: ${message}`, {
        hint: 'is the server running and listening there? check `url` of the source',
        retryable: true,
        cause: err,
      });
    case '28P01':
      return new LifeboatError(
        ErrorCode.SourceFailed,
        `PostgreSQL at ${where} refused the password of user "${t.user}"`,
        {
          hint: 'check `password_file` of the source (or PGPASSWORD / ~/.pgpass when restoring without the config)',
          cause: err,
        },
      );
    case '28000':
      return new LifeboatError(
        ErrorCode.SourceFailed,
        `PostgreSQL at ${where} does not let user "${t.user}" in: ${message}`,
        { hint: 'add a pg_hba.conf entry for this user and host, or check the user name', cause: err },
      );
    case '3D000':
      return new LifeboatError(ErrorCode.SourceFailed, `database "${t.database}" does not exist on ${where}`, {
        hint: 'check the database name in `url` of the source',
        cause: err,
      });
    case '42501':
      return new LifeboatError(ErrorCode.SourceFailed, `user "${t.user}" lacks a privilege on ${where}: ${message}`, {
        hint: 'grant the privilege or connect as a role that has it',
        cause: err,
      });
    default:
      return new LifeboatError(ErrorCode.SourceFailed, `PostgreSQL at ${where}: ${message}`, { cause: err });
  }
}

/** Add a hint to a failed pg_* tool from what its error output says. */
export function withToolHint(err: unknown, tool: string): unknown {
  if (!(err instanceof LifeboatError) || err.code !== ErrorCode.SourceFailed || err.hint) return err;
  const m = err.message;
  const hint = /password authentication failed|no password supplied/i.test(m)
    ? 'check `password_file` of the source'
    : /server version mismatch|aborting because of server version/i.test(m)
      ? `${tool} is older than the server: install the matching client version and set \`bin_dir\``
      : /could not connect|Connection refused|No such file or directory/i.test(m)
        ? 'is the server running and listening where `url` says?'
        : /database ".*" does not exist/i.test(m)
          ? 'check the database name in `url` of the source'
          : undefined;
  return hint ? new LifeboatError(err.code, m, { hint, context: err.context, cause: err }) : err;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** pg_dump, pg_restore, … from `bin_dir` when configured, else from PATH. */
export function pgTool(name: string, binDir?: string): string {
  return binDir ? path.join(binDir, name) : name;
}
