import { ErrorCode, isLifeboatError, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import type { TreeNode } from '../repository/format/index.js';

/** Find the node at a snapshot path (`/srv/app/config.yaml`); the root is a virtual directory. */
export async function nodeAt(repo: Repository, rootTree: string, snapshotPath: string): Promise<TreeNode> {
  const parts = snapshotPath.split('/').filter(Boolean);
  let node: TreeNode = { name: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '0', subtree: rootTree };
  for (const part of parts) {
    if (node.type !== 'dir' || !node.subtree) throw notFound(snapshotPath);
    const tree = await repo.loadTree(node.subtree);
    const next = tree.nodes.find((n) => n.name === part);
    if (!next) throw notFound(snapshotPath);
    node = next;
  }
  return node;
}

function notFound(p: string): LifeboatError {
  return new LifeboatError(ErrorCode.NotFound, `${p} is not in the snapshot`, { hint: 'list the snapshot with `lifeboat ls SNAPSHOT`' });
}

/**
 * Depth-first walk yielding every node with its snapshot path. With
 * `unreadable`, a directory below the start whose tree cannot be read (damage)
 * is handed to it and the walk goes on; without, the error ends the walk.
 */
export async function* walkTree(
  repo: Repository,
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
