import { Minimatch } from 'minimatch';
import { findSnapshot } from '../cli/snapshot-ref.js';
import { diffTrees, nodeAt, walkTree, type TreeChangeKind } from '../repository/snapshot-tree/index.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { matchesFilter, sortByTime, type SnapshotEntry, type SnapshotFilter } from '../repository/format/index.js';
import type { TreeNode } from '../repository/format/index.js';
import { readSnapshotFile, snapshotFileNode } from '../sources/snapshot-file.js';

/**
 * The reading commands of the CLI (`snapshots`, `ls`, `dump`, `find`, `diff`)
 * as functions over an open repository. A snapshot is named as on the command
 * line: an id, a unique id prefix or `latest` (narrowed by `source`/`host`).
 */
export interface SnapshotRef {
  ref: string;
  source?: string;
  host?: string;
}

/** An entry of a snapshot and its path. */
export interface SnapshotEntryAt {
  path: string;
  node: TreeNode;
}

/** `lifeboat snapshots`: the snapshots matching `filter`, oldest first, and the snapshot files that could not be read. */
export async function listSnapshots(
  repo: Repository,
  filter: SnapshotFilter = {},
): Promise<{ snapshots: SnapshotEntry[]; problems: Array<{ object: string; error: LifeboatError }> }> {
  const { snapshots, problems } = await repo.listSnapshots();
  return {
    snapshots: sortByTime(snapshots.filter((s) => matchesFilter(s, filter))),
    problems: problems.map((p) => ({ object: p.name, error: p.error })),
  };
}

/** The snapshot a reference names (`latest`, an id or a prefix); LifeboatError `not_found` when none. */
export async function resolveSnapshot(
  repo: Repository,
  snapshot: string | SnapshotRef,
  path?: string,
): Promise<SnapshotEntry> {
  const r = typeof snapshot === 'string' ? { ref: snapshot } : snapshot;
  await repo.prepareRead();
  return findSnapshot(repo, r.ref, { source: r.source, host: r.host, path });
}

/** `lifeboat ls`: every entry of the snapshot below `dir` (default `/`), depth first. */
export async function* listFiles(
  repo: Repository,
  snapshot: string | SnapshotRef,
  dir = '/',
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<SnapshotEntryAt> {
  const s = await resolveSnapshot(repo, snapshot, dir);
  const prefix = '/' + dir.split('/').filter(Boolean).join('/');
  const start = await nodeAt(repo, s.tree, prefix);
  if (start.type !== 'dir' || !start.subtree) {
    yield { path: prefix, node: start };
    return;
  }
  for await (const entry of walkTree(repo, start.subtree, prefix)) {
    throwIfAborted(options.signal);
    yield entry;
  }
}

/** `lifeboat dump`: the bytes of one file of a snapshot, as a stream of chunks. */
export async function* dumpFile(
  repo: Repository,
  snapshot: string | SnapshotRef,
  filePath: string,
): AsyncGenerator<Buffer> {
  const s = await resolveSnapshot(repo, snapshot, filePath);
  const node = await snapshotFileNode(repo, s, filePath);
  yield* readSnapshotFile(repo, node, filePath);
}

/** An entry `findFiles` matched, with its snapshot. */
export interface FindMatch {
  snapshot: SnapshotEntry;
  path: string;
  node: TreeNode;
}

/** `lifeboat find`: entries whose name (a pattern without `/`) or whole path (with `/`) matches, in every snapshot matching `filter`, oldest first. */
export async function* findFiles(
  repo: Repository,
  pattern: string,
  options: SnapshotFilter & { signal?: AbortSignal } = {},
): AsyncGenerator<FindMatch> {
  await repo.prepareRead();
  const matcher = new Minimatch(pattern.includes('/') && !pattern.startsWith('/') ? `/${pattern}` : pattern, {
    dot: true,
    matchBase: !pattern.includes('/'),
  });
  const { snapshots } = await listSnapshots(repo, { source: options.source, host: options.host, tags: options.tags });
  for (const s of snapshots) {
    for await (const { path, node } of walkTree(repo, s.tree, '/')) {
      throwIfAborted(options.signal);
      if (matcher.match(path)) yield { snapshot: s, path, node };
    }
  }
}

/** One path that differs between two snapshots. */
export interface DiffEntry {
  /** The one rule of `lifeboat diff` and the API: see `TreeChangeKind` (`metadata` only with `metadata: true`). */
  change: TreeChangeKind;
  path: string;
  type: TreeNode['type'];
}

/**
 * `lifeboat diff`: what changed from snapshot `a` to snapshot `b`, path by path, by the same rule as
 * the CLI and the API (content, size, symlink target, mode; `type` for another kind of entry; owner
 * and mtime alone are `metadata`, listed only with `metadata: true`).
 */
export async function diffSnapshots(
  repo: Repository,
  a: string | SnapshotRef,
  b: string | SnapshotRef,
  options: { signal?: AbortSignal; metadata?: boolean } = {},
): Promise<DiffEntry[]> {
  const [sa, sb] = [await resolveSnapshot(repo, a), await resolveSnapshot(repo, b)];
  const out: DiffEntry[] = [];
  for await (const c of diffTrees(repo, sa.tree, sb.tree)) {
    throwIfAborted(options.signal);
    if (c.change === 'metadata' && !options.metadata) continue;
    out.push({ change: c.change, path: c.path, type: (c.after ?? c.before)!.type });
  }
  return out;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new LifeboatError(ErrorCode.Interrupted, 'interrupted', {
      hint: 'the operation was aborted through its AbortSignal',
    });
}
