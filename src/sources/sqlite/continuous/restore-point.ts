import { open, rename, rm } from 'node:fs/promises';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { Repository } from '../../../repository/repository.js';
import { refuseExisting } from '../../restore-file.js';
import { measureSqlite, type SqliteRecord } from '../measure.js';
import { listStream, type ListedGeneration } from './stream-listing.js';
import { basePartName, generationStartMs } from './stream-names.js';
import { decodeSegment, getStreamObject, streamIdOf, type BaseManifest } from './stream-objects.js';
import { FRAME_HEADER_BYTES } from './wal-file.js';
import { throwIfInterrupted } from '../../../util/interrupt.js';

/** Which replicated SQLite source `restoreToTime` restores, into which file, as of when. */
export interface RestorePointOptions {
  source: string;
  /** The file to write (written as `<file>.restoring`, renamed when complete). */
  toFile: string;
  /** Restore the state of the last transaction committed at or before this time (ms); newest when undefined. */
  atMs?: number;
  force?: boolean;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  /** Stops the restore between two objects read; the partial `<file>.restoring` is removed and `toFile` left as it was. */
  signal?: AbortSignal;
  /** Called after each full-copy part and each segment applied, with a copy of the counters. */
  onProgress?: (progress: RestorePointProgress) => void;
}

/** How far a point-in-time restore of a SQLite stream has come. */
export interface RestorePointProgress {
  phase: 'full-copy' | 'segments';
  /** Parts of the full copy written, of `partsTotal`. */
  partsDone: number;
  partsTotal: number;
  /** Segments applied and the transactions they held so far. */
  segments: number;
  transactions: number;
}

/** The file `restoreToTime` wrote and the point it holds. */
export interface RestoredPoint {
  file: string;
  generation: string;
  /** Commit time (ms) of the last transaction in the restored file (the full copy's time when none was applied). */
  committedMs: number;
  transactions: number;
  segments: number;
  fullCopyMs: number;
  record: SqliteRecord;
}

/**
 * Rebuild the database as of a time from its stream (ADR 0030): the newest
 * full copy at or before the time, then whole transactions in order while
 * their commit time is at or before it. A segment missing from the run is
 * damage, never skipped.
 */
