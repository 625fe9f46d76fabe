import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { childOutput } from '../child-process.js';
import type { Capture, CaptureContext } from '../contract.js';
import { StreamTally } from '../hashing.js';
import {
  configuredConnection,
  connect,
  findTool,
  mysqlError,
  publicUrl,
  quoteIdent,
  withToolHint,
  writeDefaultsFile,
} from './connection.js';
import { schemaHash } from './measure.js';
import { DumpRowCounter } from './row-counter.js';

type MysqlConfig = SourceConfigOf<'mysql'>;

/** `/mysql/<db>.sql`: the database name, with characters that cannot be a file name replaced. */
export function dumpPath(database: string): string {
  const name = database.replace(/[/\0]/g, '_');
  return `/mysql/${name === '.' || name === '..' ? `_${name}` : name}.sql`;
}

/**
 * mariadb-dump (or mysqldump) --single-transaction streamed into the
 * repository: a consistent InnoDB snapshot while the application writes. Row
 * counts come from the dump stream itself; the schema hash is measured before
 * and after the dump, and a schema change in between fails the backup.
 */
export async function captureMysql(config: MysqlConfig, ctx: CaptureContext): Promise<Capture> {
  const conn = await configuredConnection(config);
  const client = await connect(conn);
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const release = async () => {
    stop.abort();
    await client.end().catch(() => client.destroy());
  };
  try {
    const [[info]] = (await client.query({
      sql: `SELECT VERSION(), DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`,
      values: [conn.database],
      rowsAsArray: true,
    })) as unknown as [[string, string, string]];
    const [serverVersion, charset, collation] = info;
    const schemaBefore = await schemaHash(client, conn.database);
    const recentBefore = config.recent_data ? await newestValue(client, conn.database, config.recent_data) : undefined;
    const defaultsFile = await writeDefaultsFile(conn, ctx.tempDir);
    const tool = findTool(['mariadb-dump', 'mysqldump']);
    const counter = new DumpRowCounter();
    const tally = new StreamTally();
    const file = dumpPath(conn.database);
    ctx.log(`${tool.split('/').pop()} --single-transaction of ${publicUrl(conn)} (server ${serverVersion})`);

    async function* dump(): AsyncGenerator<Uint8Array> {
      const output = childOutput({
        label: tool.split('/').pop()!,
        command: tool,
        args: [
          `--defaults-extra-file=${defaultsFile}`, // must come first
          '--single-transaction',
          '--routines',
          '--triggers',
          '--events',
          '--hex-blob',
          '--add-locks', // the row counter finds each table's data between LOCK TABLES and UNLOCK TABLES
          '--skip-dump-date', // identical dumps of unchanged data deduplicate completely
          '--no-tablespaces',
          conn.database,
        ],
        secrets: conn.password ? [conn.password] : [],
        signal,
      });
      try {
        for await (const chunk of tally.through(output)) {
          counter.push(chunk);
          yield chunk;
        }
      } catch (err) {
        throw withToolHint(err);
      }
    }

    return {
      streams: [{ kind: 'stream', path: file, open: dump }],
      record: async () => {
        const schemaAfter = await schemaHash(client, conn.database).catch((err: unknown) => {
          throw mysqlError(err, conn);
        });
        if (schemaAfter !== schemaBefore) {
          throw new LifeboatError(
            ErrorCode.SourceFailed,
            `the schema of ${conn.database} changed while it was dumped; the dump may not match any one moment`,
            {
              hint: 'run the backup again, outside schema migrations',
              retryable: true,
            },
          );
        }
        return {
          url: publicUrl(conn),
          database: conn.database,
          serverVersion,
          charset,
          collation,
          dump: file,
          dumpBytes: tally.bytes,
          dumpSha256: tally.sha256,
          tables: counter.rows(),
          schemaHash: schemaBefore,
          // Read before the dump began: the dump holds at least this (no transaction can share the dump's snapshot).
          ...(recentBefore ? { recentData: recentBefore } : {}),
        };
      },
      release,
    };
  } catch (err) {
    await release();
    throw mysqlError(err, conn);
  }
}

/** The newest value of the configured column, as text (ISO-like for DATETIME). */
export async function newestValue(
  client: Awaited<ReturnType<typeof connect>>,
  database: string,
  recent: { table: string; column: string },
) {
  const [rows] = await client.query({
    sql: `SELECT CAST(MAX(${quoteIdent(recent.column)}) AS CHAR) FROM ${quoteIdent(database)}.${quoteIdent(recent.table)}`,
    rowsAsArray: true,
  });
  const value = (rows as unknown[][])[0]?.[0];
  return {
    table: recent.table,
    column: recent.column,
    newest: value === null || value === undefined ? null : String(value),
  };
}
