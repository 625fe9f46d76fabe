/**
 * The file-system steps of a restore below a directory descriptor, never
 * following a symlink: a file is created with O_EXCL | O_NOFOLLOW after
 * removing whatever non-directory was there, so an existing symlink or
 * hardlink at the destination is replaced, never written through; a directory
 * in the way is refused. `shown` names the entry in messages.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';
import { nativeFs } from '../util/native-fs.js';

export function createFileIn(dirFd: number, name: string, shown: string): number {
  try {
    return nativeFs().createFileAt(dirFd, name, 0o600);
  } catch (err) {
    throw refusedDirectory(err, shown);
  }
}

/** Make room for a new entry: remove a file or symlink; refuse to touch a directory. */
export function removeNonDirectoryIn(dirFd: number, name: string, shown: string): void {
  try {
    nativeFs().removeAt(dirFd, name);
  } catch (err) {
    throw refusedDirectory(err, shown);
  }
}

function refusedDirectory(err: unknown, shown: string): unknown {
  if ((err as NodeJS.ErrnoException).code !== 'EISDIR') return err;
  return new LifeboatError(ErrorCode.UnsafePath, `${shown} is a directory in the target; refusing to replace it`, {
    hint: 'restore into an empty --target',
  });
}
