/**
 * `stats`: how big the repository is and how much deduplication saves, for a
 * selection of snapshots, per source and per snapshot. The figures (defined in
 * docs/cli.md, `stats`):
 *
 * - raw bytes: the sum of the sizes of every file and stream entry of a
 *   snapshot, as a restore writes them (each name of a file with several links
 *   counts);
 * - unique bytes: the plaintext length of the distinct content blobs the
 *   snapshots reference, each counted once (what is left after deduplication,
 *   before compression);
 * - stored bytes: the sealed length in packs (compressed, encrypted) of the
 *   distinct blobs — content and directory trees — the snapshots reference;
 * - deduplication ratio: raw ÷ unique; compression ratio: unique ÷ stored
 *   content bytes.
 *
 * @module
 */

import { blobIdFromHex, BlobType, type SnapshotEntry, type Tree } from './format/index.js';
import type { Repository } from './repository.js';

/** The object directories of a repository (docs/repository-format.md §1), and `config`. */
export const REPOSITORY_AREAS = [
  'data',
  'index',
  'snapshots',
  'keys',
  'locks',
  'prune',
  'audit',
  'tombstones',
  'forget-requests',
  'drill',
  'wal',
] as const;

/** The stored size of one area of the repository (packs, index, snapshots, keys, locks…). */
export interface AreaSize {
  objects: number;
  bytes: number;
}

/** Raw, unique and stored bytes of a set of snapshots, with the deduplication and compression ratios they give. */
export interface StoredFigures {
  /** Sum of the sizes of every file and stream entry, as restored. */
  rawBytes: number;
  /** File and stream entries. */
  files: number;
  /** Plaintext bytes of the distinct content blobs referenced. */
  uniqueBytes: number;
  /** Sealed bytes in packs of the distinct content and tree blobs referenced. */
  storedBytes: number;
  /** Distinct blobs referenced (content and trees). */
  blobs: number;
  /** Referenced blobs no index names (damage: `lifeboat check` says more); they count in no byte figure. */
  missingBlobs: number;
  /** raw ÷ unique; null when unique is 0. */
  dedupRatio: number | null;
  /** unique ÷ sealed bytes of the content blobs; null when nothing is stored. */
  compressionRatio: number | null;
}

/** The figures of one snapshot on its own. */
export interface SnapshotStats extends StoredFigures {
  id: string;
  time: string;
  host: string;
  source: string | null;
  tags: string[];
}

/** The figures of all chosen snapshots of one source together. */
export interface SourceStats extends StoredFigures {
  /** null: path backups (no source). */
  source: string | null;
  snapshots: number;
}

/** What `stats` reports: the size by area, and the figures of the chosen snapshots in all, per source and per snapshot. */
export interface RepositoryStats {
  /** Every object of the repository by area (`data` are the packs), and `config`. */
  repository: { areas: Record<string, AreaSize>; totalBytes: number; totalObjects: number };
  /** The selected snapshots together. */
  selection: StoredFigures & { snapshots: number };
  sources: SourceStats[];
  snapshots: SnapshotStats[];
}

/** How far `stats` has come walking the chosen snapshots. */
export interface StatsProgress {
  snapshotsDone: number;
  snapshotsTotal: number;
  /** Entries walked so far. */
  files: number;
  /** Raw bytes counted so far. */
  bytes: number;
}

interface TreeTotals {
  rawBytes: number;
  files: number;
}

/** A blob set with what each member weighs; the same key counts once. */
class BlobSet {
  readonly data = new Set<string>();
  readonly trees = new Set<string>();
  add(hex: string, type: BlobType): void {
    (type === BlobType.Data ? this.data : this.trees).add(hex);
  }
  merge(other: BlobSet): void {
    for (const d of other.data) this.data.add(d);
    for (const t of other.trees) this.trees.add(t);
  }
}

/**
 * Figures for `snapshots` (usually a selection of the repository's), walking
 * each distinct directory tree once per snapshot. `onProgress` is called after
 * each snapshot; `signal` stops between trees.
 */
