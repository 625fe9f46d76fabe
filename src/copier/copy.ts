import os from 'node:os';
import { abortable, throwIfAborted } from '../archiver/abort.js';
import { FileSaver } from '../archiver/file-saver.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { LockHandle } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import { matchesFilter, type Snapshot, type SnapshotEntry, type SnapshotFilter } from '../repository/format/index.js';
import type { BlobWriter } from '../repository/write-session.js';
import { VERSION } from '../version.js';
import { copiedFromRecord, HeldSnapshots } from './lineage.js';
import { incrementalBase } from './incremental-base.js';
import { newCopyProgress, startSnapshot, type CopyProgress, type CopyReadCounters } from './progress.js';
import { feedProgress } from '../util/progress-feed.js';
import { TreeCopier } from './tree-copier.js';
import { verifyCopy } from './verify-copy.js';

/**
 * The slice of the destination repository a copy uses: locks, snapshots, the
 * index and its pack check, a storage-reading view for verification, a write
 * session, and what the file saver and tree copier need.
 */
export type CopyDestination = Pick<
  Repository,
  | 'id'
  | 'withLock'
  | 'listSnapshots'
  | 'prepareRead'
  | 'checkPacks'
  | 'readingFromStorage'
  | 'withWriter'
  | 'saveSnapshot'
  | 'loadTree'
  | 'pool'
  | 'chunker'
  | 'blobIdOf'
>;

/** Which snapshots `copy` copies, progress and stop signal. */
export interface CopyOptions {
  /** Only snapshots of this host, source and with all these tags. */
  host?: string;
  source?: string;
  tags?: string[];
  /**
   * Which of the snapshots the destination lacks to copy (default: all); the
   * rest are reported in `leftOut`. A job uses it to leave out what the
   * destination's retention would forget at once.
   */
  select?: (missing: readonly SnapshotEntry[], destination: readonly SnapshotEntry[]) => readonly SnapshotEntry[];
  /** Decide what would be copied; write nothing and take no locks. */
  dryRun?: boolean;
  /** Live counters, updated as the copy runs. */
  progress?: CopyProgress;
  /** Called with a copy of the counters as they change (each file or step at once, byte counts at most every 100 ms, and the final state at the end). */
  onProgress?: (progress: CopyProgress) => void;
  /**
   * Stops the copy at the next file: it rejects with LifeboatError `interrupted`. Snapshots already
   * copied stay (each complete and verified); the one in progress is not saved.
   */
  signal?: AbortSignal;
  /** Called as each snapshot has been copied and verified. */
  onCopied?: (copied: CopiedSnapshot) => void;
  /** Called before each copied snapshot is saved (tests inject faults here). */
  beforeSave?: () => Promise<void>;
}

/**
 * One snapshot copied: its id in the source and in the destination, what it
 * added, what it read from the source and what it reused instead, and the
 * destination snapshot it was copied against (`base`, see incremental-base.ts).
 */
export interface CopiedSnapshot extends CopyReadCounters {
  from: SnapshotEntry;
  to: SnapshotEntry;
  /** Content bytes new to the destination. */
  addedBytes: number;
  /** Bytes of packs written to the destination. */
  storedBytes: number;
  /** The destination's copy of an earlier snapshot whose unchanged content was reused, if any. */
  base?: string;
}

/** What a copy did: the snapshots copied, skipped (already there), left out and unreadable, the bytes added, read and reused. */
export interface CopyResult extends CopyReadCounters {
  copied: CopiedSnapshot[];
  /** Source snapshots the destination already holds, with the destination snapshot standing for each. */
  skipped: Array<{ snapshot: SnapshotEntry; heldAs: SnapshotEntry }>;
  /** With `dryRun`: the snapshots that would be copied, oldest first. */
  pending: SnapshotEntry[];
  /** Source snapshot objects that could not be read (not copied). */
  unreadable: string[];
  /** Snapshots the destination lacks that `select` left out. */
  leftOut: SnapshotEntry[];
  addedBytes: number;
  storedBytes: number;
}

