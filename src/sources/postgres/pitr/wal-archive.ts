import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { backup } from '../../../archiver/backup.js';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { Repository } from '../../../repository/repository.js';
import type { SnapshotEntry } from '../../../repository/format/index.js';
import { StreamTally, tallyFile } from '../../hashing.js';
import { readSnapshotFile, snapshotFileNode } from '../../snapshot-file.js';
import {
  catalogFrom,
  loadCatalog,
  walPath,
  walSourceName,
  isPartialName,
  type ArchivedFile,
  type WalCatalog,
  type WalRecord,
} from './catalog.js';
import { isWalFileName } from './wal-names.js';
import { summarizeSegment } from './wal-summary.js';
import { mapLimit } from '../../../util/map-limit.js';

/** Read WAL in 1 MiB pieces (a segment is 16 MiB by default). */
const READ_SIZE = 1024 * 1024;

/** A WAL file PostgreSQL asks `archive_command` to archive. */
export interface WalFileToPush {
  /** Where the file is now. */
  file: string;
  /** The WAL file name (defaults to the file's base name). */
  name?: string;
  /** When it was archived from PostgreSQL's point of view (defaults to now). */
  archivedAt?: string;
}

/** What `pushWal` stored (or found already archived with the same content). */
export interface PushResult {
  stored: ArchivedFile[];
  /** Files already archived with the same content: acknowledged again, nothing stored. */
  alreadyArchived: string[];
  snapshot?: SnapshotEntry;
}

/** Which source `pushWal` archives for. */
export interface PushOptions {
  host?: string;
  tags?: string[];
  signal?: AbortSignal;
  /** Where pg_waldump is (the source's `bin_dir`): segments are summarised for restores to a time or a restore point. */
  binDir?: string;
  /** The catalogue, when the caller has just read it. */
  catalog?: WalCatalog;
}

/**
 * Store WAL files in one snapshot of `<source>:pitr-wal`. Idempotent and never
 * overwriting: a name already archived with the same SHA-256 is acknowledged
 * without storing it again; with a different SHA-256 the whole push fails with
 * `wal_conflict` and nothing is stored. The snapshot is saved only after every
 * file was read to its end, and records the size and SHA-256 of exactly the
 * bytes stored (a file read to compare must still match what was read first),
 * so a killed push never leaves a truncated segment behind.
 */
