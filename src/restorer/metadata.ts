/**
 * Owners (with `owners`, as root), modes and modification times (to the
 * nanosecond) of restored entries, as the snapshot records them, always set
 * through a descriptor or relative to the parent's descriptor (never by path).
 * A failed chown is ignored (a user who does not exist here); a failed chmod or
 * time is the entry's error.
 *
 * @module
 */

import { fchmodSync, fchownSync } from 'node:fs';
import type { TreeNode } from '../repository/format/index.js';
import { nativeFs, splitNs } from '../util/native-fs.js';

/** A file or directory this restore created or verified and holds open: set on the descriptor. */
export function applyMetadataToFd(fd: number, node: TreeNode, owners: boolean): void {
  // A new entry already belongs to us: chown only when the owner differs.
  if (owners && (node.uid !== process.getuid?.() || node.gid !== process.getgid?.())) {
    try {
      fchownSync(fd, node.uid, node.gid);
    } catch {
      // best effort
    }
  }
  fchmodSync(fd, node.mode & 0o7777);
  const { sec, nsec } = splitNs(node.mtimeNs);
  nativeFs().setTimes(fd, sec, nsec);
}

/** A symlink itself, never what it points to (it has no mode of its own). */
export function applySymlinkMetadata(dirFd: number, name: string, node: TreeNode, owners: boolean): void {
  const native = nativeFs();
  if (owners) {
    try {
      native.chownAt(dirFd, name, node.uid, node.gid);
    } catch {
      // best effort
    }
  }
  const { sec, nsec } = splitNs(node.mtimeNs);
  native.setTimesAt(dirFd, name, sec, nsec);
}
