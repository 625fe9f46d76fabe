import { copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { Repository } from '../../../repository/repository.js';
import { tallyFile } from '../../hashing.js';
import { pushWal, type PushResult } from './wal-archive.js';
import { isWalFileName } from './wal-names.js';

/**
 * The async archive mode's local spool. `wal-push --async` acknowledges a
 * segment once it is durably on this host's disk: copied to `<name>.tmp`,
 * fsynced, renamed to `<name>`, and the directory fsynced. The drain (the
 * daemon, or `lifeboat wal drain`) stores spooled files in the repository in
 * batches and removes them from the spool only after the snapshot was saved.
 */
export async function spoolWal(spoolDir: string, file: string): Promise<'spooled' | 'already spooled'> {
  const name = path.basename(file);
  if (!isWalFileName(name)) throw new LifeboatError(ErrorCode.Usage, `"${name}" is not a WAL file name`, { hint: "archive_command passes %p, the segment's path relative to the data directory" });
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const final = path.join(spoolDir, name);
  const existing = await stat(final).catch(() => undefined);
  if (existing) {
    const [a, b] = await Promise.all([tallyFile(final), tallyFile(file)]);
    if (a.sha256 === b.sha256 && a.bytes === b.bytes) return 'already spooled';
    throw new LifeboatError(ErrorCode.WalConflict, `WAL file ${name} is already in the spool ${spoolDir} with different content; it is never overwritten`, {
      hint: 'two servers may be archiving into the same spool: give each source its own spool_dir',
    });
  }
  const temp = `${final}.tmp`;
  await copyFile(file, temp);
  const handle = await open(temp, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, final);
  await syncDir(spoolDir);
  return 'spooled';
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Spooled WAL files waiting for the repository, oldest name first (history files before segments of their timeline). */
export async function spooledFiles(spoolDir: string): Promise<string[]> {
  const names = await readdir(spoolDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter(isWalFileName).sort();
}

export interface DrainResult extends PushResult {
  /** Files still in the spool afterwards (more than one batch, or a failure). */
  left: number;
}

/**
 * Move spooled WAL into the repository: one snapshot per batch of up to
 * `batch` files, then remove exactly those files from the spool. A failure
 * (a conflict, the repository unreachable) leaves the spool as it was.
 */
export async function drainSpool(repo: Repository, source: string, spoolDir: string, options: { batch?: number; host?: string; signal?: AbortSignal } = {}): Promise<DrainResult> {
  const all = await spooledFiles(spoolDir);
  const batch = all.slice(0, options.batch ?? 512);
  if (batch.length === 0) return { stored: [], alreadyArchived: [], left: 0 };
  const files = await Promise.all(
    batch.map(async (name) => {
      const file = path.join(spoolDir, name);
      return { file, name, archivedAt: (await stat(file)).mtime.toISOString() };
    }),
  );
  const result = await pushWal(repo, source, files, { host: options.host, signal: options.signal });
  for (const f of files) await rm(f.file, { force: true });
  await syncDir(spoolDir);
  return { ...result, left: all.length - batch.length };
}
