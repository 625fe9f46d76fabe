import { mapLimit } from '../util/map-limit.js';
import { applyMetadata } from './metadata.js';
import type { PlannedEntry } from './plan.js';
import { ensureRealDirectory } from './safe-fs.js';
import type { RestoreTally } from './summary.js';
import type { RestoreTarget } from './target.js';

/** Directories in the threadpool at once, while directories are made or their metadata set. */
const DIR_CONCURRENCY = 16;

/** Directories grouped by depth, shallowest first (plan order within a depth). */
export function byDepth(dirs: PlannedEntry[]): PlannedEntry[][] {
  const levels: PlannedEntry[][] = [];
  for (const d of dirs) {
    const depth = d.path.split('/').length - 2;
    (levels[depth] ??= []).push(d);
  }
  return levels.filter((l) => l !== undefined);
}

/** `step` for every directory, one level after the other, the directories of one level concurrently. */
async function eachLevel(levels: PlannedEntry[][], tally: RestoreTally, step: (d: PlannedEntry) => Promise<void>): Promise<void> {
  for (const level of levels) await mapLimit(level, DIR_CONCURRENCY, (d) => tally.attempt(d.path, () => step(d)));
}

/**
 * Directories first, parents before children (one depth after the other, the directories of one
 * depth concurrently), each verified to be a real directory; one whose parent was not made is
 * skipped, never created through whatever is at the parent's path.
 */
export async function createDirectories(levels: PlannedEntry[][], target: RestoreTarget, tally: RestoreTally): Promise<void> {
  await eachLevel(levels, tally, async (d) => {
    if (!target.parentMade(d.path)) return;
    await ensureRealDirectory(target.dest(d.path));
    target.madeDirectory(d.path);
  });
}

/**
 * Directory metadata last, deepest first, so writing into them does not change their mtime
 * (and a parent's mode is set only after its children's metadata).
 */
export async function applyDirectoryMetadata(levels: PlannedEntry[][], target: RestoreTarget, owners: boolean, tally: RestoreTally): Promise<void> {
  await eachLevel([...levels].reverse(), tally, async (d) => {
    if (target.isMade(d.path)) await applyMetadata(target.dest(d.path), d.node, owners);
  });
}
