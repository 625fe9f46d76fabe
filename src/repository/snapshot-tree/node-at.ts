import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { TreeNode } from '../format/index.js';
import type { TreeSource } from './tree-source.js';

/** Find the node at a snapshot path (`/srv/app/config.yaml`); the root is a virtual directory. */
export async function nodeAt(repo: TreeSource, rootTree: string, snapshotPath: string): Promise<TreeNode> {
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
  return new LifeboatError(ErrorCode.NotFound, `${p} is not in the snapshot`, {
    hint: 'list the snapshot with `lifeboat ls SNAPSHOT`',
  });
}
