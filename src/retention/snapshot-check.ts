import type { Repository } from '../repository/repository.js';
import { walkSnapshotIntact } from '../repository/snapshot-intact.js';
import type { RetentionSnapshot } from './plan.js';

/**
 * The check a snapshot must pass before older ones may be removed because of
 * it: every tree loads and authenticates, and every content blob is in the
 * index, in a pack that storage holds (the caller ran `prepareRead`, which
 * drops missing packs from the index). It reads trees (from storage), not data.
 */
export async function snapshotIsComplete(
  opened: Repository,
  snapshot: RetentionSnapshot & { tree: string },
): Promise<boolean> {
  // Trees from storage, not the local cache: removals rely on what storage holds.
  const repo = opened.readingFromStorage('shared');
  try {
    return await treesComplete(repo, snapshot.tree);
  } finally {
    await repo.close();
  }
}

async function treesComplete(repo: Repository, root: string): Promise<boolean> {
  try {
    return (await walkSnapshotIntact(repo, root)).intact;
  } catch {
    return false;
  }
}
