import { blobIdFromHex } from '../../src/repository/format/blob-types.js';
import { createHash } from 'node:crypto';
import { Repository } from '../../src/repository/repository.js';
import type { SnapshotEntry, TreeNode } from '../../src/repository/format/index.js';
import { openStorage } from '../../src/storage/registry.js';

/**
 * Library access for test oracles and fixtures: open a repository in the test
 * process (no cache, no worker pool) and walk snapshot trees.
 */
export async function openRepo(location: string, password: string): Promise<Repository> {
  const storage = await openStorage(location);
  return Repository.open(storage, { kind: 'password', password: Buffer.from(password, 'utf8'), source: 'test' });
}

export async function initRepo(
  location: string,
  password: string,
  options: Parameters<typeof Repository.init>[2] = {},
): Promise<Repository> {
  const storage = await openStorage(location, { create: true });
  return Repository.init(storage, Buffer.from(password, 'utf8'), options);
}

/** SHA-256 (hex) of a file node's content, read blob by blob (each checked against its id). */
export async function contentSha256(repo: Repository, node: TreeNode): Promise<string> {
  const hash = createHash('sha256');
  for (const id of node.content ?? []) hash.update(await repo.readBlob(blobIdFromHex(id)));
  return hash.digest('hex');
}

/** Every node of a snapshot by its snapshot path (`/tmp/x/file`), depth first. */
export async function snapshotNodes(
  repo: Repository,
  snapshot: Pick<SnapshotEntry, 'tree'>,
): Promise<Map<string, TreeNode>> {
  const out = new Map<string, TreeNode>();
  const walk = async (treeId: string, prefix: string) => {
    const tree = await repo.loadTree(treeId);
    for (const node of tree.nodes) {
      const p = prefix === '/' ? `/${node.name}` : `${prefix}/${node.name}`;
      out.set(p, node);
      if (node.type === 'dir' && node.subtree) await walk(node.subtree, p);
    }
  };
  await walk(snapshot.tree, '/');
  return out;
}
