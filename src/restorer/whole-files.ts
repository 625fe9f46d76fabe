/**
 * Files made of one blob (most small files) are written by the worker that
 * decrypts them: the pack ranges are read in pack order, and each worker task
 * decrypts its range's blobs, checks each against its id and the file's size,
 * and writes the files — no content travels back through the main thread.
 *
 * @module
 */

import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobIdFromHex, type BlobLocation } from '../repository/format/index.js';
import { blobKey } from '../repository/index/index.js';
import { missingBlob } from '../repository/pack-ranges.js';
import type { Repository } from '../repository/repository.js';
import type { DirectWrite } from '../repository/workers/index.js';
import { splitNs } from '../util/native-fs.js';
import type { PlannedEntry } from './plan.js';
import type { DirLease, RestoreTarget } from './target.js';

export interface WholeFileJob {
  entry: PlannedEntry;
}

/** Largest pack range read (and handed to one worker task) at a time. */
const RANGE_BYTES = 2 * 1024 * 1024;

export async function restoreWholeFiles(
  repo: Repository,
  target: RestoreTarget,
  jobs: WholeFileJob[],
  owners: boolean,
  done: (job: WholeFileJob, bytes: number) => void,
  fail: (job: WholeFileJob, err: unknown) => void,
  signal?: AbortSignal,
): Promise<void> {
  const byBlob = new Map<string, WholeFileJob[]>();
  const locations: BlobLocation[] = [];
  for (const job of jobs) {
    const id = blobIdFromHex(job.entry.node.content![0]!);
    const key = blobKey(id);
    const loc = repo.locate(id);
    if (!loc) {
      fail(job, missingBlob(id));
      continue;
    }
    const list = byBlob.get(key);
    if (list) list.push(job);
    else {
      byBlob.set(key, [job]);
      locations.push(loc);
    }
  }
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  // Small ranges: one worker task per range, so tasks stay short and the workers finish together
  // (16 MiB ranges made tasks of up to 3,000 files, 0.4-0.6 s each, and a long tail on one worker).
  const jobsOf = (b: BlobLocation) => byBlob.get(blobKey(b.id)) ?? [];
  await repo.readRanges(
    locations,
    { maxRange: RANGE_BYTES, concurrency: 4 },
    async (range, bytes, lastTry) => {
      if (signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'restore interrupted');
      const targets: WholeFileJob[] = [];
      // The directories of this range's files, lent to the workers until they are done with them.
      const leases = new Map<string, DirLease>();
      const dirFd = (p: string) => {
        const dir = path.posix.dirname(p);
        let lease = leases.get(dir);
        if (!lease) leases.set(dir, (lease = target.lease(dir)));
        return lease.fd;
      };
      // A blob that failed authentication is read once more (`readRanges`); its files are written then.
      const again = new Set<BlobLocation>();
      try {
        const itemBlobs: BlobLocation[] = [];
        const items = range.blobs.flatMap((b) =>
          jobsOf(b).flatMap((job) => {
            const n = job.entry.node;
            let fd: number;
            try {
              fd = dirFd(job.entry.path);
            } catch (err) {
              fail(job, err);
              return [];
            }
            targets.push(job);
            itemBlobs.push(b);
            const writeTo: DirectWrite = {
              dirFd: fd,
              name: path.posix.basename(job.entry.path),
              shown: target.dest(job.entry.path),
              mode: n.mode,
              mtime: splitNs(n.mtimeNs),
              size: n.size ?? 0,
              ...(owners && (n.uid !== uid || n.gid !== gid) ? { owner: { uid: n.uid, gid: n.gid } } : {}),
            };
            return { id: b.id, offset: b.offset - range.offset, length: b.length, rawLength: b.rawLength, writeTo };
          }),
        );
        const results = await repo.pool.open(bytes, items);
        results.forEach((r, i) => {
          const job = targets[i]!;
          const blob = itemBlobs[i]!;
          if ('written' in r) done(job, r.written);
          else if (!('error' in r)) return;
          else if (!lastTry && r.code === ErrorCode.Corrupt) again.add(blob);
          else
            fail(
              job,
              new LifeboatError(r.code === ErrorCode.UnsafePath ? ErrorCode.UnsafePath : ErrorCode.Corrupt, r.error),
            );
        });
      } finally {
        for (const lease of leases.values()) lease.release();
      }
      return [...again];
    },
    (b, err) => {
      for (const job of jobsOf(b)) fail(job, err);
    },
  );
}
