import { constants } from 'node:fs';
import { lstat, mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { ErrorCode, LifeboatError, systemErrorCode } from '../errors/index.js';

/**
 * File-system steps of a restore that never follow a symlink: directories are
 * created or verified to be real directories (parents first), and files are
 * created with O_EXCL | O_NOFOLLOW after removing whatever non-directory was
 * there — so an existing symlink or hardlink at the destination is replaced,
 * never written through.
 */
export async function ensureRealDirectory(p: string): Promise<void> {
  try {
    await mkdir(p, { mode: 0o700 });
    return;
  } catch (err) {
    if (systemErrorCode(err) !== 'EEXIST') throw err;
  }
  const st = await lstat(p);
  if (!st.isDirectory()) {
    throw new LifeboatError(ErrorCode.UnsafePath, `${p} exists and is not a directory (${st.isSymbolicLink() ? 'a symlink' : 'a file'}); refusing to restore through it`, {
      hint: 'restore into an empty --target',
    });
  }
}

export async function createFileExclusive(p: string): Promise<FileHandle> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  try {
    return await open(p, flags, 0o600);
  } catch (err) {
    if (systemErrorCode(err) !== 'EEXIST') throw err;
  }
  await removeNonDirectory(p);
  return open(p, flags, 0o600);
}

/** Make room for a new entry: remove a file or symlink; refuse to touch a directory. */
export async function removeNonDirectory(p: string): Promise<void> {
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return;
    throw err;
  }
  if (st.isDirectory()) {
    throw new LifeboatError(ErrorCode.UnsafePath, `${p} is a directory in the target; refusing to replace it`, { hint: 'restore into an empty --target' });
  }
  await unlink(p);
}
