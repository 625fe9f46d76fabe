import { ErrorCode, LifeboatError } from '../errors/index.js';
import { sameContent } from '../repository/format/index.js';
import { nativeFs } from '../util/native-fs.js';
import { applySymlinkMetadata } from './metadata.js';
import type { PlannedEntry } from './plan.js';
import { removeNonDirectoryIn } from './safe-fs.js';
import type { RestoreTally } from './summary.js';
import type { RestoreTarget } from './target.js';

/** A later name of a multiply-linked file, and the name restored with its content. */
export interface LinkedName {
  entry: PlannedEntry;
  to: PlannedEntry;
}

/**
 * Split files into those to write and those to link to an earlier name of the
 * same inode (same dev and inode, same content); a name whose content differs
 * is written as a file of its own.
 */
export function groupLinkedFiles(files: PlannedEntry[]): { primaries: PlannedEntry[]; links: LinkedName[] } {
  const first = new Map<string, PlannedEntry>();
  const primaries: PlannedEntry[] = [];
  const links: LinkedName[] = [];
  for (const f of files) {
    const n = f.node;
    if ((n.links ?? 1) > 1 && n.inode !== undefined && n.dev !== undefined) {
      const key = `${n.dev}:${n.inode}`;
      const to = first.get(key);
      if (to && sameContent(to.node, n)) {
        links.push({ entry: f, to });
        continue;
      }
      if (!to) first.set(key, f);
    }
    primaries.push(f);
  }
  return { primaries, links };
}

/** Symlinks, created after every file so that nothing is written through them; whatever non-directory is at the path is replaced. */
export async function restoreSymlinks(
  symlinks: PlannedEntry[],
  target: RestoreTarget,
  owners: boolean,
  tally: RestoreTally,
): Promise<void> {
  for (const s of symlinks) {
    await tally.attempt(s.path, async () => {
      if (!target.parentMade(s.path)) return;
      target.inParent(s.path, (dirFd, name) => {
        removeNonDirectoryIn(dirFd, name, target.dest(s.path));
        nativeFs().symlinkAt(s.node.target ?? '', dirFd, name);
        applySymlinkMetadata(dirFd, name, s.node, owners);
      });
    });
  }
}

/** A hard link at `at` to the restored file at `to`, both reached through their parents' descriptors. */
function linkInTarget(target: RestoreTarget, to: string, at: string): void {
  target.inParent(to, (fromFd, fromName) =>
    target.inParent(at, (dirFd, name) => {
      removeNonDirectoryIn(dirFd, name, target.dest(at));
      nativeFs().linkAt(fromFd, fromName, dirFd, name);
    }),
  );
}

/** The later names of multiply-linked files, hard-linked to their first name; refused when the first name failed. */
export async function linkNames(links: LinkedName[], target: RestoreTarget, tally: RestoreTally): Promise<void> {
  const failed = tally.failedPaths();
  for (const { entry, to } of links) {
    await tally.attempt(entry.path, async () => {
      if (failed.has(to.path))
        throw new LifeboatError(ErrorCode.Failure, `not linked: ${to.path}, its other name, could not be restored`);
      linkInTarget(target, to.path, entry.path);
      tally.fileDone(0);
    });
  }
}

/** Legacy `hardlink` nodes: linked only to a file restored by this run at exactly their `target` path. */
export async function restoreHardlinks(
  hardlinks: PlannedEntry[],
  files: PlannedEntry[],
  target: RestoreTarget,
  tally: RestoreTally,
): Promise<void> {
  const restoredFiles = new Set(files.map((f) => f.path));
  const failed = tally.failedPaths();
  for (const h of hardlinks) {
    await tally.attempt(h.path, async () => {
      const to = h.node.target ?? '';
      if (!target.parentMade(h.path)) return;
      if (!restoredFiles.has(to) || failed.has(to))
        throw new LifeboatError(ErrorCode.UnsafePath, `hardlink to ${to}, which is not a file restored by this run`);
      linkInTarget(target, to, h.path);
    });
  }
}
