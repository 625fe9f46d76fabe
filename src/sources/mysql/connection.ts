import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { readSecretFile, writeCredentialFile } from '../secret-file.js';
import { parseDatabaseUrl } from '../database-url.js';

/** Where a MySQL/MariaDB database is, without credentials (safe to log and record). */
export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  /** A Unix socket path (`?socket=/run/mysqld/mysqld.sock`), used instead of host and port. */
  socket?: string;
}

export interface MysqlConnection extends MysqlTarget {
  password?: string;
}

/** mysql://user[:password]@host[:port]/database[?socket=/path] (mariadb:// too). */
export function parseMysqlUrl(url: string): MysqlConnection {
  const { params, ...parts } = parseDatabaseUrl(url, 'mysql', { host: '127.0.0.1', port: 3306, user: 'root' });
  const socket = params.get('socket');
  return { ...parts, ...(socket ? { socket } : {}) };
}

export function publicUrl(t: MysqlTarget, database = t.database): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `mysql://${encodeURIComponent(t.user)}@${host}:${t.port}/${encodeURIComponent(database)}${t.socket ? `?socket=${encodeURIComponent(t.socket)}` : ''}`;
}

export async function configuredConnection(config: { url: string; password_file?: string }): Promise<MysqlConnection> {
  const conn = parseMysqlUrl(config.url);
  if (config.password_file) conn.password = await readSecretFile(config.password_file, 'mysql password');
  return conn;
}

/**
 * A 0600 option file in the private temp directory with the connection and
 * the password, for `--defaults-extra-file` (which must be the tools' first
 * option). The password never reaches argv.
 */
export async function writeDefaultsFile(conn: MysqlConnection, tempDir: string): Promise<string> {
  const quote = (v: string) =>
    `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
  const lines = ['[client]', `user=${quote(conn.user)}`];
  if (conn.socket) lines.push(`socket=${quote(conn.socket)}`, 'protocol=SOCKET');
  else lines.push(`host=${quote(conn.host)}`, `port=${conn.port}`, 'protocol=TCP');
  if (conn.password !== undefined) lines.push(`password=${quote(conn.password)}`);
  return writeCredentialFile(tempDir, 'mysql-client.cnf', `${lines.join('\n')}\n`);
}

/** Open a connection; failures become SourceFailed errors that say what to check. */
export async function connect(
  conn: MysqlConnection,
  database: string | undefined = conn.database,
): Promise<mysql.Connection> {
  try {
    return await mysql.createConnection({
      ...(conn.socket ? { socketPath: conn.socket } : { host: conn.host, port: conn.port }),
      user: conn.user,
      password: conn.password ?? process.env.MYSQL_PWD,
      database,
      connectTimeout: 15_000,
      // Exact integers for counts, whatever their size.
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
  } catch (err) {
    throw mysqlError(err, { ...conn, database: database ?? '' });
  }
}

export function mysqlError(err: unknown, t: MysqlTarget): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = err as { code?: string; message?: string };
  const where = t.socket ?? `${t.host}:${t.port}`;
  const message = e.message || String(err);
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ENOENT':
      return new LifeboatError(ErrorCode.SourceFailed, `cannot reach MySQL/MariaDB at ${where}: ${message}`, {
        hint: 'is the server running and listening there? check `url` of the source',
        retryable: true,
        cause: err,
      });
    case 'ER_ACCESS_DENIED_ERROR':
      return new LifeboatError(
        ErrorCode.SourceFailed,
        `MySQL/MariaDB at ${where} refused user "${t.user}": ${message}`,
        {
          hint: "check `password_file` of the source (or MYSQL_PWD when restoring without the config) and the user's host",
          cause: err,
        },
      );
    case 'ER_BAD_DB_ERROR':
      return new LifeboatError(ErrorCode.SourceFailed, `database "${t.database}" does not exist on ${where}`, {
        hint: 'check the database name in `url` of the source',
        cause: err,
      });
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return new LifeboatError(ErrorCode.SourceFailed, `user "${t.user}" lacks a privilege on ${where}: ${message}`, {
        hint: 'grant the privileges listed in docs/sources/mysql.md',
        cause: err,
      });
    default:
      return new LifeboatError(ErrorCode.SourceFailed, `MySQL/MariaDB at ${where}: ${message}`, { cause: err });
  }
}

/** Add a hint to a failed client tool from what its error output says. */
export function withToolHint(err: unknown): unknown {
  if (!(err instanceof LifeboatError) || err.code !== ErrorCode.SourceFailed || err.hint) return err;
  const m = err.message;
  const hint = /Access denied for user/i.test(m)
    ? 'check `password_file` of the source and the privileges in docs/sources/mysql.md'
    : /Can't connect|Lost connection/i.test(m)
      ? 'is the server running and listening where `url` says?'
      : /Unknown database/i.test(m)
        ? 'check the database name in `url` of the source'
        : undefined;
  return hint ? new LifeboatError(err.code, m, { hint, context: err.context, cause: err }) : err;
}

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** The first of `names` found on PATH (MariaDB's names first, then MySQL's). */
export function findTool(names: string[]): string {
  const dirs = (process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      try {
        accessSync(path.join(dir, name), constants.X_OK);
        return path.join(dir, name);
      } catch {
        // not here
      }
    }
  }
  throw new LifeboatError(ErrorCode.SourceFailed, `none of ${names.join(', ')} is installed`, {
    hint: 'install the MariaDB or MySQL client tools (Debian: mariadb-client)',
  });
}
