/**
 * The read-only tree `lifeboat webdav` serves: the repository's snapshots as
 * directories. `/` holds one directory per snapshot, named by its full id, and
 * one per source; `/<source>/` holds one directory per snapshot of that source,
 * named by its time (`2026-12-07T02:00:00.123Z`). Inside a snapshot directory
 * the snapshot's own tree follows, which mirrors absolute paths
 * (`/<id>/srv/app/config.yaml`). Files and streams are shown, with their size
 * and modification time, and directories; symlinks and other entries are not
 * (WebDAV has no way to show them).
 *
 * @module
 */

import { ErrorCode, isLifeboatError } from '../../errors/index.js';
import { resolveSnapshotRef, type SnapshotEntry, type TreeNode } from '../../repository/format/index.js';
import type { Repository } from '../../repository/repository.js';
import { nodeAt } from '../../repository/snapshot-tree/index.js';
import { nsToSeconds } from '../../restorer/restore.js';

export interface DavEntry {
  /** The URL path segments (decoded) of this entry. */
  segments: string[];
  collection: boolean;
  /** Content bytes (0 for collections). */
  size: number;
  modified: Date;
  /** A file or stream: its node, to read its content. */
  node?: TreeNode;
  /** The snapshot it belongs to, when inside one. */
  snapshot?: SnapshotEntry;
}

/** How long a snapshot listing is reused (clients send many requests in a row; new snapshots show up after this). */
const LISTING_TTL_MS = 10_000;

export class SnapshotNamespace {
  private listing: { at: number; snapshots: Promise<SnapshotEntry[]> } | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly now: () => number = Date.now,
  ) {}

  private snapshots(): Promise<SnapshotEntry[]> {
    if (!this.listing || this.now() - this.listing.at > LISTING_TTL_MS) {
      const snapshots = this.repo.listSnapshots().then((l) => l.snapshots);
      this.listing = { at: this.now(), snapshots };
      snapshots.catch(() => (this.listing = undefined));
    }
    return this.listing.snapshots;
  }

  /** The entry at `segments`, or undefined when there is none. */
  async resolve(segments: string[]): Promise<DavEntry | undefined> {
    const snapshots = await this.snapshots();
    if (segments.length === 0) return { segments, collection: true, size: 0, modified: newest(snapshots) };
    const [first, ...rest] = segments as [string, ...string[]];
    const ofSource = snapshots.filter((s) => s.source === first);
    if (ofSource.length) {
      if (rest.length === 0) return { segments, collection: true, size: 0, modified: newest(ofSource) };
      const s = ofSource.find((x) => x.time === rest[0]);
      return s ? this.inSnapshot(s, segments.slice(0, 2), rest.slice(1)) : undefined;
    }
    let s: SnapshotEntry;
    try {
      s = resolveSnapshotRef(snapshots, first);
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.NotFound) || isLifeboatError(err, ErrorCode.Usage)) return undefined;
      throw err;
    }
    return this.inSnapshot(s, [first], rest);
  }

  private async inSnapshot(s: SnapshotEntry, base: string[], rest: string[]): Promise<DavEntry | undefined> {
    const segments = [...base, ...rest];
    if (rest.length === 0) return { segments, collection: true, size: 0, modified: new Date(s.time), snapshot: s };
    let node: TreeNode;
    try {
      node = await nodeAt(this.repo, s.tree, '/' + rest.join('/'));
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.NotFound)) return undefined;
      throw err;
    }
    return entryFor(node, segments, s);
  }

  /** The children of a collection. */
  async children(entry: DavEntry): Promise<DavEntry[]> {
    if (!entry.collection) return [];
    const snapshots = await this.snapshots();
    if (entry.segments.length === 0) {
      const sources = [...new Set(snapshots.flatMap((s) => (s.source ? [s.source] : [])))].sort();
      return [
        ...sources.map((name) => ({
          segments: [name],
          collection: true,
          size: 0,
          modified: newest(snapshots.filter((s) => s.source === name)),
        })),
        ...snapshots.map((s) => ({ segments: [s.id], collection: true, size: 0, modified: new Date(s.time) })),
      ];
    }
    if (!entry.snapshot) {
      return snapshots
        .filter((s) => s.source === entry.segments[0])
        .map((s) => ({
          segments: [entry.segments[0]!, s.time],
          collection: true,
          size: 0,
          modified: new Date(s.time),
        }));
    }
    const s = entry.snapshot;
    const treeId = entry.node ? entry.node.subtree : s.tree;
    if (!treeId) return [];
    const tree = await this.repo.loadTree(treeId);
    return tree.nodes.flatMap((n) => {
      const e = entryFor(n, [...entry.segments, n.name], s);
      return e ? [e] : [];
    });
  }
}

function entryFor(node: TreeNode, segments: string[], snapshot: SnapshotEntry): DavEntry | undefined {
  const modified = new Date(Math.floor(nsToSeconds(node.mtimeNs) * 1000));
  if (node.type === 'dir') return { segments, collection: true, size: 0, modified, node, snapshot };
  if (node.type === 'file' || node.type === 'stream')
    return { segments, collection: false, size: node.size ?? 0, modified, node, snapshot };
  return undefined;
}

function newest(snapshots: SnapshotEntry[]): Date {
  const last = snapshots.at(-1);
  return last ? new Date(last.time) : new Date(0);
}
