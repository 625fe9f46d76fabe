import { ErrorCode, isLifeboatError } from '../errors/index.js';
import { blobIdFromHex } from '../repository/format/index.js';
import type { BlobWriter } from '../repository/write-session.js';
import type { Repository } from '../repository/repository.js';
import { writeTombstone } from '../repository/tombstone.js';
import type { Snapshot, SnapshotEntry, Tree, TreeNode } from '../repository/format/index.js';

export interface RepairSnapshotsOptions {
  /** Only these snapshots (full ids); all by default. */
  ids?: string[];
  /** Remove each original once its repaired snapshot is saved. */
  forget?: boolean;
  /** Report what would be dropped; write and remove nothing. */
  dryRun?: boolean;
}

export interface DroppedEntry {
  /** Snapshot path of the entry dropped. */
  path: string;
  /** `file`: content missing or damaged; `dir`: the directory's record is unreadable (it and all below it are dropped). */
  type: 'file' | 'dir';
  reason: string;
}

export interface RepairedSnapshot {
  /** The damaged snapshot. */
  original: string;
  /** The snapshot written without the damaged parts (absent on a dry run). */
  repaired?: string;
  dropped: DroppedEntry[];
  /** Whether the original was removed (`--forget`). */
  forgotten: boolean;
}

export interface RepairSnapshotsReport {
  dryRun: boolean;
  /** Snapshots examined. */
  examined: number;
  repaired: RepairedSnapshot[];
  /** Snapshots that cannot be repaired (their root directory record is unreadable); left as they are. */
  unrepairable: Array<{ snapshot: string; reason: string }>;
}

/** The tag every repaired snapshot carries (with `original` naming the snapshot it replaces). */
export const REPAIRED_TAG = 'repaired';

/**
 * Write, for every snapshot that references data no intact copy of which is
 * left, a new snapshot without the damaged parts: a file whose content has a
 * missing or damaged blob is dropped (a file is never kept truncated or with a
 * hole: most formats are worse than absent when cut), and a directory whose
 * record cannot be read is dropped with everything below it. The new snapshot
 * keeps the original's time, host, paths and tags, adds the tag `repaired` and
 * records the original's id in `original`. The original is removed only with
 * `forget`. Under the exclusive lock, after the pack check (so lost packs
 * count as lost) and with the copies a `check --read-data` found damaged set
 * aside.
 */
export async function repairSnapshots(
  repo: Repository,
  options: RepairSnapshotsOptions = {},
): Promise<RepairSnapshotsReport> {
  repo.requireAdmin('repair snapshots');
  return repo.withLock(true, 'repair snapshots', async (lock) => {
    await repo.prepareRead();
    // Snapshot objects that cannot be read have nothing to rewrite: `check` reports them.
    const { snapshots } = await repo.listSnapshots();
    const chosen = options.ids ? snapshots.filter((s) => options.ids!.includes(s.id)) : snapshots;
    const report: RepairSnapshotsReport = {
      dryRun: Boolean(options.dryRun),
      examined: chosen.length,
      repaired: [],
      unrepairable: [],
    };
    const pending: Array<{ original: SnapshotEntry; tree: string; entry: RepairedSnapshot }> = [];
    const rewriteAll = async (writer: BlobWriter | undefined): Promise<void> => {
      const rewriter = new TreeRewriter(repo, writer);
      for (const s of chosen) {
        let result: { id: string; dropped: DroppedEntry[] };
        try {
          result = await rewriter.rewrite(s.tree, '/');
        } catch (err) {
          if (!isDamage(err)) throw err;
          report.unrepairable.push({
            snapshot: s.id,
            reason: `its root directory record is unreadable: ${(err as Error).message}`,
          });
          continue;
        }
        if (result.dropped.length === 0) continue;
        const entry: RepairedSnapshot = { original: s.id, dropped: result.dropped, forgotten: false };
        report.repaired.push(entry);
        pending.push({ original: s, tree: result.id, entry });
      }
    };
    if (options.dryRun) {
      await rewriteAll(undefined);
      return report;
    }
    // The new trees durable and indexed before any snapshot names them; a failure indexes the packs already durable.
    await repo.withWriter('repair snapshots', rewriteAll, { lock });
    for (const { original, tree, entry } of pending) {
      await lock.assertHeld();
      entry.repaired = await repo.saveSnapshot(repairedSnapshot(original, tree));
      if (options.forget) {
        // A tombstone first, as forget writes one: prune tells a removal on purpose from a short listing by it.
        await writeTombstone(repo, {
          snapshot: original.id,
          time: original.time,
          tree: original.tree,
          forgottenAt: new Date().toISOString(),
          audit: `replaced by repaired snapshot ${entry.repaired}`,
        });
        await repo.storage.remove(`snapshots/${original.id}`);
        entry.forgotten = true;
      }
    }
    return report;
  });
}

