import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { childOutput } from '../child-process.js';
import type { Capture, CaptureContext } from '../contract.js';
import { StreamTally } from '../hashing.js';
import type { StreamEntry } from '../../archiver/virtual-root.js';
import {
  configuredConnection,
  connect,
  pgError,
  pgTool,
  publicUrl,
  toolEnv,
  withToolHint,
  type PgConnection,
} from './connection.js';
import { measureDatabase, referencedRoles } from './measure.js';

type PostgresConfig = SourceConfigOf<'postgres'>;

export const GLOBALS_PATH = '/postgres/globals.sql';

/** `/postgres/<db>.dump`: the database name, with characters that cannot be a file name replaced. */
export function dumpPath(database: string): string {
  const name = database.replace(/[/\0]/g, '_');
  return `/postgres/${name === '.' || name === '..' ? `_${name}` : name}.dump`;
}

/**
 * Open a repeatable-read transaction, export its snapshot and let pg_dump use
 * it: the dump, the row counts, the schema hash and the newest recent-data
 * value all describe the same instant while the application keeps writing.
 * The transaction stays open until `release`, after pg_dump has finished.
 */
export async function capturePostgres(config: PostgresConfig, ctx: CaptureContext): Promise<Capture> {
  const conn = await configuredConnection(config);
  const client = await connect(conn);
  // Stops pg_dump and pg_dumpall when the capture is released early (another stream failed) or aborted.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const release = async () => {
    stop.abort();
    await client.end().catch(() => {});
  };
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await client.query<{ snapshot: string; version: string; num: string; encoding: string }>(
      `SELECT pg_export_snapshot() AS snapshot, current_setting('server_version') AS version, current_setting('server_version_num') AS num,
              pg_encoding_to_char(encoding) AS encoding FROM pg_database WHERE datname = current_database()`,
    );
    const info = rows[0]!;
    // Measured on this connection while pg_dump runs on its own, both in the exported snapshot.
    const measuring = Promise.all([measureDatabase(client, config.recent_data), referencedRoles(client)]);
    measuring.catch(() => {});
    const env = await toolEnv(conn, ctx.tempDir);
    const secrets = conn.password ? [conn.password] : [];
    const dump = new StreamTally();
    const dumpFile = dumpPath(conn.database);
    const withGlobals = config.globals !== false;
    ctx.log(`pg_dump of ${publicUrl(conn)} at snapshot ${info.snapshot} (PostgreSQL ${info.version})`);

    const streams: NonNullable<Capture['streams']> = [
      {
        kind: 'stream',
        path: dumpFile,
        open: () =>
          guardHint(
            'pg_dump',
            dump.through(
              childOutput({
                label: 'pg_dump',
                command: pgTool('pg_dump', config.bin_dir),
                // Uncompressed: the repository compresses, and deduplicates unchanged tables between dumps.
                args: ['--format=custom', '--compress=0', `--snapshot=${info.snapshot}`, '--no-password'],
                env,
                secrets,
                signal,
              }),
            ),
          ),
      },
    ];
    if (withGlobals) {
      streams.push(globalsEntry(config, conn, env, signal));
    }

    return {
      streams,
      record: async () => {
        const [measured, roles] = await measuring.catch((err: unknown) => {
          throw pgError(err, conn);
        });
        return {
          url: publicUrl(conn),
          database: conn.database,
          serverVersion: info.version,
          serverVersionNum: Number(info.num),
          encoding: info.encoding,
          dump: dumpFile,
          dumpBytes: dump.bytes,
          dumpSha256: dump.sha256,
          globals: withGlobals ? GLOBALS_PATH : null,
          roles,
          ...measured,
        };
      },
      release,
    };
  } catch (err) {
    await release();
    throw pgError(err, conn);
  }
}

/** Roles and tablespaces (pg_dumpall --globals-only), stored once at GLOBALS_PATH; without a database in `conn`, pg_dumpall picks its own (postgres, else template1). */
export function globalsEntry(
  config: PostgresConfig,
  conn: PgConnection,
  env: Record<string, string>,
  signal: AbortSignal,
): StreamEntry {
  return {
    kind: 'stream',
    path: GLOBALS_PATH,
    open: () =>
      globalsStream(
        childOutput({
          label: 'pg_dumpall --globals-only',
          command: pgTool('pg_dumpall', config.bin_dir),
          args: ['--globals-only', '--no-password', ...(conn.database ? [`--database=${conn.database}`] : [])],
          env,
          secrets: conn.password ? [conn.password] : [],
          signal,
        }),
      ),
  };
}

async function* guardHint(tool: string, input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* input;
  } catch (err) {
    throw withToolHint(err, tool);
  }
}

/** pg_dumpall reads pg_authid, which only superusers may: say how to get past that. */
async function* globalsStream(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* input;
  } catch (err) {
    if (err instanceof LifeboatError && err.code === ErrorCode.SourceFailed && /permission denied/i.test(err.message)) {
      throw new LifeboatError(ErrorCode.SourceFailed, `${err.message} (roles and tablespaces could not be read)`, {
        hint: 'set `globals: false` on this source to back up only the database, or run the backup as a superuser, who may read pg_authid',
        cause: err,
      });
    }
    throw withToolHint(err, 'pg_dumpall');
  }
}
