import { createHash } from 'node:crypto';
import { chmod, lchown, link, lutimes, mkdir, realpath, symlink, unlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobKey } from '../repository/master-index.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/snapshot.js';
import type { TreeNode } from '../repository/tree.js';
import { Semaphore } from '../util/semaphore.js';
import { fetchBlobs, type FetchResult } from './blob-fetcher.js';
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

interface FileJob {
  entry: PlannedEntry;
  dest: string;
  ids: Buffer[];
  next: number;
  handle?: FileHandle;
  hash: ReturnType<typeof createHash>;
  failed?: string;
  tail: Promise<void>;
}

const BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Restore a snapshot (or part of it) into `target`. Content is fetched in batches
 * in pack order, authenticated blob by blob, written sequentially per file and
 * hashed; a file whose hash differs from the recorded one is removed and
 * reported. Nothing is written outside the target.
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

  // Directories first, parents before children (plan order), each verified to be a real directory.
  const madeDirs = new Set<string>();
  for (const d of plan.dirs) {
    try {
      await ensureRealDirectory(dest(d.path));
      madeDirs.add(d.path);
    } catch (err) {
      fail(d.path, err);
    }
  }
  const parentOk = (p: string) => {
    const parent = path.posix.dirname(p);
    return parent === '/' || madeDirs.has(parent);
  };

  // Names of one multiply-linked file (same dev and inode): the first is restored, the others are linked to it.
  const { primaries, links } = groupLinkedFiles(plan.files.filter((f) => parentOk(f.path)));
  const files = primaries;
  // Linked names write no content: the totals count what is written.
  progress.totalFiles = files.length + links.length;
  progress.totalBytes = files.reduce((n, f) => n + (f.node.size ?? 0), 0);
  const single = files.filter((f) => f.node.content?.length === 1 && typeof f.node.hash === 'string');
  const chunked = files.filter((f) => !(f.node.content?.length === 1 && typeof f.node.hash === 'string'));
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

  // Directory metadata last, deepest first, so writing into them does not change their mtime.
  for (const d of [...plan.dirs].reverse()) {
    if (!madeDirs.has(d.path)) continue;
    try {
      await applyMetadata(dest(d.path), d.node, owners);
    } catch (err) {
      fail(d.path, err);
    }
  }
  return result;
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
      if (to && to.node.hash === n.hash) {
        links.push({ entry: f, to });
        continue;
      }
      if (!to) first.set(key, f);
    }
    primaries.push(f);
  }
  return { primaries, links };
}

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
  const jobs: FileJob[] = files.map((entry) => ({
    entry,
    dest: dest(entry.path),
    ids: (entry.node.content ?? []).map((h) => Buffer.from(h, 'hex')),
    next: 0,
    hash: createHash('sha256'),
    tail: Promise.resolve(),
  }));
  const writers = new Semaphore(16);

  // Build batches of (job, chunk range) of about BATCH_BYTES of content, in file order.
  const batches: Array<Array<{ job: FileJob; from: number; to: number }>> = [];
  let batch: Array<{ job: FileJob; from: number; to: number }> = [];
  let batchBytes = 0;
  for (const job of jobs) {
    let from = 0;
    for (let i = 0; i < job.ids.length; i++) {
      batchBytes += repo.index.lookup(job.ids[i]!)?.rawLength ?? 0;
      if (batchBytes >= BATCH_BYTES) {
        batch.push({ job, from, to: i + 1 });
        batches.push(batch);
        batch = [];
        batchBytes = 0;
        from = i + 1;
      }
    }
    if (from < job.ids.length || job.ids.length === 0) batch.push({ job, from, to: job.ids.length });
  }
  if (batch.length) batches.push(batch);

  const fetchBatch = (b: typeof batch) => fetchBlobs(repo, b.flatMap((part) => part.job.ids.slice(part.from, part.to)));
  let pending: Promise<FetchResult> | undefined = batches[0] ? fetchBatch(batches[0]) : undefined;
  for (let bi = 0; bi < batches.length; bi++) {
    if (signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'restore interrupted');
    const fetched = await pending!;
    // Fetch the next batch while this one is written.
    pending = bi + 1 < batches.length ? fetchBatch(batches[bi + 1]!) : undefined;
    const writes = batches[bi]!.map((part) => {
      const job = part.job;
      job.tail = job.tail.then(() => writers.with(1, () => writePart(job, part.from, part.to, fetched, owners, progress, result, fail)));
      return job.tail;
    });
    await Promise.all(writes);
  }
}

async function writePart(
  job: FileJob,
  from: number,
  to: number,
  fetched: FetchResult,
  owners: boolean,
  progress: RestoreProgress,
  result: RestoreResult,
  fail: (p: string, err: unknown) => void,
): Promise<void> {
  if (job.failed) return;
  try {
    job.handle ??= await createFileExclusive(job.dest);
    // Many small chunks (database pages) are written with one writev per group.
    let group: Buffer[] = [];
    const flush = async () => {
      if (group.length) await writeAll(job.handle!, group);
      group = [];
    };
    for (let i = from; i < to; i++) {
      const key = blobKey(job.ids[i]!);
      const data = fetched.data.get(key);
      if (!data) throw fetched.failed.get(key) ?? new LifeboatError(ErrorCode.Corrupt, 'blob missing from fetch');
      job.hash.update(data);
      group.push(data);
      progress.bytesDone += data.length;
      if (group.length >= 512) await flush();
    }
    await flush();
    if (to === job.ids.length) {
      const digest = job.hash.digest('hex');
      if (job.entry.node.hash && digest !== job.entry.node.hash) {
        throw new LifeboatError(ErrorCode.Corrupt, `content hash mismatch (expected ${job.entry.node.hash.slice(0, 16)}…, got ${digest.slice(0, 16)}…)`);
      }
      await finishFile(job.handle, job.entry.node, owners);
      await job.handle.close();
      job.handle = undefined;
      result.files++;
      result.bytes += job.entry.node.size ?? 0;
      progress.filesDone++;
    }
  } catch (err) {
    job.failed = (err as Error).message;
    fail(job.entry.path, err);
    await job.handle?.close().catch(() => undefined);
    job.handle = undefined;
    // Never leave a partial or wrong file behind.
    await unlink(job.dest).catch(() => undefined);
  }
}

/** Append buffers to the file, looping over short writes. */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length) {
    let written = (await handle.writev(pending)).bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (written >= b.length) written -= b.length;
      else {
        rest.push(written > 0 ? b.subarray(written) : b);
        written = 0;
      }
    }
    pending = rest;
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
