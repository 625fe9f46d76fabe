import { minimatch } from 'minimatch';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { StreamEntry } from '../archiver/virtual-root.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import type { Capture, CaptureContext, SourceRecord } from './contract.js';

/** The keys of a postgres or mysql source that choose the server's databases. */
export interface DatabaseSelection {
  url: string;
  databases?: 'all' | string[];
  exclude_databases?: string[];
}

/** A URL without a database path backs up the server's databases (`databases: all` unless listed). */
export function backsUpServer(config: DatabaseSelection): boolean {
  return new URL(config.url).pathname.replace(/^\//, '') === '';
}

/** The config of one database of the server: the same source with the database in its URL. */
export function withDatabase<C extends DatabaseSelection>(config: C, database: string): C {
  const url = new URL(config.url);
  url.pathname = `/${encodeURIComponent(database)}`;
  const one = { ...config, url: url.toString() };
  delete one.databases;
  delete one.exclude_databases;
  return one;
}

/** The listed databases the selection takes, sorted: names and globs in `databases`, minus `exclude_databases`. */
export function selectDatabases(listed: string[], config: DatabaseSelection): string[] {
  const include = config.databases === undefined || config.databases === 'all' ? ['*'] : config.databases;
  const exclude = config.exclude_databases ?? [];
  const matches = (name: string, patterns: string[]) => patterns.some((p) => minimatch(name, p, { dot: true }));
  return [...new Set(listed)].filter((name) => matches(name, include) && !matches(name, exclude)).sort();
}

/** What an engine provides for a server-wide backup. */
export interface ServerEngine<C extends DatabaseSelection> {
  kind: string;
  /** The server's databases, listed at every run (so databases created since the config was written are included), system databases left out. */
  listDatabases(config: C, ctx: CaptureContext): Promise<string[]>;
  /** The single-database capture, for one database with no server-wide streams (e.g. postgres globals off). */
  captureOne(config: C, ctx: CaptureContext): Promise<Capture>;
  /** Server-wide streams stored once (postgres roles and tablespaces) and what the record says of them. */
  serverStreams?(
    config: C,
    ctx: CaptureContext,
  ): Promise<{ streams: StreamEntry[]; record: SourceRecord; release?: () => Promise<void> }>;
  /** Where the single-database mode stores a database's dump (`/postgres/<db>.dump`). */
  dumpPath(database: string): string;
  /** The server's URL without credentials, for the record. */
  publicUrl(config: C): Promise<string>;
}

/**
 * Every selected database of the server, one dump stream each at the path the
 * single-database mode uses. Each database is captured only when its stream
 * is read, and released as soon as its record is taken, so one connection
 * per database is never held for the whole run. The source record holds each
 * database's own record under `databases`. A database that fails (or is
 * dropped during the run) fails the backup with its name.
 */
export async function captureServer<C extends DatabaseSelection>(
  engine: ServerEngine<C>,
  config: C,
  ctx: CaptureContext,
): Promise<Capture> {
  const listed = await engine.listDatabases(config, ctx);
  const names = selectDatabases(listed, config);
  if (names.length === 0) {
    throw new LifeboatError(
      ErrorCode.NotFound,
      `no database of the ${engine.kind} server matches the source's selection (the server has: ${listed.join(', ') || 'none'})`,
      {
        hint: 'create the database, or check `databases` and `exclude_databases` of the source; nothing was saved',
      },
    );
  }
  ctx.log(`${engine.kind} server: ${names.length} database(s): ${names.join(', ')}`);
  const server = await engine.serverStreams?.(config, ctx);
  const records: Record<string, SourceRecord> = {};
  const started = new Set<Capture>();

  const streams: StreamEntry[] = names.map((name) => ({
    kind: 'stream',
    path: engine.dumpPath(name),
    open: (signal: AbortSignal) => dumpOne(name, signal),
  }));
  async function* dumpOne(name: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    let capture: Capture | undefined;
    try {
      capture = await engine.captureOne(withDatabase(config, name), ctx);
      started.add(capture);
      const [stream] = capture.streams ?? [];
      if (!stream) throw new Error('no dump stream');
      yield* stream.open(signal);
      records[name] = await capture.record({ files: 1, bytes: 0 });
    } catch (err) {
      throw namedFailure(err, engine.kind, name);
    } finally {
      if (capture) {
        started.delete(capture);
        await capture.release?.();
      }
    }
  }

  return {
    streams: [...streams, ...(server?.streams ?? [])],
    record: async () => {
      const missing = names.filter((n) => !records[n]);
      if (missing.length)
        throw new LifeboatError(
          ErrorCode.SourceFailed,
          `${engine.kind} database(s) ${missing.join(', ')} were not dumped`,
        );
      return { url: await engine.publicUrl(config), databases: records, ...(server?.record ?? {}) };
    },
    release: async () => {
      for (const capture of started) await capture.release?.();
      await server?.release?.();
    },
  };
}

function namedFailure(err: unknown, kind: string, database: string): LifeboatError {
  const e =
    err instanceof LifeboatError
      ? err
      : new LifeboatError(ErrorCode.SourceFailed, err instanceof Error ? err.message : String(err), { cause: err });
  if (e.message.includes(`"${database}"`) && e.message.includes('database')) return e;
  return new LifeboatError(e.code, `${kind} database "${database}": ${e.message}`, {
    hint: e.hint,
    context: e.context,
    cause: err,
    retryable: e.retryable,
  });
}

/** The database names of a server-wide record, or undefined for a single-database record. */
export function recordedDatabases(record: SourceRecord): string[] | undefined {
  const dbs = record.databases;
  return dbs && typeof dbs === 'object' && !Array.isArray(dbs) ? Object.keys(dbs).sort() : undefined;
}

/** The record of one database of a server-wide record, as the single-database mode would have recorded it. */
export function databaseRecord(record: SourceRecord, database: string): SourceRecord | undefined {
  const one = (record.databases as Record<string, SourceRecord> | undefined)?.[database];
  if (!one) return undefined;
  return { ...one, ...(record.globals !== undefined ? { globals: record.globals } : {}) };
}

/**
 * The snapshot as one database of a server-wide backup: its record is that
 * database's, so a driver restores and measures it as in the single-database
 * mode. A single-database snapshot is returned as it is (when `database`,
 * if given, is the one it holds).
 */
export function databaseView(snapshot: SnapshotEntry, database: string | undefined): SnapshotEntry {
  const meta = snapshot.metadata as { source?: { type?: string }; record?: SourceRecord };
  const record = meta.record ?? {};
  const names = recordedDatabases(record);
  const id = snapshot.id.slice(0, 8);
  if (!names) {
    if (database !== undefined && database !== record.database) {
      throw new LifeboatError(
        ErrorCode.NotFound,
        `snapshot ${id} holds only database "${String(record.database)}", not "${database}"`,
        { hint: 'leave out --database, or choose a snapshot that holds that database' },
      );
    }
    return snapshot;
  }
  if (database === undefined) {
    throw new LifeboatError(
      ErrorCode.Usage,
      `snapshot ${id} holds ${names.length} databases (${names.join(', ')}): name the one to restore with --database NAME`,
      {
        hint: 'it is restored into its own name, or into --to-database NEW; restore each database with its own command',
      },
    );
  }
  const one = databaseRecord(record, database);
  if (!one)
    throw new LifeboatError(
      ErrorCode.NotFound,
      `snapshot ${id} holds no database "${database}"; it holds: ${names.join(', ')}`,
      { hint: 'choose one of those with --database NAME' },
    );
  return { ...snapshot, metadata: { ...snapshot.metadata, record: one } };
}
