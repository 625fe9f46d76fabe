/**
 * Writing a whole restored file in one go, used by worker threads for files
 * made of a single blob (most small files), so thousands of small files cost
 * no round trips through the main thread. The same rules as the main path:
 * the content (already checked against its blob id by the caller) must have
 * the recorded size before anything is written, and the file is created
 * relative to its directory's descriptor (lent by the main thread, which
 * made and verified that directory) with O_EXCL | O_NOFOLLOW after removing a
 * file or symlink that was there — never written through, never by path.
 *
 * @module
 */

import { closeSync, fchmodSync, fchownSync, writeSync } from 'node:fs';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { nativeFs } from '../../util/native-fs.js';

export interface DirectWrite {
  /** Descriptor of the directory the file goes in, open while the write runs. */
  dirFd: number;
  /** The file's name in that directory (one component). */
  name: string;
  /** The file's path, for messages. */
  shown: string;
  mode: number;
  /** Owner to set, when it differs from the process's. */
  owner?: { uid: number; gid: number };
  /** mtime: whole seconds and nanoseconds. */
  mtime: { sec: number; nsec: number };
  /** The file's recorded size. */
  size: number;
}

export function writeWholeFile(target: DirectWrite, data: Buffer): void {
  if (data.length !== target.size) {
    throw new LifeboatError(ErrorCode.Corrupt, `content is ${data.length} bytes, the snapshot records ${target.size}`);
  }
  const native = nativeFs();
  let fd: number;
  try {
    fd = native.createFileAt(target.dirFd, target.name, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new LifeboatError(
        ErrorCode.UnsafePath,
        `${target.shown} is a directory in the target; refusing to replace it`,
        { hint: 'restore into an empty --target' },
      );
    }
    throw err;
  }
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
    native.setTimes(fd, target.mtime.sec, target.mtime.nsec);
  } catch (err) {
    closeSync(fd);
    try {
      native.removeAt(target.dirFd, target.name);
    } catch {
      // already gone
    }
    throw err;
  }
  closeSync(fd);
}