export async function repositoryStats(
  repo: Repository,
  snapshots: SnapshotEntry[],
  options: { onProgress?: (p: StatsProgress) => void; signal?: AbortSignal } = {},
): Promise<RepositoryStats> {
  await repo.prepareRead();
  const progress: StatsProgress = { snapshotsDone: 0, snapshotsTotal: snapshots.length, files: 0, bytes: 0 };
  const totals = new Map<string, Promise<TreeTotals>>();
  const totalsOf = (treeId: string): Promise<TreeTotals> => {
    let t = totals.get(treeId);
    if (!t) {
      t = (async () => {
        options.signal?.throwIfAborted();
        const tree: Tree = await repo.loadTree(treeId);
        const out: TreeTotals = { rawBytes: 0, files: 0 };
        for (const node of tree.nodes) {
          if (node.type === 'file' || node.type === 'stream') {
            out.files++;
            out.rawBytes += node.size ?? 0;
          } else if (node.type === 'dir' && node.subtree) {
            const sub = await totalsOf(node.subtree);
            out.files += sub.files;
            out.rawBytes += sub.rawBytes;
          }
        }
        return out;
      })();
      totals.set(treeId, t);
    }
    return t;
  };
  const blobsOf = async (rootTree: string): Promise<BlobSet> => {
    const set = new BlobSet();
    const pending = [rootTree];
    while (pending.length) {
      const id = pending.pop()!;
      if (set.trees.has(id)) continue; // the same directory twice in one snapshot: its blobs are in already
      set.add(id, BlobType.Tree);
      options.signal?.throwIfAborted();
      const tree = await repo.loadTree(id);
      for (const node of tree.nodes) {
        for (const c of node.content ?? []) set.add(c, BlobType.Data);
        if (node.type === 'dir' && node.subtree) pending.push(node.subtree);
      }
    }
    return set;
  };

  const perSnapshot: SnapshotStats[] = [];
  const bySource = new Map<string | null, { set: BlobSet; raw: number; files: number; count: number }>();
  const all = new BlobSet();
  let raw = 0;
  let files = 0;
  for (const s of snapshots) {
    const t = await totalsOf(s.tree);
    const set = await blobsOf(s.tree);
    perSnapshot.push({
      id: s.id,
      time: s.time,
      host: s.host,
      source: s.source ?? null,
      tags: s.tags,
      ...figures(repo, set, t.rawBytes, t.files),
    });
    const key = s.source ?? null;
    const group = bySource.get(key) ?? { set: new BlobSet(), raw: 0, files: 0, count: 0 };
    group.set.merge(set);
    group.raw += t.rawBytes;
    group.files += t.files;
    group.count++;
    bySource.set(key, group);
    all.merge(set);
    raw += t.rawBytes;
    files += t.files;
    progress.snapshotsDone++;
    progress.files += t.files;
    progress.bytes += t.rawBytes;
    options.onProgress?.({ ...progress });
  }
  const sources: SourceStats[] = [...bySource.entries()]
    .map(([source, g]) => ({ source, snapshots: g.count, ...figures(repo, g.set, g.raw, g.files) }))
    .sort((a, b) => (a.source ?? '').localeCompare(b.source ?? ''));
  return {
    repository: await areaSizes(repo),
    selection: { snapshots: snapshots.length, ...figures(repo, all, raw, files) },
    sources,
    snapshots: perSnapshot,
  };
}

function figures(repo: Repository, set: BlobSet, rawBytes: number, files: number): StoredFigures {
  let uniqueBytes = 0;
  let storedData = 0;
  let storedTrees = 0;
  let missingBlobs = 0;
  for (const hex of set.data) {
    const loc = repo.locate(blobIdFromHex(hex));
    if (!loc) missingBlobs++;
    else {
      uniqueBytes += loc.rawLength;
      storedData += loc.length;
    }
  }
  for (const hex of set.trees) {
    const loc = repo.locate(blobIdFromHex(hex));
    if (!loc) missingBlobs++;
    else storedTrees += loc.length;
  }
  return {
    rawBytes,
    files,
    uniqueBytes,
    storedBytes: storedData + storedTrees,
    blobs: set.data.size + set.trees.size,
    missingBlobs,
    dedupRatio: uniqueBytes > 0 ? rawBytes / uniqueBytes : null,
    compressionRatio: storedData > 0 ? uniqueBytes / storedData : null,
  };
}

async function areaSizes(repo: Repository): Promise<RepositoryStats['repository']> {
  const areas: Record<string, AreaSize> = {};
  for (const area of REPOSITORY_AREAS) {
    const objects = await repo.storage.list(`${area}/`);
    areas[area] = { objects: objects.length, bytes: objects.reduce((n, o) => n + o.size, 0) };
  }
  const config = await repo.storage.stat('config');
  areas.config = { objects: 1, bytes: config.size };
  const list = Object.values(areas);
  return {
    areas,
    totalBytes: list.reduce((n, a) => n + a.bytes, 0),
    totalObjects: list.reduce((n, a) => n + a.objects, 0),
  };
}
