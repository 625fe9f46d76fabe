import { ErrorCode, LifeboatError } from '../errors/index.js';
import { applyMetadataToFd } from './metadata.js';
import type { PlannedEntry } from './plan.js';
import type { RestoreTally } from './summary.js';
import type { RestoreTarget } from './target.js';

/** Directories grouped by depth, shallowest first (plan order within a depth). */
export function byDepth(dirs: PlannedEntry[]): PlannedEntry[][] {
  const levels: PlannedEntry[][] = [];
  for (const d of dirs) {
    const depth = d.path.split('/').length - 2;
    (levels[depth] ??= []).push(d);
  }
  return levels.filter((l) => l !== undefined);
}

/**
 * Directories first, parents before children, each made (or verified to be a real directory)
 * relative to its parent's descriptor; one whose parent was not made is skipped, never created
 * through whatever is at the parent's path.
 */
export async function createDirectories(
  levels: PlannedEntry[][],
  target: RestoreTarget,
  tally: RestoreTally,
  signal?: AbortSignal,
): Promise<void> {
  for (const level of levels) {
    // A tree of many directories stops at the first signal too, not only once the files begin.
    if (signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'restore interrupted');
    for (const d of level) {
      await tally.attempt(d.path, async () => {
        if (target.parentMade(d.path)) target.makeDirectory(d.path);
      });
    }
  }
}

/**
 * Directory metadata last, deepest first, so writing into them does not change their mtime
 * (and a parent's mode is set only after its children's metadata); set through the directory's
 * own descriptor.
 */
export async function applyDirectoryMetadata(
  levels: PlannedEntry[][],
  target: RestoreTarget,
  owners: boolean,
  tally: RestoreTally,
): Promise<void> {
  for (const level of [...levels].reverse()) {
    for (const d of level) {
      await tally.attempt(d.path, async () => {
        if (!target.isMade(d.path)) return;
        const lease = target.lease(d.path);
        try {
          applyMetadataToFd(lease.fd, d.node, owners);
        } finally {
          lease.release();
        }
      });
    }
  }
}
