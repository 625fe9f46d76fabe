import { copyFile, mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { tallyFile } from '../../hashing.js';
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
  if (!isWalFileName(name))
    throw new LifeboatError(ErrorCode.Usage, `"${name}" is not a WAL file name`, {
      hint: "archive_command passes %p, the segment's path relative to the data directory",
    });
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const final = path.join(spoolDir, name);
  const existing = await stat(final).catch(() => undefined);
  if (existing) {
    const [a, b] = await Promise.all([tallyFile(final), tallyFile(file)]);
    if (a.sha256 === b.sha256 && a.bytes === b.bytes) return 'already spooled';
    throw new LifeboatError(
      ErrorCode.WalConflict,
      `WAL file ${name} is already in the spool ${spoolDir} with different content; it is never overwritten`,
      {
        hint: 'two servers may be archiving into the same spool: give each source its own spool_dir',
      },
    );
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

export async function syncDir(dir: string): Promise<void> {
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
