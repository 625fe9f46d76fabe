import { closeSync } from 'node:fs';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobIdFromHex, type BlobId, type BlobLocation } from '../repository/format/index.js';
import { blobKey } from '../repository/index/index.js';
import { damagedBlob, missingBlob } from '../repository/pack-ranges.js';
import type { Repository } from '../repository/repository.js';
import { mapLimit } from '../util/map-limit.js';
import { applyMetadataToFd } from './metadata.js';
import type { PlannedEntry } from './plan.js';
import { createFileIn, removeNonDirectoryIn } from './safe-fs.js';
import type { RestoreTally } from './summary.js';
import type { RestoreTarget } from './target.js';

interface FileJob {
  entry: PlannedEntry;
  dest: string;
  ids: BlobId[];
  /** The open file (a descriptor this restore created). */
  fd?: number;
  /** Whether this restore created the file (only then is it removed on failure). */
  created?: boolean;
  /** Bytes written so far (by the workers). */
  written: number;
  failed?: string;
  /** A blob the index did not know when positions were planned: the file fails. */
  unknown?: Buffer;
  /** Index of the batch holding the file's last chunk. */
  lastBatch: number;
}

interface Batch {
  index: number;
  /** Files whose first chunk is in this batch (opened before it is fetched). */
  opens: FileJob[];
  /** (file, chunk index, position) of every chunk in this batch. */
  parts: Array<{ job: FileJob; i: number; position: number }>;
}

const BATCH_BYTES = 32 * 1024 * 1024;
/**
 * Largest pack range read at a time: with two batches of four ranges in flight,
 * 16 MiB ranges held up to 128 MiB of packs at once; 2 MiB ranges hold 16 MiB.
 */
const RANGE_BYTES = 2 * 1024 * 1024;
/** Files opened per batch at most, so open descriptors stay well below the usual limit of 1024. */
const BATCH_FILES = 128;

/**
 * The files' chunks in batches of about BATCH_BYTES of content and at most
 * BATCH_FILES newly opened files, in plan order; a file may span batches.
 */
function planBatches(
  repo: Repository,
  files: PlannedEntry[],
  dest: (p: string) => string,
): { jobs: FileJob[]; batches: Batch[] } {
  const batches: Batch[] = [];
  let batch: Batch = { index: 0, opens: [], parts: [] };
  let batchBytes = 0;
  const next = () => {
    batches.push(batch);
    batch = { index: batches.length, opens: [], parts: [] };
    batchBytes = 0;
  };
  const jobs: FileJob[] = [];
  for (const entry of files) {
    if (batch.opens.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) next();
    const job: FileJob = {
      entry,
      dest: dest(entry.path),
      ids: (entry.node.content ?? []).map(blobIdFromHex),
      written: 0,
      lastBatch: 0,
    };
    jobs.push(job);
    batch.opens.push(job);
    let position = 0;
    for (let i = 0; i < job.ids.length; i++) {
      if (batchBytes >= BATCH_BYTES) next();
      const loc = repo.locate(job.ids[i]!);
      // Positions come from raw lengths: a blob located only later (the index may be
      // loaded again meanwhile) must not be written at positions planned without it.
      if (!loc) job.unknown ??= job.ids[i]!;
      const rawLength = loc?.rawLength ?? 0;
      batch.parts.push({ job, i, position });
      position += rawLength;
      batchBytes += rawLength;
    }
    job.lastBatch = batch.index;
  }
  if (batch.opens.length || batch.parts.length) batches.push(batch);
  return { jobs, batches };
}

/**
 * Files made of several blobs (and empty files). This thread creates each file
 * (exclusively, never through a symlink) and keeps it open; the workers that
 * decrypt and check the blobs write them at their positions in the open files,
 * so no content travels back here. Batches are fetched in plan order, two at a
 * time; a file is finished (size checked, metadata set, closed) after the
 * batch holding its last chunk, or removed if any of its blobs failed.
 */
