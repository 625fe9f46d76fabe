import { Minimatch } from 'minimatch';
import { findSnapshot } from '../cli/snapshot-ref.js';
import { nodeAt, walkTree } from '../cli/tree-paths.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { matchesFilter, sortByTime, type SnapshotEntry, type SnapshotFilter } from '../repository/snapshot.js';
import { sameContent, type TreeNode } from '../repository/tree.js';
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

export interface SnapshotEntryAt {
  path: string;
  node: TreeNode;
}

/** `lifeboat snapshots`: the snapshots matching `filter`, oldest first, and the snapshot files that could not be read. */
export async function listSnapshots(repo: Repository, filter: SnapshotFilter = {}): Promise<{ snapshots: SnapshotEntry[]; problems: Array<{ object: string; error: LifeboatError }> }> {
  const { snapshots, problems } = await repo.listSnapshots();
  return { snapshots: sortByTime(snapshots.filter((s) => matchesFilter(s, filter))), problems: problems.map((p) => ({ object: p.name, error: p.error })) };
}

/** The snapshot a reference names (`latest`, an id or a prefix); LifeboatError `not_found` when none. */
export async function resolveSnapshot(repo: Repository, snapshot: string | SnapshotRef, path?: string): Promise<SnapshotEntry> {
  const r = typeof snapshot === 'string' ? { ref: snapshot } : snapshot;
  await repo.prepareRead();
  return findSnapshot(repo, r.ref, { source: r.source, host: r.host, path });
}

/** `lifeboat ls`: every entry of the snapshot below `dir` (default `/`), depth first. */
export async function* listFiles(repo: Repository, snapshot: string | SnapshotRef, dir = '/', options: { signal?: AbortSignal } = {}): AsyncGenerator<SnapshotEntryAt> {
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
export async function* dumpFile(repo: Repository, snapshot: string | SnapshotRef, filePath: string): AsyncGenerator<Buffer> {
  const s = await resolveSnapshot(repo, snapshot, filePath);
  const node = await snapshotFileNode(repo, s, filePath);
  yield* readSnapshotFile(repo, node, filePath);
}

export interface FindMatch {
  snapshot: SnapshotEntry;
  path: string;
  node: TreeNode;
}

/** `lifeboat find`: entries whose name (a pattern without `/`) or whole path (with `/`) matches, in every snapshot matching `filter`, oldest first. */
export async function* findFiles(repo: Repository, pattern: string, options: SnapshotFilter & { signal?: AbortSignal } = {}): AsyncGenerator<FindMatch> {
  await repo.prepareRead();
  const matcher = new Minimatch(pattern.includes('/') && !pattern.startsWith('/') ? `/${pattern}` : pattern, { dot: true, matchBase: !pattern.includes('/') });
  const { snapshots } = await listSnapshots(repo, { source: options.source, host: options.host, tags: options.tags });
  for (const s of snapshots) {
    for await (const { path, node } of walkTree(repo, s.tree, '/')) {
      throwIfAborted(options.signal);
      if (matcher.match(path)) yield { snapshot: s, path, node };
    }
  }
}

export interface DiffEntry {
  change: 'added' | 'removed' | 'modified';
  path: string;
  type: TreeNode['type'];
}

/** `lifeboat diff`: what changed from snapshot `a` to snapshot `b`, path by path (content, type, mode or link target). */
export async function diffSnapshots(repo: Repository, a: string | SnapshotRef, b: string | SnapshotRef, options: { signal?: AbortSignal } = {}): Promise<DiffEntry[]> {
  const [sa, sb] = [await resolveSnapshot(repo, a), await resolveSnapshot(repo, b)];
  const collect = async (s: SnapshotEntry) => {
    const m = new Map<string, TreeNode>();
    for await (const { path, node } of walkTree(repo, s.tree, '/')) {
      throwIfAborted(options.signal);
      m.set(path, node);
    }
    return m;
  };
  const [before, after] = [await collect(sa), await collect(sb)];
  const out: DiffEntry[] = [];
  for (const [p, n] of before) if (!after.has(p)) out.push({ change: 'removed', path: p, type: n.type });
  for (const [p, n] of after) {
    const old = before.get(p);
    if (!old) out.push({ change: 'added', path: p, type: n.type });
    else if (n.type !== 'dir' && (old.type !== n.type || old.mode !== n.mode || old.target !== n.target || !sameContent(old, n))) out.push({ change: 'modified', path: p, type: n.type });
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'interrupted', { hint: 'the operation was aborted through its AbortSignal' });
}
