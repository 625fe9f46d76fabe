import { tracePhase } from '../util/trace-timing.js';
import os from 'node:os';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { matchesFilter, type Snapshot, type SnapshotEntry } from '../repository/format/index.js';
import { VERSION } from '../version.js';
import { compileExcludes } from './excludes.js';
import { FileSaver } from './file-saver.js';
import { newBackupProgress, type BackupProgress } from './progress.js';
import { feedProgress } from '../util/progress-feed.js';
import { scanTotals } from './scan.js';
import { buildVirtualRoot, normalisePaths, type Mount, type StreamEntry } from './virtual-root.js';
import { TreeWalker, type InputError } from './walker.js';
import { checkGivenInputs, emptyPathErrors } from './given-inputs.js';
import { abortable, throwIfAborted } from './abort.js';
import { onAbort } from '../util/on-abort.js';

/**
 * The slice of a repository a backup uses: the lock, the index and its pack
 * check, snapshots, trees of the parent, a write session, and what the file
 * saver needs (workers, chunker, blob ids).
 */
export type ArchiverRepo = Pick<
  Repository,
  | 'lock'
  | 'prepareRead'
  | 'index'
  | 'listSnapshots'
  | 'saveSnapshot'
  | 'withWriter'
  | 'loadTree'
  | 'pool'
  | 'chunker'
  | 'blobIdOf'
>;

/** What `backup` stores and how: the paths, streams and mounts, tags, excludes, parent, progress and stop signal. */
export interface BackupOptions {
  paths: string[];
  streams?: StreamEntry[];
  /** Real paths stored under other snapshot paths. */
  mounts?: Mount[];
  tags?: string[];
  reason?: string;
  host?: string;
  source?: string;
  excludes?: string[];
  /** Parent snapshot id; by default the latest snapshot with the same host, source and paths. */
  parent?: string;
  /** Ignore the parent: read every file again. */
  force?: boolean;
  /** Recorded with the snapshot; a function is called once the data is stored (stream sources learn counts while streaming). */
  metadata?: Record<string, unknown> | ((stored: { files: number; bytes: number }) => Promise<Record<string, unknown>>);
  /** Live counters, updated as the backup runs (the CLI's progress line reads them). */
  progress?: BackupProgress;
  /** Called with a copy of the counters as they change (each file or step at once, byte counts at most every 100 ms, and the final state at the end). */
  onProgress?: (progress: BackupProgress) => void;
  /** Count files and bytes concurrently, for an ETA. */
  estimate?: boolean;
  /** Stops the backup at the next file: it rejects with LifeboatError `interrupted` and saves no snapshot. */
  signal?: AbortSignal;
  /** Input errors the caller found before the backup (a glob that matched nothing); recorded with the others. */
  inputErrors?: InputError[];
  /** Called after each file was read and before it is checked for changes (tests change files here). */
  afterRead?: (path: string) => Promise<void>;
  /** Called when the snapshot is about to be saved (tests inject faults here). */
  beforeSave?: () => Promise<void>;
}

/** The snapshot a backup saved, and the inputs it could not read. */
export interface BackupResult {
  snapshot: SnapshotEntry;
  errors: InputError[];
  parent?: string;
  /** Packs that the index named but storage lacked; their data was stored again. */
  repairedPacks: number;
  /** Blob copies a `check --read-data` on this machine found damaged: never reused, their data is stored again when met. */
  knownDamagedCopies: number;
}

/**
 * One backup, end to end: lock, load the index, check which packs really
 * exist, walk the inputs against the parent snapshot, store new blobs, then —
 * only once every pack is durable and indexed, and the lock is still provably
 * held — save the snapshot.
 */