export async function restoreToTime(repo: Repository, options: RestorePointOptions): Promise<RestoredPoint> {
  const log = options.log ?? (() => {});
  const at = options.atMs ?? Number.MAX_SAFE_INTEGER;
  const stream = streamIdOf(repo, options.source);
  const { generations } = await listStream(repo, stream);
  if (!generations.length) {
    throw new LifeboatError(
      ErrorCode.NotFound,
      `no continuous stream of source "${options.source}" in this repository`,
      { hint: 'is `lifeboat replicate` (or `serve`) running for it, against this repository?' },
    );
  }
  let gen: ListedGeneration | undefined;
  let base: ListedGeneration['bases'][number] | undefined;
  for (const g of [...generations].reverse()) {
    if (generationStartMs(g.name) > at) continue;
    base = g.bases.filter((b) => b.ms <= at).at(-1);
    if (base) {
      gen = g;
      break;
    }
  }
  if (!gen || !base) {
    const oldest = generations
      .flatMap((g) => g.bases)
      .map((b) => b.ms)
      .sort((a, b) => a - b)[0];
    throw new LifeboatError(
      ErrorCode.NotFound,
      `the stream of source "${options.source}" holds no state at or before ${new Date(at).toISOString()}`,
      {
        hint:
          oldest === undefined
            ? 'no full copy was stored yet'
            : `the oldest restorable point is ${new Date(oldest).toISOString()}`,
      },
    );
  }
  const replacing = await refuseExisting(options.toFile, options.force, 'a database');
  const tmp = options.toFile + '.restoring';
  const out = await open(tmp, 'w', 0o600);
  let committedMs = base.ms;
  let transactions = 0;
  let segments = 0;
  const stopped = `${options.toFile} was left as it was`;
  try {
    throwIfInterrupted(options.signal, stopped);
    const manifest = JSON.parse((await getStreamObject(repo, base.name)).toString('utf8')) as BaseManifest;
    log(`full copy of ${new Date(manifest.ms).toISOString()} (${manifest.pages} pages) from generation ${gen.name}`);
    let written = 0;
    for (let p = 0; p < manifest.parts; p++) {
      const part = await getStreamObject(repo, basePartName(base.name, p));
      await out.write(part, 0, part.length, written);
      written += part.length;
      options.onProgress?.({
        phase: 'full-copy',
        partsDone: p + 1,
        partsTotal: manifest.parts,
        segments,
        transactions,
      });
      throwIfInterrupted(options.signal, stopped);
    }
    if (written !== manifest.pages * manifest.pageSize)
      throw new LifeboatError(
        ErrorCode.Corrupt,
        `full copy ${base.name} holds ${written} bytes, its manifest ${manifest.pages * manifest.pageSize}`,
      );
    await out.truncate(written);
    let pos = { index: manifest.index, frame: manifest.frame };
    const pageSize = manifest.pageSize;
    // Pages of committed transactions not written yet (the newest version of each), written in page order in batches.
    const dirty = new Map<number, Buffer>();
    let size = manifest.pages;
    const flush = async () => {
      for (const pgno of [...dirty.keys()].sort((a, b) => a - b)) {
        if (pgno <= size) await out.write(dirty.get(pgno)!, FRAME_HEADER_BYTES, pageSize, (pgno - 1) * pageSize);
      }
      dirty.clear();
    };
    const pending: Buffer[] = [];
    let done = false;
    while (!done) {
      // The same log first (the longest run when merged and unmerged segments overlap), else the next log from its start.
      const longest = (list: typeof gen.segments) => list.sort((a, b) => b.last - a.last)[0];
      const next =
        longest(gen.segments.filter((s) => s.index === pos.index && s.first === pos.frame + 1)) ??
        longest(gen.segments.filter((s) => s.index === pos.index + 1 && s.first === 1));
      if (!next) {
        const later = gen.segments.find(
          (s) => (s.index > pos.index || (s.index === pos.index && s.first > pos.frame)) && s.firstMs <= at,
        );
        if (later)
          throw new LifeboatError(
            ErrorCode.Corrupt,
            `the stream of "${options.source}" has a gap after frame ${pos.frame} of log ${pos.index} (next stored segment: ${later.name})`,
            { hint: 'restore to a time before the gap, or run `lifeboat check`' },
          );
        break;
      }
      if (next.firstMs > at) break;
      const { header, frames } = decodeSegment(next.name, await getStreamObject(repo, next.name));
      if (header.prev.index !== pos.index || header.prev.frame !== pos.frame || header.generation !== gen.name) {
        throw new LifeboatError(
          ErrorCode.Corrupt,
          `stream segment ${next.name} does not continue frame ${pos.frame} of log ${pos.index}`,
        );
      }
      segments++;
      const commits = new Map(header.commits.map(([frame, ms, dbSize]) => [frame, { ms, dbSize }]));
      const frameBytes = FRAME_HEADER_BYTES + pageSize;
      for (let i = 0; i < header.last - header.first + 1; i++) {
        const frame = frames.subarray(i * frameBytes, (i + 1) * frameBytes);
        const commit = commits.get(header.first + i);
        if (commit && commit.ms > at) {
          done = true;
          break;
        }
        pending.push(frame);
        if (!commit) continue;
        for (const f of pending) dirty.set(f.readUInt32BE(0), f);
        pending.length = 0;
        if (commit.dbSize < size) {
          // The database shrank (VACUUM): write what is below the new end, then cut the file there.
          size = commit.dbSize;
          await flush();
          await out.truncate(size * pageSize);
        }
        size = commit.dbSize;
        committedMs = commit.ms;
        transactions++;
        if (dirty.size >= 16384) await flush();
      }
      pos = { index: header.index, frame: header.last };
      options.onProgress?.({
        phase: 'segments',
        partsDone: manifest.parts,
        partsTotal: manifest.parts,
        segments,
        transactions,
      });
      throwIfInterrupted(options.signal, stopped);
      // Dirty pages are views into segments: flushing now and then bounds the segments kept in memory.
      if (segments % 64 === 0) await flush();
    }
    await flush();
    await out.truncate(size * pageSize);
    await out.sync();
  } catch (err) {
    await out.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await out.close();
  if (replacing) await Promise.all(['-wal', '-shm', '-journal'].map((s) => rm(options.toFile + s, { force: true })));
  await rename(tmp, options.toFile);
  const record = measureSqlite(options.toFile);
  log(
    `restored ${transactions} transactions from ${segments} segments; last commit ${new Date(committedMs).toISOString()}`,
  );
  return {
    file: options.toFile,
    generation: gen.name,
    committedMs,
    transactions,
    segments,
    fullCopyMs: base.ms,
    record,
  };
}