export async function pushWal(
  repo: Repository,
  source: string,
  files: WalFileToPush[],
  options: PushOptions = {},
): Promise<PushResult> {
  const named = files.map((f) => ({ ...f, name: f.name ?? path.basename(f.file) }));
  for (const f of named) {
    if (!isWalFileName(f.name))
      throw new LifeboatError(ErrorCode.Usage, `"${f.name}" is not a WAL file name`, {
        hint: "archive_command passes %p, the segment's path relative to the data directory",
      });
  }
  const catalog = options.catalog ?? (await loadCatalog(repo, source));
  // A name the archive holds is read first, to compare; a new one is hashed only while it is stored.
  const fresh: Array<(typeof named)[number] & { size?: number; sha256?: string }> = [];
  const alreadyArchived: string[] = [];
  for (const f of named) {
    const stored = catalog.files.get(f.name);
    if (!stored || stored.name !== f.name) {
      if (!fresh.some((x) => x.name === f.name)) fresh.push(f);
      continue;
    }
    const { bytes, sha256 } = await tallyFile(f.file);
    // A partial segment grows: a new copy supersedes the stored one (the catalogue reads the newest).
    if (isPartialName(f.name) && stored.sha256 !== sha256) {
      fresh.push({ ...f, size: bytes, sha256 });
      continue;
    }
    if (stored.sha256 === sha256 && stored.size === bytes) {
      alreadyArchived.push(f.name);
      continue;
    }
    throw new LifeboatError(
      ErrorCode.WalConflict,
      `WAL file ${f.name} is already archived for "${source}" with different content (snapshot ${stored.snapshot.slice(0, 8)}); it is never overwritten`,
      {
        hint: 'two servers may be archiving into the same source (a restored copy or a standby with archive_mode=always?): give each its own source, or stop the other one',
      },
    );
  }
  if (fresh.length === 0) return { stored: [], alreadyArchived };
  const now = new Date().toISOString();
  // pg_waldump reads the segments while they are stored (two at a time: each is one short process).
  const summaries = mapLimit(fresh, 2, (f) =>
    /^[0-9A-F]{24}(\.partial)?$/.test(f.name)
      ? summarizeSegment(f.file, options.binDir, f.name.slice(0, 24))
      : Promise.resolve(undefined),
  );
  summaries.catch(() => {});
  const tallies = fresh.map(() => new StreamTally());
  let records: ArchivedFile[] = [];
  const result = await backup(repo, {
    paths: [],
    streams: fresh.map((f, i) => ({
      kind: 'stream' as const,
      path: walPath(f.name),
      open: () => tallies[i]!.through(createReadStream(f.file, { highWaterMark: READ_SIZE })),
    })),
    source: walSourceName(source),
    tags: ['pitr-wal', ...(options.tags ?? [])],
    host: options.host,
    signal: options.signal,
    metadata: async () => {
      fresh.forEach((f, i) => {
        const t = tallies[i]!;
        if (f.sha256 !== undefined && (t.bytes !== f.size || t.sha256 !== f.sha256)) {
          throw new LifeboatError(
            ErrorCode.SourceFailed,
            `WAL file ${f.name} changed while it was being archived; nothing was stored`,
            {
              hint: 'PostgreSQL never changes a segment it hands to archive_command: is another program writing to it?',
            },
          );
        }
      });
      const summarized = await summaries;
      // Size and SHA-256 of exactly the bytes stored: the snapshot is saved only after each file was read to its end.
      records = fresh.map((f, i) => ({
        name: f.name,
        size: tallies[i]!.bytes,
        sha256: tallies[i]!.sha256,
        archivedAt: f.archivedAt ?? now,
        ...summarized[i],
      }));
      const pitr: WalRecord = { kind: 'wal', format: 1, source, files: records };
      return { pitr };
    },
  });
  return { stored: records, alreadyArchived, snapshot: result.snapshot };
}

/** What `fetchWal` wrote for `restore_command`, or that the file is not archived. */
export interface FetchResult {
  found: boolean;
  size?: number;
}

/**
 * Write one archived WAL file to `destination` (restore_command's %p). The
 * content is authenticated blob by blob and checked against the recorded
 * size and SHA-256, written to a temporary name and renamed, so PostgreSQL
 * never sees a partial file. A name the archive does not hold is `found: false`
 * (PostgreSQL asks for files that may not exist, such as the next timeline's history).
 */
export async function fetchWal(
  repo: Repository,
  source: string,
  name: string,
  destination: string,
  catalog?: WalCatalog,
): Promise<FetchResult> {
  if (!isWalFileName(name))
    throw new LifeboatError(ErrorCode.Usage, `"${name}" is not a WAL file name`, {
      hint: 'restore_command passes %f, the WAL file name, and %p, where to write it',
    });
  const cat = catalog ?? (await loadCatalog(repo, source));
  const stored = cat.files.get(name);
  if (!stored) return { found: false };
  // The index must be loaded to find the file's blobs.
  await repo.prepareRead();
  const snapshot = cat.walSnapshots.find((s) => s.id === stored.snapshot)!;
  // Under a segment's name this may be its newest partial copy: PostgreSQL replays what it holds, then ends recovery.
  const node = await snapshotFileNode(repo, snapshot, walPath(stored.name));
  const temp = `${destination}.lifeboat-${process.pid}`;
  const tally = new StreamTally();
  const handle = await open(temp, 'w', 0o600);
  try {
    for await (const chunk of tally.through(readSnapshotFile(repo, node, name))) await handle.write(chunk);
    if (tally.bytes !== stored.size || tally.sha256 !== stored.sha256) {
      throw new LifeboatError(
        ErrorCode.Corrupt,
        `WAL file ${name} read back from snapshot ${stored.snapshot.slice(0, 8)} does not match its recorded size and SHA-256`,
        { hint: 'run `lifeboat check --read-data`' },
      );
    }
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, destination);
  return { found: true, size: stored.size };
}

export { catalogFrom };
