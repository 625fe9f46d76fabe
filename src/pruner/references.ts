import { blobIdFromHex, type BlobId } from '../repository/format/index.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobKey } from '../repository/index/index.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';

/**
 * The blobs the snapshots reference (as `blobKey`s): every tree reachable from
 * a snapshot root, and every content blob of its files and streams. Shared
 * subtrees are walked once. A tree that cannot be read rejects the whole walk:
 * what it references is unknown, so nothing may be called unused.
 */
export async function referencedBlobs(
  repo: Repository,
  snapshots: SnapshotEntry[],
  onTree?: () => void,
): Promise<Set<string>> {
  const used = new Set<string>();
  const pending: Array<{ tree: string; snapshot: string }> = [];
  const visit = (tree: string, snapshot: string) => {
    const key = treeKey(tree, snapshot);
    if (used.has(key)) return;
    used.add(key);
    pending.push({ tree, snapshot });
  };
  for (const s of snapshots) visit(s.tree, s.id);
  for (let next = pending.pop(); next; next = pending.pop()) {
    let nodes;
    try {
      nodes = (await repo.loadTree(next.tree)).nodes;
    } catch (err) {
      throw new LifeboatError(
        ErrorCode.Refused,
        `prune refused: tree ${next.tree.slice(0, 12)} of snapshot ${next.snapshot.slice(0, 8)} cannot be read (${(err as Error).message})`,
        {
          hint: 'run `lifeboat check`; prune deletes nothing while any snapshot cannot be walked completely',
          cause: err,
        },
      );
    }
    onTree?.();
    for (const node of nodes) {
      if (node.type === 'dir' && node.subtree) visit(node.subtree, next.snapshot);
      for (const id of node.content ?? []) used.add(blobKey(hexId(id, next.snapshot)));
    }
  }
  return used;
}

function treeKey(tree: string, snapshot: string): string {
  return blobKey(hexId(tree, snapshot));
}

/** Ids in trees are untrusted text; a malformed one is damage, not an id to skip. */
function hexId(id: unknown, snapshot: string): BlobId {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `prune refused: snapshot ${snapshot.slice(0, 8)} references a malformed blob id`,
      { hint: 'run `lifeboat check`' },
    );
  }
  return blobIdFromHex(id);
}