/**
 * Copy the snapshots of `src` that `dest` lacks (3-2-1 replication): oldest
 * first, each re-chunked and re-encrypted with the destination's keys and
 * deduplicated against what it holds — what is unchanged since an earlier
 * snapshot the destination holds a copy of is taken from that copy without
 * reading it from the source — verified in the destination, and only
 * then saved there — with the source snapshot's time, host, source, paths,
 * tags, reason and metadata, plus where it came from (`copiedFrom`). A
 * failure stops the run: snapshots copied before it stay, no partial snapshot
 * is written, and the next run reuses the packs already stored.
 */
export async function copy(src: Repository, dest: CopyDestination, options: CopyOptions = {}): Promise<CopyResult> {
  if (src.id === dest.id) {
    throw new LifeboatError(ErrorCode.Usage, 'the source and the destination are the same repository', {
      hint: 'give --to another repository',
    });
  }
  const filter: SnapshotFilter = { host: options.host, source: options.source, tags: options.tags };
  if (options.dryRun) {
    const plan = await planCopy(src, dest, filter, options.select);
    return { ...emptyResult(plan), pending: plan.pending };
  }
  const host = os.hostname();
  return src.withLock(false, `copy to ${dest.id.slice(0, 8)} on ${host}`, () =>
    dest.withLock(false, `copy from ${src.id.slice(0, 8)} on ${host}`, async (destLock) => {
      const plan = await planCopy(src, dest, filter, options.select);
      const result = emptyResult(plan);
      if (plan.pending.length === 0) return result;
      await src.prepareRead();
      await dest.prepareRead();
      const feed = feedProgress(options.progress ?? newCopyProgress(), options.onProgress);
      const progress = feed.live;
      progress.snapshotsTotal = plan.pending.length;
      const readBack = dest.readingFromStorage();
      try {
        // A failure indexes the packs already durable before the lock is released (write-session.ts).
        await dest.withWriter(
          'copy',
          async (writer) => {
            const copier = new TreeCopier(
              src,
              dest,
              writer,
              new FileSaver(dest, writer, progress),
              progress,
              options.signal,
            );
            for (const snapshot of plan.pending) {
              const copied = await copyOne(
                { src, dest, readBack, destLock, writer, copier, progress, plan, options },
                snapshot,
              );
              plan.held.add(copied.to);
              result.copied.push(copied);
              result.addedBytes += copied.addedBytes;
              result.storedBytes += copied.storedBytes;
              result.bytesRead += copied.bytesRead;
              result.filesReused += copied.filesReused;
              result.bytesReused += copied.bytesReused;
              progress.snapshotsDone++;
              options.onCopied?.(copied);
            }
          },
          { lock: destLock },
        );
      } finally {
        await readBack.close();
        feed.flush();
      }
      return result;
    }),
  );
}

interface Plan {
  sourceSnapshots: Map<string, SnapshotEntry>;
  held: HeldSnapshots;
  pending: SnapshotEntry[];
  skipped: CopyResult['skipped'];
  unreadable: string[];
  leftOut: SnapshotEntry[];
}

async function planCopy(
  src: Repository,
  dest: CopyDestination,
  filter: SnapshotFilter,
  select: CopyOptions['select'],
): Promise<Plan> {
  const [from, to] = await Promise.all([src.listSnapshots(), dest.listSnapshots()]);
  const held = new HeldSnapshots(dest.id, to.snapshots);
  const plan: Plan = {
    sourceSnapshots: new Map(from.snapshots.map((s) => [s.id, s])),
    held,
    pending: [],
    skipped: [],
    unreadable: from.problems.map((p) => p.name),
    leftOut: [],
  };
  for (const snapshot of from.snapshots.filter((s) => matchesFilter(s, filter))) {
    const heldAs = held.find(snapshot, src.id);
    if (heldAs) plan.skipped.push({ snapshot, heldAs });
    else plan.pending.push(snapshot);
  }
  if (select) {
    const chosen = new Set(select(plan.pending, to.snapshots).map((s) => s.id));
    plan.leftOut = plan.pending.filter((s) => !chosen.has(s.id));
    plan.pending = plan.pending.filter((s) => chosen.has(s.id));
  }
  return plan;
}