function repairedSnapshot(original: SnapshotEntry, tree: string): Snapshot & { original: string } {
  const { id, ...rest } = original;
  return { ...rest, tree, tags: [...new Set([...original.tags, REPAIRED_TAG])].sort(), original: id };
}

/**
 * Rewrites trees without what cannot be read. Results are memoised per tree,
 * so a subtree shared by many snapshots is examined once; an intact tree keeps
 * its id (nothing is written for it).
 */
class TreeRewriter {
  private readonly memo = new Map<
    string,
    Promise<{ id: string; dropped: Array<Omit<DroppedEntry, 'path'> & { rel: string }> }>
  >();

  constructor(
    private readonly repo: Repository,
    private readonly writer: BlobWriter | undefined,
  ) {}

  /** The tree without its damaged parts (its id unchanged when nothing was dropped); throws when the tree itself is unreadable. */
  async rewrite(treeId: string, at: string): Promise<{ id: string; dropped: DroppedEntry[] }> {
    const r = await this.rewriteRel(treeId);
    return { id: r.id, dropped: r.dropped.map((d) => ({ path: join(at, d.rel), type: d.type, reason: d.reason })) };
  }

  private rewriteRel(
    treeId: string,
  ): Promise<{ id: string; dropped: Array<Omit<DroppedEntry, 'path'> & { rel: string }> }> {
    let known = this.memo.get(treeId);
    if (!known) {
      known = this.compute(treeId);
      this.memo.set(treeId, known);
    }
    return known;
  }

  private async compute(
    treeId: string,
  ): Promise<{ id: string; dropped: Array<Omit<DroppedEntry, 'path'> & { rel: string }> }> {
    const tree = await this.repo.loadTree(treeId);
    const dropped: Array<Omit<DroppedEntry, 'path'> & { rel: string }> = [];
    const nodes: TreeNode[] = [];
    for (const node of tree.nodes) {
      const name = String(node.name);
      if (node.type === 'dir' && node.subtree) {
        try {
          const inner = await this.rewriteRel(node.subtree);
          for (const d of inner.dropped) dropped.push({ ...d, rel: `${name}/${d.rel}` });
          nodes.push(inner.id === node.subtree ? node : { ...node, subtree: inner.id });
        } catch (err) {
          if (!isDamage(err)) throw err; // a storage outage stops the repair; only damage is dropped
          dropped.push({ rel: name, type: 'dir', reason: `its record is unreadable: ${(err as Error).message}` });
        }
        continue;
      }
      const lost = (node.content ?? []).find((id) => !this.repo.index.has(blobIdFromHex(id)));
      if (lost !== undefined) {
        dropped.push({ rel: name, type: 'file', reason: `its content blob ${lost.slice(0, 12)} has no intact copy` });
        continue;
      }
      nodes.push(node);
    }
    if (dropped.length === 0) return { id: treeId, dropped };
    return { id: await this.store({ nodes }), dropped };
  }

  /** Store the new tree; on a dry run only its id is computed. */
  private async store(tree: Tree): Promise<string> {
    if (this.writer) return this.writer.saveTree(tree);
    return this.repo.blobIdOf(this.repo.encodeTree(tree)).toString('hex');
  }
}

function join(at: string, rel: string): string {
  return at === '/' ? `/${rel}` : `${at}/${rel}`;
}

/** Whether an error is damage (and not, say, a storage outage that should stop the repair). */
function isDamage(err: unknown): boolean {
  return isLifeboatError(err, ErrorCode.Corrupt);
}