export async function restoreChunkedFiles(
  repo: Repository,
  files: PlannedEntry[],
  target: RestoreTarget,
  owners: boolean,
  tally: RestoreTally,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { jobs, batches } = planBatches(repo, files, target.dest);
  const close = (job: FileJob) => {
    if (job.fd === undefined) return;
    try {
      closeSync(job.fd);
    } catch {
      // already closed
    }
    job.fd = undefined;
  };
  // Never leave a partial or wrong file behind (removed through its directory's descriptor).
  const remove = (job: FileJob) => {
    try {
      target.inParent(job.entry.path, (dirFd, name) => removeNonDirectoryIn(dirFd, name, job.dest));
    } catch {
      // gone already, or its directory is: nothing of it is left in the target
    }
  };

  const failJob = (job: FileJob, err: unknown) => {
    if (job.failed) return;
    job.failed = (err as Error).message;
    tally.fail(job.entry.path, err);
  };
  for (const job of jobs) if (job.unknown) failJob(job, missingBlob(job.unknown));
  const finish = async (job: FileJob) => {
    try {
      if (job.failed) throw new Error(job.failed);
      const expected = job.entry.node.size ?? 0;
      if (job.written !== expected)
        throw new LifeboatError(ErrorCode.Corrupt, `content is ${job.written} bytes, the snapshot records ${expected}`);
      applyMetadataToFd(job.fd!, job.entry.node, owners);
      close(job);
      tally.fileDone(expected);
    } catch (err) {
      failJob(job, err);
      close(job);
      if (job.created) remove(job);
    }
  };

  // Files are opened batch after batch: a batch's chunks may belong to files opened by an earlier one.
  let opening: Promise<unknown> = Promise.resolve();
  const fetch = async (b: Batch) => {
    opening = opening.then(() =>
      mapLimit(b.opens, 16, async (job) => {
        try {
          job.fd = target.inParent(job.entry.path, (dirFd, name) => createFileIn(dirFd, name, job.dest));
          job.created = true;
        } catch (err) {
          failJob(job, err);
        }
      }),
    );
    await opening;
    // Every blob once, with all the places it goes to.
    const targets = new Map<string, { id: BlobId; at: Array<{ job: FileJob; position: number }> }>();
    for (const { job, i, position } of b.parts) {
      if (job.failed) continue;
      if (job.fd === undefined) throw new Error(`internal error: ${job.entry.path} is not open`);
      const id = job.ids[i]!;
      const key = blobKey(id);
      const t = targets.get(key);
      if (t) t.at.push({ job, position });
      else targets.set(key, { id, at: [{ job, position }] });
    }
    const locations: BlobLocation[] = [];
    for (const [, t] of targets) {
      const loc = repo.locate(t.id);
      if (loc) locations.push(loc);
      else for (const { job } of t.at) failJob(job, missingBlob(t.id));
    }
    const live = (b: BlobLocation) =>
      targets.get(blobKey(b.id))!.at.filter(({ job }) => !job.failed && job.fd !== undefined);
    await repo.readRanges(
      locations,
      { maxRange: RANGE_BYTES, concurrency: 4 },
      async (range, bytes, lastTry) => {
        const blobs = range.blobs.map((blob) => ({ blob, at: live(blob) })).filter((x) => x.at.length > 0);
        const items = blobs.map(({ blob, at }) => ({
          id: blob.id,
          offset: blob.offset - range.offset,
          length: blob.length,
          rawLength: blob.rawLength,
          writeAt: at.map(({ job, position }) => ({ fd: job.fd!, position })),
        }));
        const opened = await repo.pool.open(bytes, items);
        const again: BlobLocation[] = [];
        opened.forEach((r, i) => {
          const { blob, at } = blobs[i]!;
          if ('written' in r) {
            // Written once at every position in `at` (a chunk can repeat within a file and across files).
            for (const { job } of at) job.written += r.written;
            tally.written(r.written * at.length);
          } else if ('error' in r) {
            // Failed authentication: read once more (`readRanges`), damage that stays fails the files.
            if (!lastTry && r.code === ErrorCode.Corrupt) return void again.push(blob);
            const error = damagedBlob(blob, r.error);
            for (const { job } of at) failJob(job, error);
          }
        });
        return again;
      },
      (blob, err) => {
        for (const { job } of live(blob)) failJob(job, err);
      },
    );
  };
  const finishBatch = async (b: Batch) => {
    const ending = new Set<FileJob>();
    for (const job of b.opens) if (job.lastBatch === b.index) ending.add(job);
    for (const { job } of b.parts) if (job.lastBatch === b.index) ending.add(job);
    await mapLimit([...ending], 16, finish);
  };

  // Two batches fetched at a time; a batch is finished once it and every batch before it are written.
  let previous: Promise<void> = Promise.resolve();
  try {
    for (const b of batches) {
      if (signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'restore interrupted');
      const fetched = fetch(b);
      fetched.catch(() => undefined); // observed through `done`
      const done = Promise.all([previous, fetched]).then(() => finishBatch(b));
      done.catch(() => undefined); // observed when awaited below
      await previous;
      previous = done;
    }
    await previous;
  } finally {
    // Interrupted or failed: close what is still open (nothing partial is kept).
    await previous.catch(() => undefined);
    for (const job of jobs) {
      if (job.fd === undefined) continue;
      close(job);
      remove(job);
    }
  }
}
