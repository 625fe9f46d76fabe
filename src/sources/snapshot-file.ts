import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobIdFromHex } from '../repository/format/index.js';
import { blobKey } from '../repository/index/index.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry, TreeNode } from '../repository/format/index.js';
import { fetchBlobs } from '../restorer/blob-fetcher.js';
import { nodeAt } from '../repository/snapshot-tree/index.js';

const GROUP = 16;

/** The node of a file (or stream) inside a snapshot, or a clear error. */
export async function snapshotFileNode(repo: Repository, snapshot: SnapshotEntry, filePath: string): Promise<TreeNode> {
  const node = await nodeAt(repo, snapshot.tree, filePath);
  if (node.type !== 'file' && node.type !== 'stream') {
    throw new LifeboatError(ErrorCode.Usage, `${filePath} is a ${node.type}, not a file`, {
      hint: 'use `lifeboat ls` or `lifeboat restore --include`',
    });
  }
  return node;
}

/**
 * The content of one file of a snapshot, in order, with bounded memory. Every
 * blob is authenticated and checked against its id (the keyed hash of its
 * content) as it is read, and the total length against the recorded size: a
 * consumer that reaches the end of the iteration has received exactly what
 * was backed up.
 */
export async function* readSnapshotFile(repo: Repository, node: TreeNode, label: string): AsyncGenerator<Buffer> {
  const ids = (node.content ?? []).map(blobIdFromHex);
  let size = 0;
  for (let i = 0; i < ids.length; i += GROUP) {
    const group = ids.slice(i, i + GROUP);
    const fetched = await fetchBlobs(repo, group);
    for (const id of group) {
      const data = fetched.data.get(blobKey(id));
      if (!data)
        throw fetched.failed.get(blobKey(id)) ?? new LifeboatError(ErrorCode.Corrupt, `${label}: a blob is missing`);
      size += data.length;
      yield data;
    }
  }
  if (node.size !== undefined && size !== node.size)
    throw new LifeboatError(ErrorCode.Corrupt, `${label}: ${size} bytes read, ${node.size} recorded`);
}
