/**
 * Restoring one volume's files into a directory (a volume's mountpoint, or a
 * plain directory for verification): the snapshot keeps them under
 * `/volumes/NAME`, so they are restored into a staging directory inside the
 * destination (same file system) and moved up, and the destination takes the
 * volume root's mode, owner and times.
 *
 * @module
 */

import { chmod, chown, lstat, mkdtemp, readdir, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { Repository } from '../../repository/repository.js';
import type { SnapshotEntry } from '../../repository/format/index.js';
import { restore } from '../../restorer/restore.js';
import { volumePath } from './volume-view.js';

/** Restore volume `name` of the snapshot into `dir`, which must exist and be empty. */
export async function restoreVolumeFiles(
  repo: Repository,
  snapshot: SnapshotEntry,
  name: string,
  dir: string,
  signal: AbortSignal,
): Promise<void> {
  const staging = await mkdtemp(path.join(dir, '.lifeboat-restore-'));
  let rootStat;
  try {
    const result = await restore(repo, snapshot, { target: staging, include: [volumePath(name)], signal });
    if (result.errors.length)
      throw new LifeboatError(
        ErrorCode.PartialBackup,
        `${result.errors.length} file(s) of volume ${name} could not be restored: ${result.errors[0]!.path}: ${result.errors[0]!.message}`,
      );
    const root = path.join(staging, volumePath(name));
    for (const entry of await readdir(root)) await rename(path.join(root, entry), path.join(dir, entry));
    rootStat = await lstat(root);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  // After the staging directory is gone, whose removal changed the directory's times.
  await chmod(dir, rootStat.mode & 0o7777);
  if (process.getuid?.() === 0) await chown(dir, rootStat.uid, rootStat.gid);
  await utimes(dir, rootStat.atime, rootStat.mtime);
}

/** Remove everything inside `dir`, keeping `dir` itself (a volume's mountpoint belongs to the engine). */
export async function emptyDirectory(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) await rm(path.join(dir, entry), { recursive: true, force: true });
}
