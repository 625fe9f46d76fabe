import { sameContent, type TreeNode } from '../format/index.js';
import type { TreeSource } from './tree-source.js';

/**
 * How one path differs between two snapshots:
 * - `added` / `removed`: present on one side only (a directory's contents follow, one change each);
 * - `type`: a different kind of entry (file, directory, symlink, …) under the same name; the
 *   contents of a directory on either side follow as `removed` / `added`;
 * - `modified`: the same kind of entry with other content (blobs or size), another symlink or
 *   hardlink target, or other permission bits (a directory counts for its own mode only: changes
 *   inside it are listed for the entries themselves);
 * - `metadata`: only the owner (uid, gid) or mtime differ (files, symlinks and streams; a
 *   directory's mtime moves whenever an entry in it does, so it adds nothing).
 */
export type TreeChangeKind = 'added' | 'removed' | 'type' | 'modified' | 'metadata';

export interface TreeChange {
  /** Snapshot path (`/srv/app/config.yaml`). */
  path: string;
  change: TreeChangeKind;
  /** The entry in the older snapshot (absent for `added`). */
  before?: TreeNode;
  /** The entry in the newer snapshot (absent for `removed`). */
  after?: TreeNode;
}

/** What changed between two entries of the same name, or nothing; see {@link TreeChangeKind}. */
export function nodeChange(
  before: TreeNode,
  after: TreeNode,
): Exclude<TreeChangeKind, 'added' | 'removed'> | undefined {
  if (before.type !== after.type) return 'type';
  if (before.mode !== after.mode || before.target !== after.target) return 'modified';
  if (before.type === 'dir') return undefined;
  if (!sameContent(before, after)) return 'modified';
  if (before.uid !== after.uid || before.gid !== after.gid || before.mtimeNs !== after.mtimeNs) return 'metadata';
  return undefined;
}

/**
 * Every change from the tree `before` to the tree `after` (either absent: everything added or
 * removed), depth first and sorted by name within each directory. Subtrees with the same id are
 * identical and skipped, so unchanged directories cost nothing to compare.
 */
export async function* diffTrees(
  repo: TreeSource,
  before: string | undefined,
  after: string | undefined,
  prefix = '/',
): AsyncGenerator<TreeChange> {
  if (before === after) return;
  const left = await entriesOf(repo, before);
  const right = await entriesOf(repo, after);
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const name of names) {
    const x = left.get(name);
    const y = right.get(name);
    const path = prefix === '/' ? `/${name}` : `${prefix}/${name}`;
    if (!x && y) yield { path, change: 'added', after: y };
    else if (x && !y) yield { path, change: 'removed', before: x };
    else if (x && y) {
      const change = nodeChange(x, y);
      if (change) yield { path, change, before: x, after: y };
    }
    if (x?.type === 'dir' || y?.type === 'dir') {
      yield* diffTrees(
        repo,
        x?.type === 'dir' ? x.subtree : undefined,
        y?.type === 'dir' ? y.subtree : undefined,
        path,
      );
    }
  }
}

async function entriesOf(repo: TreeSource, treeId: string | undefined): Promise<Map<string, TreeNode>> {
  if (!treeId) return new Map();
  return new Map((await repo.loadTree(treeId)).nodes.map((n) => [n.name, n]));
}