function emptyResult(plan: Plan): CopyResult {
  return {
    copied: [],
    skipped: plan.skipped,
    pending: [],
    unreadable: plan.unreadable,
    leftOut: plan.leftOut,
    addedBytes: 0,
    storedBytes: 0,
    bytesRead: 0,
    filesReused: 0,
    bytesReused: 0,
  };
}

interface Run {
  src: Repository;
  dest: CopyDestination;
  /** The destination as storage holds it, for the check of each copy (not what the packer left in the cache). */
  readBack: Repository;
  destLock: LockHandle;
  writer: BlobWriter;
  copier: TreeCopier;
  progress: CopyProgress;
  plan: Plan;
  options: CopyOptions;
}

async function copyOne(run: Run, snapshot: SnapshotEntry): Promise<CopiedSnapshot> {
  const { src, dest, writer, progress, options } = run;
  startSnapshot(progress, snapshot.id, snapshot.summary);
  const storedBefore = writer.storedBytes;
  const parent = snapshot.parent ? run.plan.sourceSnapshots.get(snapshot.parent) : undefined;
  const parentCopy = parent ? run.plan.held.find(parent, src.id) : undefined;

  // Unchanged since an earlier snapshot the destination holds a copy of: taken from that copy, not read again.
  const base = incrementalBase(snapshot, run.plan.sourceSnapshots, run.plan.held, src.id);
  const work = run.copier.copy(snapshot.tree, base && { src: base.from.tree, dest: base.copy.tree });
  work.catch(() => undefined); // when interrupted, the copy's own later failure is not news
  const tree = await abortable(work, options.signal);

  // The engine's write order: packs, an index naming them, verification, and the snapshot last.
  progress.phase = 'finishing';
  await writer.flush();
  await dest.checkPacks();
  // Unreadable index files need no finding here: the blobs they named count as absent below.
  await run.readBack.loadIndex();
  await run.readBack.checkPacks();
  await verifyCopy(src, run.readBack, snapshot.tree, tree);
  await options.beforeSave?.();
  throwIfAborted(options.signal);
  await run.destLock.assertHeld();

  const copy: Snapshot = {
    version: 1,
    time: snapshot.time,
    host: snapshot.host,
    username: snapshot.username,
    paths: [...snapshot.paths],
    ...(snapshot.source !== undefined ? { source: snapshot.source } : {}),
    tags: [...snapshot.tags],
    ...(snapshot.reason !== undefined ? { reason: snapshot.reason } : {}),
    ...(parentCopy ? { parent: parentCopy.id } : {}),
    tree,
    // What the backup saw stays; what this repository gained is the copy's own.
    summary: {
      ...snapshot.summary,
      addedBytes: progress.bytesAdded,
      addedStoredBytes: writer.storedBytes - storedBefore,
    },
    program: `lifeboat ${VERSION}`,
    metadata: {
      ...snapshot.metadata,
      copiedFrom: { ...copiedFromRecord(snapshot, src.id), copiedAt: new Date().toISOString() },
    },
  };
  const id = await dest.saveSnapshot(copy);
  progress.phase = 'done';
  return {
    from: snapshot,
    to: { ...copy, id },
    addedBytes: copy.summary.addedBytes,
    storedBytes: copy.summary.addedStoredBytes,
    bytesRead: progress.bytesRead,
    filesReused: progress.filesReused,
    bytesReused: progress.bytesReused,
    ...(base ? { base: base.copy.id } : {}),
  };
}
