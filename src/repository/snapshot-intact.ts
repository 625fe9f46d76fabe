import type { Repository } from './repository.js';

export interface IntactWalk {
  /** False when a problem was found (whether or not the walk went on past it). */
  intact: boolean;
  /** The packs holding the trees and content blobs the walk saw in the index. */
  packs: Set<string>;
}

/**
 * The "is this snapshot intact" walk: from the root tree `root`, every tree
 * is in the index and loads (and so authenticates), and every content blob of
 * every file is in the index. It reads trees, never data. Each problem is
 * given to `onProblem` as one line naming the path (`tree of /etc is not in
 * the index`, `/etc/passwd: blob 1a2b… is not in the index`); returning
 * `'stop'` ends the walk there, for callers that only need a yes or no.
 * Whether the trees come from storage or the local cache is the caller's
 * choice of `repo` (see `readingFromStorage`).
 */
export async function walkSnapshotIntact(
  repo: Repository,
  root: string,
  onProblem: (problem: string) => 'stop' | void = () => 'stop',
): Promise<IntactWalk> {
  const packs = new Set<string>();
  let intact = true;
  const problem = (p: string): boolean => {
    intact = false;
    return onProblem(p) === 'stop';
  };
  const pending: Array<{ id: string; at: string }> = [{ id: root, at: '/' }];
  const seen = new Set<string>();
  while (pending.length) {
    const { id, at } = pending.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const loc = repo.index.lookup(Buffer.from(id, 'hex'));
    if (!loc) {
      if (problem(`tree of ${at} is not in the index`)) break;
      continue;
    }
    packs.add(loc.packId);
    let nodes;
    try {
      nodes = (await repo.loadTree(id)).nodes;
    } catch (err) {
      if (problem(`tree of ${at} cannot be read: ${(err as Error).message}`)) break;
      continue;
    }
    for (const node of nodes) {
      const p = at === '/' ? `/${node.name}` : `${at}/${node.name}`;
      if (node.subtree) pending.push({ id: node.subtree, at: p });
      for (const blob of node.content ?? []) {
        const l = repo.index.lookup(Buffer.from(blob, 'hex'));
        if (l) packs.add(l.packId);
        else if (problem(`${p}: blob ${blob.slice(0, 12)} is not in the index`)) return { intact, packs };
      }
    }
  }
  return { intact, packs };
}