export async function backup(repo: ArchiverRepo, options: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const feed = feedProgress(options.progress ?? newBackupProgress(), options.onProgress);
  const progress = feed.live;
  const streams = options.streams ?? [];
  const given = checkGivenInputs(normalisePaths(options.paths.filter((p) => p.trim() !== '')), options.mounts ?? []);
  const inputErrors = [...(options.inputErrors ?? []), ...emptyPathErrors(options.paths), ...given.errors];
  const { paths, mounts } = given;
  if (paths.length === 0 && streams.length === 0 && mounts.length === 0) {
    if (inputErrors.length === 0)
      throw new LifeboatError(ErrorCode.Usage, 'nothing to back up', { hint: 'give at least one path' });
    // Every input is missing: saving an empty snapshot would look like a backup.
    throw new LifeboatError(
      ErrorCode.NothingBackedUp,
      `nothing was backed up, no snapshot saved: ${describeInputErrors(inputErrors)}`,
      {
        hint: 'check the paths (a typo, an unmounted disk, a glob that matches nothing)',
        context: { inputs: inputErrors },
      },
    );
  }
  const host = options.host ?? os.hostname();

  const lock = await repo.lock(false, `backup on ${host}`);
  tracePhase('lock taken');
  let detachOuter: (() => void) | undefined;
  try {
    const packCheck = await repo.prepareRead();
    const knownDamagedCopies = repo.index.damagedCount;
    const parent = options.force ? undefined : await findParent(repo, options, host, paths);
    tracePhase('parent found');
    if (options.estimate) void scanTotals(paths, options.excludes ?? [], progress);
    progress.phase = 'saving';

    // One failing input (a dump that exits non-zero) stops the others, so no producer keeps running for nothing.
    const stopInputs = new AbortController();
    const outer = options.signal;
    // An abort that came earlier (while locking, loading the index) stops the inputs before any is opened.
    // Detached when this backup ends: a job's signal outlives its backups, and one listener left per
    // source would pile up on it (Node warns, MaxListenersExceededWarning, past 10).
    detachOuter = onAbort(outer, () => stopInputs.abort(outer?.reason));
    // Packs are indexed as they become durable, then once more at the end — only while the lock is
    // provably held; a failure indexes those already durable before the lock is released (write-session.ts).
    const written = await repo.withWriter(
      'backup',
      async (writer) => {
        const walker = new TreeWalker(
          repo,
          writer,
          new FileSaver(repo, writer, progress),
          compileExcludes(options.excludes ?? []),
          progress,
          stopInputs.signal,
          options.afterRead,
        );
        for (const e of inputErrors) walker.recordInputError(e);
        if (paths.includes('/') && (streams.length || mounts.length))
          throw new LifeboatError(ErrorCode.Usage, 'streams cannot be added to a backup of the whole root directory');
        const root = buildVirtualRoot(
          paths.filter((p) => p !== '/'),
          streams,
          mounts,
        );
        const walk = paths.includes('/') ? walker.walkWholeRoot(parent?.tree) : walker.walkVirtual(root, parent?.tree);
        walk.catch(() => stopInputs.abort()); // when interrupted, the walk's own later failure is not news
        const walked = await abortable(walk, options.signal);
        tracePhase('walk done');
        progress.phase = 'finishing';
        return { ...walked, errors: walker.errors };
      },
      { lock, lockBeforeFinalIndex: true },
    );
    tracePhase('packs and index written');
    const { stats, treeId, errors } = written.value;
    const metadata =
      typeof options.metadata === 'function'
        ? await options.metadata({ files: stats.files, bytes: stats.bytes })
        : (options.metadata ?? {});
    await options.beforeSave?.();
    throwIfAborted(options.signal);
    await lock.assertHeld();

    const snapshot: Snapshot = {
      version: 1,
      time: new Date().toISOString(),
      host,
      username: safeUser(),
      paths: snapshotPaths(paths, options),
      ...(options.source ? { source: options.source } : {}),
      tags: [...new Set(options.tags ?? [])].sort(),
      ...(options.reason ? { reason: options.reason } : {}),
      ...(parent ? { parent: parent.id } : {}),
      tree: treeId,
      summary: {
        files: stats.files,
        dirs: stats.dirs,
        bytes: stats.bytes,
        filesRead: stats.filesRead,
        addedBytes: progress.bytesAdded,
        addedStoredBytes: written.storedBytes,
        durationMs: Date.now() - started,
        errors: errors.length,
      },
      program: `lifeboat ${VERSION}`,
      metadata,
    };
    const id = await repo.saveSnapshot(snapshot);
    tracePhase('snapshot saved');
    progress.phase = 'done';
    return {
      snapshot: { ...snapshot, id },
      errors,
      ...(parent ? { parent: parent.id } : {}),
      repairedPacks: packCheck.missing.length + packCheck.wrongSize.length,
      knownDamagedCopies,
    };
  } finally {
    detachOuter?.();
    await lock.release();
    tracePhase('lock released');
    feed.flush();
  }
}

/** `/a: does not exist; "": an empty path…`, the first few. */
export function describeInputErrors(errors: readonly InputError[], max = 3): string {
  const shown = errors.slice(0, max).map((e) => `${e.path}: ${e.message}`);
  return shown.join('; ') + (errors.length > max ? ` (and ${errors.length - max} more)` : '');
}

async function findParent(
  repo: ArchiverRepo,
  options: BackupOptions,
  host: string,
  paths: string[],
): Promise<SnapshotEntry | undefined> {
  const { snapshots } = await repo.listSnapshots();
  if (options.parent) return snapshots.find((s) => s.id.startsWith(options.parent!));
  const wanted = snapshotPaths(paths, options).sort().join('\n');
  const candidates = snapshots.filter(
    (s) =>
      matchesFilter(s, { host }) &&
      (s.source ?? '') === (options.source ?? '') &&
      [...s.paths].sort().join('\n') === wanted,
  );
  return candidates[candidates.length - 1];
}

/** The paths a snapshot lists: walked paths, mount points and streams. */
function snapshotPaths(paths: string[], options: BackupOptions): string[] {
  return [...paths, ...(options.mounts ?? []).map((m) => m.at), ...(options.streams ?? []).map((s) => s.path)];
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
