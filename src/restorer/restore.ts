import { chmod, lchown, link, lutimes, mkdir, realpath, symlink, unlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { BlobLocation } from '../repository/blob-types.js';
import { blobKey } from '../repository/master-index.js';
import { mapLimit } from '../util/map-limit.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/snapshot.js';
import { sameContent, type TreeNode } from '../repository/tree.js';
import { planRanges } from './blob-fetcher.js';
import { planRestore, type PlannedEntry, type RestorePlan, type Selection } from './plan.js';
import { createFileExclusive, ensureRealDirectory, removeNonDirectory } from './safe-fs.js';
import { nsToSeconds } from './time.js';
import { restoreWholeFiles } from './whole-files.js';

export { nsToSeconds } from './time.js';

export interface RestoreOptions extends Selection {
  target: string;
  dryRun?: boolean;
  /** Restore uid/gid (default: when running as root). */
  owners?: boolean;
  progress?: RestoreProgress;
  signal?: AbortSignal;
}

export interface RestoreProgress {
  filesDone: number;
  bytesDone: number;
  totalFiles: number;
  totalBytes: number;
}

export interface RestoreResult {
  plan: RestorePlan;
  target: string;
  files: number;
  bytes: number;
  errors: Array<{ path: string; message: string }>;
}

/**
 * Restore a snapshot (or part of it) into `target`. Content is fetched in batches
 * in pack order, authenticated blob by blob and checked against its id (the
 * keyed hash of its content), then written sequentially per file; a file with a
 * blob that fails, or whose length differs from the recorded size, is removed
 * and reported. Nothing is written outside the target.
 */
export async function restore(repo: Repository, snapshot: SnapshotEntry, options: RestoreOptions): Promise<RestoreResult> {
  if (repo.index.packCount === 0) await repo.prepareRead();
  const plan = await planRestore(repo, snapshot.tree, options);
  const errors = [...plan.refused];
  const result: RestoreResult = { plan, target: path.resolve(options.target), files: 0, bytes: 0, errors };
  if (options.dryRun) return result;

  await mkdir(result.target, { recursive: true, mode: 0o700 });
  const root = await realpath(result.target);
  const dest = (p: string) => path.join(root, ...p.split('/').filter(Boolean));
  const owners = options.owners ?? process.getuid?.() === 0;
  const progress = options.progress ?? { filesDone: 0, bytesDone: 0, totalFiles: 0, totalBytes: 0 };
  progress.totalFiles = plan.files.length;
  progress.totalBytes = plan.bytes;
  const fail = (p: string, err: unknown) => errors.push({ path: p, message: (err as Error).message ?? String(err) });

  // Directories first, parents before children (one depth after the other, the directories of one
  // depth concurrently), each verified to be a real directory; one whose parent was not made is
  // skipped, never created through whatever is at the parent's path.
  const madeDirs = new Set<string>();
  const parentOk = (p: string) => {
    const parent = path.posix.dirname(p);
    return parent === '/' || madeDirs.has(parent);
  };
  const levels = byDepth(plan.dirs);
  for (const level of levels) {
    await mapLimit(level, DIR_CONCURRENCY, async (d) => {
      if (!parentOk(d.path)) return;
      try {
        await ensureRealDirectory(dest(d.path));
        madeDirs.add(d.path);
      } catch (err) {
        fail(d.path, err);
      }
    });
  }

  // Names of one multiply-linked file (same dev and inode): the first is restored, the others are linked to it.
  const { primaries, links } = groupLinkedFiles(plan.files.filter((f) => parentOk(f.path)));
  const files = primaries;
  // Linked names write no content: the totals count what is written.
  progress.totalFiles = files.length + links.length;
  progress.totalBytes = files.reduce((n, f) => n + (f.node.size ?? 0), 0);
  const single = files.filter((f) => f.node.content?.length === 1);
  const chunked = files.filter((f) => f.node.content?.length !== 1);
  await restoreWholeFiles(
    repo,
    single.map((entry) => ({ entry, dest: dest(entry.path) })),
    owners,
    (_job, bytes) => {
      result.files++;
      result.bytes += bytes;
      progress.filesDone++;
      progress.bytesDone += bytes;
    },
    (job, err) => fail(job.entry.path, err),
    options.signal,
  );
  if (options.signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'restore interrupted');
  await restoreContents(repo, chunked, dest, owners, progress, result, fail, options.signal);

  for (const s of plan.symlinks) {
    if (!parentOk(s.path)) continue;
    try {
      const to = dest(s.path);
      await removeNonDirectory(to);
      await symlink(s.node.target ?? '', to);
      if (owners) await lchown(to, s.node.uid, s.node.gid).catch(() => undefined);
      const t = nsToSeconds(s.node.mtimeNs);
      await lutimes(to, t, t);
    } catch (err) {
      fail(s.path, err);
    }
  }

  const failed = new Set(errors.map((e) => e.path));
  for (const { entry, to } of links) {
    try {
      if (failed.has(to.path)) throw new LifeboatError(ErrorCode.Failure, `not linked: ${to.path}, its other name, could not be restored`);
      await removeNonDirectory(dest(entry.path));
      await link(dest(to.path), dest(entry.path));
      result.files++;
      progress.filesDone++;
    } catch (err) {
      fail(entry.path, err);
    }
  }

  const restoredFiles = new Set(plan.files.map((f) => f.path));
  for (const h of plan.hardlinks) {
    const target = h.node.target ?? '';
    if (!parentOk(h.path)) continue;
    if (!restoredFiles.has(target) || errors.some((e) => e.path === target)) {
      fail(h.path, new LifeboatError(ErrorCode.UnsafePath, `hardlink to ${target}, which is not a file restored by this run`));
      continue;
    }
    try {
      const to = dest(h.path);
      await removeNonDirectory(to);
      await link(dest(target), to);
    } catch (err) {
      fail(h.path, err);
    }
  }

  // Directory metadata last, deepest first, so writing into them does not change their mtime
  // (and a parent's mode is set only after its children's metadata).
  for (const level of [...levels].reverse()) {
    await mapLimit(level, DIR_CONCURRENCY, async (d) => {
      if (!madeDirs.has(d.path)) return;
      try {
        await applyMetadata(dest(d.path), d.node, owners);
      } catch (err) {
        fail(d.path, err);
      }
    });
  }
  return result;
}

/** Directories in the threadpool at once, while directories are made or their metadata set. */
const DIR_CONCURRENCY = 16;

/** Directories grouped by depth, shallowest first (plan order within a depth). */
function byDepth(dirs: PlannedEntry[]): PlannedEntry[][] {
  const levels: PlannedEntry[][] = [];
  for (const d of dirs) {
    const depth = d.path.split('/').length - 2;
    (levels[depth] ??= []).push(d);
  }
  return levels.filter((l) => l !== undefined);
}

/** Split files into those to write and those to link to an earlier name of the same inode. */
function groupLinkedFiles(files: PlannedEntry[]): { primaries: PlannedEntry[]; links: Array<{ entry: PlannedEntry; to: PlannedEntry }> } {
  const first = new Map<string, PlannedEntry>();
  const primaries: PlannedEntry[] = [];
  const links: Array<{ entry: PlannedEntry; to: PlannedEntry }> = [];
  for (const f of files) {
    const n = f.node;
    if ((n.links ?? 1) > 1 && n.inode !== undefined && n.dev !== undefined) {
      const key = `${n.dev}:${n.inode}`;
      const to = first.get(key);
      if (to && sameContent(to.node, n)) {
        links.push({ entry: f, to });
        continue;
      }
      if (!to) first.set(key, f);
    }
    primaries.push(f);
  }
  return { primaries, links };
}

interface FileJob {
  entry: PlannedEntry;
  dest: string;
  ids: Buffer[];
  handle?: FileHandle;
  /** Whether this restore created the file (only then is it removed on failure). */
  created?: boolean;
  /** Bytes written so far (by the workers). */
  written: number;
  failed?: string;
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
/** Files opened per batch at most, so open descriptors stay well below the usual limit of 1024. */
const BATCH_FILES = 128;

/**
 * Files made of several blobs (and empty files). This thread creates each file
 * (exclusively, never through a symlink) and keeps it open; the workers that
 * decrypt and check the blobs write them at their positions in the open files,
 * so no content travels back here. Batches of about BATCH_BYTES of content are
 * fetched in plan order, two at a time; a file is finished (size checked,
 * metadata set, closed) after the batch holding its last chunk, or removed if
 * any of its blobs failed.
 */
async function restoreContents(
  repo: Repository,
  files: PlannedEntry[],
  dest: (p: string) => string,
  owners: boolean,
  progress: RestoreProgress,
  result: RestoreResult,
  fail: (p: string, err: unknown) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const batches: Batch[] = [];
  let batch: Batch = { index: 0, opens: [], parts: [] };
  let batchBytes = 0;
  const jobs: FileJob[] = [];
  for (const entry of files) {
    if (batch.opens.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) {
      batches.push(batch);
      batch = { index: batches.length, opens: [], parts: [] };
      batchBytes = 0;
    }
    const job: FileJob = { entry, dest: dest(entry.path), ids: (entry.node.content ?? []).map((h) => Buffer.from(h, 'hex')), written: 0, lastBatch: 0 };
    jobs.push(job);
    batch.opens.push(job);
    let position = 0;
    for (let i = 0; i < job.ids.length; i++) {
      if (batchBytes >= BATCH_BYTES) {
        batches.push(batch);
        batch = { index: batches.length, opens: [], parts: [] };
        batchBytes = 0;
      }
      const rawLength = repo.index.lookup(job.ids[i]!)?.rawLength ?? 0;
      batch.parts.push({ job, i, position });
      position += rawLength;
      batchBytes += rawLength;
    }
    job.lastBatch = batch.index;
  }
  if (batch.opens.length || batch.parts.length) batches.push(batch);

  const failJob = (job: FileJob, err: unknown) => {
    if (job.failed) return;
    job.failed = (err as Error).message;
    fail(job.entry.path, err);
  };
  const finish = async (job: FileJob) => {
    try {
      if (job.failed) throw new Error(job.failed);
      const expected = job.entry.node.size ?? 0;
      if (job.written !== expected) throw new LifeboatError(ErrorCode.Corrupt, `content is ${job.written} bytes, the snapshot records ${expected}`);
      await finishFile(job.handle!, job.entry.node, owners);
      await job.handle!.close();
      job.handle = undefined;
      result.files++;
      result.bytes += expected;
      progress.filesDone++;
    } catch (err) {
      failJob(job, err);
      await job.handle?.close().catch(() => undefined);
      job.handle = undefined;
      // Never leave a partial or wrong file behind.
      if (job.created) await unlink(job.dest).catch(() => undefined);
    }
  };

  // Files are opened batch after batch: a batch's chunks may belong to files opened by an earlier one.
  let opening: Promise<unknown> = Promise.resolve();
  const fetch = async (b: Batch) => {
    opening = opening.then(() =>
      mapLimit(b.opens, 16, async (job) => {
        try {
          job.handle = await createFileExclusive(job.dest);
          job.created = true;
        } catch (err) {
          failJob(job, err);
        }
      }),
    );
    await opening;
    // Every blob once, with all the places it goes to.
    const targets = new Map<string, { id: Buffer; at: Array<{ job: FileJob; position: number }> }>();
    for (const { job, i, position } of b.parts) {
      if (job.failed) continue;
      if (!job.handle) throw new Error(`internal error: ${job.entry.path} is not open`);
      const id = job.ids[i]!;
      const key = blobKey(id);
      const t = targets.get(key);
      if (t) t.at.push({ job, position });
      else targets.set(key, { id, at: [{ job, position }] });
    }
    const locations: BlobLocation[] = [];
    for (const [, t] of targets) {
      const loc = repo.index.lookup(t.id);
      if (loc) locations.push(loc);
      else for (const { job } of t.at) failJob(job, new LifeboatError(ErrorCode.Corrupt, `blob ${t.id.toString('hex').slice(0, 12)} is not in any readable pack`));
    }
    await mapLimit(planRanges(locations), 4, async (range) => {
      const live = (b: BlobLocation) => targets.get(blobKey(b.id))!.at.filter(({ job }) => !job.failed && job.handle);
      let bytes: Buffer;
      try {
        bytes = await repo.readPackRange(range.packId, range.offset, range.end - range.offset, range.blobs[0]!.type);
      } catch (err) {
        const error = err instanceof LifeboatError ? err : new LifeboatError(ErrorCode.Storage, (err as Error).message);
        for (const blob of range.blobs) for (const { job } of live(blob)) failJob(job, error);
        return;
      }
      const blobs = range.blobs.map((blob) => ({ blob, at: live(blob) })).filter((x) => x.at.length > 0);
      const items = blobs.map(({ blob, at }) => ({
        id: blob.id,
        offset: blob.offset - range.offset,
        length: blob.length,
        rawLength: blob.rawLength,
        writeAt: at.map(({ job, position }) => ({ fd: job.handle!.fd, position })),
      }));
      const opened = await repo.pool.open(bytes, items);
      opened.forEach((r, i) => {
        const { blob, at } = blobs[i]!;
        if ('written' in r) {
          // Written once at every position in `at` (a chunk can repeat within a file and across files).
          for (const { job } of at) job.written += r.written;
          progress.bytesDone += r.written * at.length;
        } else if ('error' in r) {
          const error = new LifeboatError(ErrorCode.Corrupt, `blob ${blob.id.toString('hex').slice(0, 12)} in pack ${blob.packId.slice(0, 12)}: ${r.error}`, { context: { pack: blob.packId } });
          for (const { job } of at) failJob(job, error);
        }
      });
    });
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
      if (!job.handle) continue;
      await job.handle.close().catch(() => undefined);
      job.handle = undefined;
      await unlink(job.dest).catch(() => undefined);
    }
  }
}

async function finishFile(handle: FileHandle, node: TreeNode, owners: boolean): Promise<void> {
  // A new file already belongs to us: chown only when the owner differs.
  if (owners && (node.uid !== process.getuid?.() || node.gid !== process.getgid?.())) await handle.chown(node.uid, node.gid).catch(() => undefined);
  await handle.chmod(node.mode & 0o7777);
  const t = nsToSeconds(node.mtimeNs);
  await handle.utimes(t, t);
}

async function applyMetadata(p: string, node: TreeNode, owners: boolean): Promise<void> {
  if (owners) await lchown(p, node.uid, node.gid).catch(() => undefined);
  await chmod(p, node.mode & 0o7777);
  const t = nsToSeconds(node.mtimeNs);
  await utimes(p, t, t);
}
