import { chmod, lchown, lutimes, utimes, type FileHandle } from 'node:fs/promises';
import type { TreeNode } from '../repository/tree.js';
import { nsToSeconds } from './time.js';

/**
 * Owners (with `owners`, as root), modes and modification times of restored
 * entries, as the snapshot records them. A failed chown is ignored (a user who
 * does not exist here); a failed chmod or utimes is the entry's error.
 */

/** A file this restore created and still holds open: set on the descriptor. */
export async function finishFile(handle: FileHandle, node: TreeNode, owners: boolean): Promise<void> {
  // A new file already belongs to us: chown only when the owner differs.
  if (owners && (node.uid !== process.getuid?.() || node.gid !== process.getgid?.())) await handle.chown(node.uid, node.gid).catch(() => undefined);
  await handle.chmod(node.mode & 0o7777);
  const t = nsToSeconds(node.mtimeNs);
  await handle.utimes(t, t);
}

/** A directory, by path. */
export async function applyMetadata(p: string, node: TreeNode, owners: boolean): Promise<void> {
  if (owners) await lchown(p, node.uid, node.gid).catch(() => undefined);
  await chmod(p, node.mode & 0o7777);
  const t = nsToSeconds(node.mtimeNs);
  await utimes(p, t, t);
}

/** A symlink itself, never what it points to (it has no mode of its own). */
export async function applySymlinkMetadata(p: string, node: TreeNode, owners: boolean): Promise<void> {
  if (owners) await lchown(p, node.uid, node.gid).catch(() => undefined);
  const t = nsToSeconds(node.mtimeNs);
  await lutimes(p, t, t);
}
