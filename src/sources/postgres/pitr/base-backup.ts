import os from 'node:os';
import { backup } from '../../../archiver/backup.js';
import type { SourceConfigOf } from '../../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { ownedTempDir } from '../../../leftovers/temp-dir.js';
import type { Repository } from '../../../repository/repository.js';
import type { SnapshotEntry } from '../../../repository/format/index.js';
import { childOutput } from '../../child-process.js';
import { StreamTally } from '../../hashing.js';
import { configuredConnection, connect, pgError, pgTool, publicUrl, toolEnv, withToolHint } from '../connection.js';
import { BASE_TAR_PATH, baseSourceName, type BaseBackupRecord } from './catalog.js';
import { TarPeek } from './tar-peek.js';
import { formatLsn, parseLsn, segmentName, segmentOf } from './wal-names.js';

type PostgresConfig = SourceConfigOf<'postgres'>;

export interface BaseBackupOptions {
  signal?: AbortSignal;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  tags?: string[];
  host?: string;
  tempBase?: string;
}

export interface BaseBackupResult {
  snapshot: SnapshotEntry;
  record: BaseBackupRecord;
}

interface ServerFacts {
  version: string;
  versionNum: number;
  systemIdentifier: string;
  dataChecksums: boolean;
  walSegmentSize: number;
  /** BLCKSZ, the page size of relation files: the base backup's tar is chunked at these pages. */
  blockSize: number;
}

/**
 * A base backup through the replication protocol: pg_basebackup of the
 * source's `bin_dir` writes one tar to its standard output, which is stored
 * as it streams (no local copy) at /pg_basebackup/base.tar. WAL is not
 * included (`-X none`): it comes from the WAL archive, which must hold every
 * segment from the recorded start to the recorded stop segment.
 */
export async function takeBaseBackup(
  repo: Repository,
  name: string,
  config: PostgresConfig,
  options: BaseBackupOptions = {},
): Promise<BaseBackupResult> {
  const log = options.log ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const conn = await configuredConnection(config);
  const facts = await serverFacts(conn);
  if (facts.versionNum < 130000) {
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `PostgreSQL ${facts.version} is too old for base backups by Lifeboat`,
      { hint: 'point-in-time recovery needs PostgreSQL 13 or newer (backup manifests)' },
    );
  }
  const temp = await ownedTempDir(options.tempBase ?? os.tmpdir(), 'lifeboat-basebackup-');
  try {
    const env = await toolEnv(conn, temp.path, conn.database || 'postgres');
    const tally = new StreamTally();
    const peek = new TarPeek(new Set(['backup_label', 'backup_manifest']));
    const startTime = new Date().toISOString();
    log(`pg_basebackup of ${publicUrl(conn)} (PostgreSQL ${facts.version}, system ${facts.systemIdentifier})`);
    let record: BaseBackupRecord | undefined;
    const result = await backup(repo, {
      paths: [],
      streams: [
        {
          kind: 'stream',
          path: BASE_TAR_PATH,
          chunking: { rule: 'postgres-tar', pageSize: facts.blockSize },
          open: (stopped) =>
            guard(
              peek.through(
                tally.through(
                  childOutput({
                    label: 'pg_basebackup',
                    command: pgTool('pg_basebackup', config.bin_dir),
                    args: ['-D', '-', '-Ft', '-X', 'none', '--checkpoint=fast', '--no-password', '--label=lifeboat'],
                    env,
                    secrets: conn.password ? [conn.password] : [],
                    signal: AbortSignal.any([signal, stopped]),
                  }),
                ),
              ),
            ),
        },
      ],
      source: baseSourceName(name),
      tags: ['pitr-base', ...(config.tags ?? []), ...(options.tags ?? [])],
      host: options.host,
      signal,
      metadata: async () => {
        record = describeBackup(name, peek, facts, {
          startTime,
          stopTime: new Date().toISOString(),
          tarBytes: tally.bytes,
          tarSha256: tally.sha256,
        });
        return { pitr: record };
      },
    });
    log(
      `base backup ${result.snapshot.id.slice(0, 8)}: WAL ${record!.startWal} .. ${record!.stopWal} needed for consistency`,
    );
    return { snapshot: result.snapshot, record: record! };
  } finally {
    await temp.dispose();
  }
}

async function* guard(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* input;
  } catch (err) {
    throw withToolHint(err, 'pg_basebackup');
  }
}

async function serverFacts(conn: Awaited<ReturnType<typeof configuredConnection>>): Promise<ServerFacts> {
  const client = await connect(conn, conn.database || 'postgres');
  try {
    const { rows } = await client.query<{
      version: string;
      num: string;
      sysid: string;
      checksums: string;
      segsize: string;
      blocksize: string;
    }>(
      `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
              (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
              current_setting('data_checksums') AS checksums,
              (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS segsize,
              current_setting('block_size') AS blocksize`,
    );
    const r = rows[0]!;
    return {
      version: r.version,
      versionNum: Number(r.num),
      systemIdentifier: r.sysid,
      dataChecksums: r.checksums === 'on',
      walSegmentSize: Number(r.segsize),
      blockSize: Number(r.blocksize),
    };
  } catch (err) {
    throw pgError(err, conn);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The record of a finished base backup, from the backup_label and backup_manifest inside its tar. */
export function describeBackup(
  source: string,
  peek: TarPeek,
  facts: ServerFacts,
  run: { startTime: string; stopTime: string; tarBytes: number; tarSha256: string },
): BaseBackupRecord {
  if (!peek.ended)
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      'pg_basebackup ended without the end-of-archive marker: the base backup is incomplete and was not saved',
    );
  const label = peek.members.get('backup_label')?.toString('utf8');
  const manifest = peek.members.get('backup_manifest')?.toString('utf8');
  if (!label || !manifest) {
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `the base backup has no ${label ? 'backup_manifest' : 'backup_label'}; it was not saved`,
      { hint: 'run pg_basebackup of PostgreSQL 13 or newer (set `bin_dir` of the source)' },
    );
  }
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/m.exec(label);
  const tli = /^START TIMELINE: (\d+)$/m.exec(label);
  if (!start || !tli)
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      'the backup_label of the base backup cannot be read; it was not saved',
    );
  const ranges =
    (JSON.parse(manifest) as { 'WAL-Ranges'?: Array<{ Timeline: number; 'Start-LSN': string; 'End-LSN': string }> })[
      'WAL-Ranges'
    ] ?? [];
  const last = ranges[ranges.length - 1];
  if (!last)
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      'the backup_manifest of the base backup names no WAL range; it was not saved',
    );
  const stopLsn = parseLsn(last['End-LSN']);
  const timeline = Number(tli[1]);
  // The end LSN points just past the last record: the segment holding the byte before it is the last one needed.
  const stopWal = segmentName(last.Timeline, segmentOf(stopLsn - 1n, facts.walSegmentSize), facts.walSegmentSize);
  return {
    kind: 'base',
    format: 1,
    source,
    startLsn: formatLsn(parseLsn(start[1]!)),
    stopLsn: formatLsn(stopLsn),
    timeline,
    startWal: start[2]!,
    stopWal,
    startTime: run.startTime,
    stopTime: run.stopTime,
    serverVersion: facts.version,
    serverVersionNum: facts.versionNum,
    systemIdentifier: facts.systemIdentifier,
    dataChecksums: facts.dataChecksums,
    walSegmentSize: facts.walSegmentSize,
    tarBytes: run.tarBytes,
    tarSha256: run.tarSha256,
  };
}
