import { closeSync, constants, fchmodSync, fchownSync, futimesSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { ErrorCode, LifeboatError } from '../errors/index.js';

/**
 * Writing a whole restored file in one go, used by worker threads for files
 * made of a single blob (most small files), so thousands of small files cost
 * no round trips through the main thread. The same rules as the main path:
 * the content (already checked against its blob id by the caller) must have
 * the recorded size before anything is written, and
 * the file is created with O_EXCL | O_NOFOLLOW after removing a file or symlink
 * that was there — never written through.
 */
export interface DirectWrite {
  path: string;
  mode: number;
  /** Owner to set, when it differs from the process's. */
  owner?: { uid: number; gid: number };
  /** mtime in seconds. */
  mtime: number;
  /** The file's recorded size. */
  size: number;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function createExclusive(path: string): number {
  try {
    return openSync(path, CREATE, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (lstatSync(path).isDirectory()) {
    throw new LifeboatError(ErrorCode.UnsafePath, `${path} is a directory in the target; refusing to replace it`, { hint: 'restore into an empty --target' });
  }
  unlinkSync(path);
  return openSync(path, CREATE, 0o600);
}

export function writeWholeFile(target: DirectWrite, data: Buffer): void {
  if (data.length !== target.size) {
    throw new LifeboatError(ErrorCode.Corrupt, `content is ${data.length} bytes, the snapshot records ${target.size}`);
  }
  const fd = createExclusive(target.path);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    if (target.owner) {
      try {
        fchownSync(fd, target.owner.uid, target.owner.gid);
      } catch {
        // ownership is best effort, like the main path
      }
    }
    fchmodSync(fd, target.mode & 0o7777);
    futimesSync(fd, target.mtime, target.mtime);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(target.path);
    } catch {
      // already gone
    }
    throw err;
  }
  closeSync(fd);
}
