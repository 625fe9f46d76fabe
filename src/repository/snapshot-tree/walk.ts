import { ErrorCode, isLifeboatError, type LifeboatError } from '../../errors/index.js';
import type { TreeNode } from '../format/index.js';
import type { TreeSource } from './tree-source.js';

/**
 * Depth-first walk yielding every node with its snapshot path. With
 * `unreadable`, a directory below the start whose tree cannot be read (damage)
 * is handed to it and the walk goes on; without, the error ends the walk.
 */
export async function* walkTree(
  repo: TreeSource,
  treeId: string,
  prefix: string,
  unreadable?: (path: string, err: LifeboatError) => void,
): AsyncGenerator<{ path: string; node: TreeNode }> {
  const tree = await repo.loadTree(treeId);
  for (const node of tree.nodes) {
    const p = prefix === '/' ? `/${node.name}` : `${prefix}/${node.name}`;
    yield { path: p, node };
    if (node.type !== 'dir' || !node.subtree) continue;
    try {
      yield* walkTree(repo, node.subtree, p, unreadable);
    } catch (err) {
      if (!unreadable || !isLifeboatError(err, ErrorCode.Corrupt)) throw err;
      unreadable(p, err);
    }
  }
}
