import os from 'node:os';
import { backup, type BackupResult } from '../archiver/backup.js';
import type { BackupProgress } from '../archiver/progress.js';
import type { SourceConfig, SourceType } from '../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { compareRecords, type RecordCheck } from './compare.js';
import type { Capture, Restored, RestoreTarget, SourceMetadata, SourceRecord } from './contract.js';
import { sourceMetadata } from './metadata.js';

export { sourceMetadata };
import { ownedTempDir } from '../leftovers/temp-dir.js';
import { sourceDriver } from './registry.js';
import { databaseView } from './all-databases.js';
import { volumeView } from './docker/volume-view.js';
import { onAbort } from '../util/on-abort.js';
import { withHooks, type HookPhaseResult } from './hooks/with-hooks.js';

/** How `backupSource` backs up a configured source: tags, reason, progress and stop signal. */
export interface SourceBackupOptions {
  tags?: string[];
  reason?: string;
  host?: string;
  force?: boolean;
  /** Live counters, updated as the backup runs. */
  progress?: BackupProgress;
  /** Called with a copy of the counters as they change (see `BackupOptions.onProgress`). */
  onProgress?: (progress: BackupProgress) => void;
  estimate?: boolean;
  /** Stops the backup (and the dump or copy feeding it): LifeboatError `interrupted`, no snapshot saved. */
  signal?: AbortSignal;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  /** Where private temp directories are made (default: the system's). */
  tempBase?: string;
  /** The job run this backup belongs to, recorded in the snapshot so history can be rebuilt from repositories. */
  run?: { job: string; runId: string };
  /** Where the source's hooks run (the config file's directory) and what hears each hook phase as it ends (the run record). */
  hooks?: {
    cwd?: string;
    repository?: string;
    /** Called as each hook phase ends, with its outcome and output (the run record's step). */
    onPhase?: (result: HookPhaseResult) => void;
  };
}

/** The snapshot of a source backup, with what its driver recorded for verification. */
export interface SourceBackupResult extends BackupResult {
  record: SourceRecord;
  /** The source's `after` or `finally` hooks that failed: the snapshot stands, but the backup must be reported as failed. */
  hookFailures: string[];
}

/**
 * Back up one configured source into one snapshot: capture (a consistent copy,
 * a dump stream, a server-side snapshot), store it, record what verification
 * will compare, and always release what the capture made.
 */
export async function backupSource(
  repo: Repository,
  name: string,
  config: SourceConfig,
  options: SourceBackupOptions = {},
): Promise<SourceBackupResult> {
  const { value, failures } = await withHooks(
    {
      hooks: config.hooks,
      owner: `source ${name}`,
      env: {
        LIFEBOAT_SOURCE: name,
        LIFEBOAT_SOURCE_TYPE: config.type,
        ...(options.run ? { LIFEBOAT_JOB: options.run.job, LIFEBOAT_RUN_ID: options.run.runId } : {}),
        ...(options.hooks?.repository ? { LIFEBOAT_REPOSITORY: options.hooks.repository } : {}),
      },
      cwd: options.hooks?.cwd,
      signal: options.signal,
      log: options.log,
      onPhase: options.hooks?.onPhase,
    },
    () => captureAndStore(repo, name, config, options),
    (result) => ({ status: 'ok', snapshots: [result.snapshot.id] }),
  );
  return { ...value, hookFailures: failures };
}

/** The backup itself, inside the source's hooks. */
async function captureAndStore(
  repo: Repository,
  name: string,
  config: SourceConfig,
  options: SourceBackupOptions,
): Promise<Omit<SourceBackupResult, 'hookFailures'>> {
  const driver = sourceDriver(config.type);
  const outer = options.signal ?? new AbortController().signal;
  // Aborted when the user interrupts or when the archiver stops its inputs (one of them failed):
  // drivers tie their dump processes and connections to it, so none outlives the backup.
  const inputs = new AbortController();
  const stopInputs = () => inputs.abort(outer.reason);
  // Already aborted (a signal before this backup began): the capture must see it.
  onAbort(outer, stopInputs);
  const signal = inputs.signal;
  const log = options.log ?? (() => {});
  const temp = await ownedTempDir(options.tempBase ?? os.tmpdir(), `lifeboat-${config.type}-`);
  let capture: Capture | undefined;
  let record: SourceRecord = {};
  let saved: BackupResult | undefined;
  let failure: unknown;
  try {
    capture = await driver.capture(config, { sourceName: name, tempDir: temp.path, signal, log });
    const result = await backup(repo, {
      paths: capture.paths ?? [],
      excludes: capture.excludes,
      inputErrors: capture.inputErrors,
      mounts: capture.mounts,
      streams: capture.streams?.map((s) => ({
        ...s,
        open: (stopped: AbortSignal) => {
          onAbort(stopped, () => inputs.abort());
          return s.open(stopped);
        },
      })),
      source: name,
      tags: [...(config.tags ?? []), ...(options.tags ?? [])],
      reason: options.reason,
      host: options.host,
      force: options.force,
      progress: options.progress,
      onProgress: options.onProgress,
      estimate: options.estimate,
      signal: outer,
      metadata: async (stored) => {
        record = await capture!.record(stored);
        const metadata: SourceMetadata = { source: { type: config.type, name, format: 1 }, record };
        return { ...metadata, ...(options.run ? { run: options.run } : {}) };
      },
    });
    saved = result;
  } catch (err) {
    failure = err;
  }
  outer.removeEventListener('abort', stopInputs);
  try {
    await capture?.release?.();
  } catch (err) {
    throw releaseFailed(err, saved, failure);
  } finally {
    await temp.dispose();
  }
  if (!saved) throw failure;
  return { ...saved, record };
}

/**
 * What was captured could not be released (a stopped container that does not
 * start again): the backup fails, also when its snapshot was saved, which is
 * kept and named.
 */
function releaseFailed(err: unknown, saved: BackupResult | undefined, failure: unknown): LifeboatError {
  const message = err instanceof Error ? err.message : String(err);
  const after = saved
    ? `snapshot ${saved.snapshot.id.slice(0, 8)} was saved and is kept, but ${message}`
    : `${message} (the backup itself failed too: ${failure instanceof Error ? failure.message : String(failure)})`;
  return new LifeboatError(ErrorCode.SourceFailed, after, {
    hint: err instanceof LifeboatError ? err.hint : undefined,
    context: saved ? { snapshot: saved.snapshot.id } : {},
    cause: err,
  });
}

/** Where `restoreSource` restores a source snapshot (a file, a database, a directory) and how. */
export interface SourceRestoreOptions extends RestoreTarget {
  /** The configured source of the snapshot's name, when there is one. */
  config?: SourceConfig;
  signal?: AbortSignal;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  tempBase?: string;
  /** The database of a server-wide postgres/mysql snapshot to restore (restored into its own name unless `toDatabase` says another). */
  database?: string;
  /** The volume of a docker snapshot to restore (needed when it holds several). */
  volume?: string;
  /** Measure the restored copy and compare with the record (default true). */
  verify?: boolean;
}

/** What a source restore produced, and its checks against what was recorded. */
export interface SourceRestoreResult {
  type: SourceType;
  restored: Restored;
  /** Verified fields, recorded vs measured on the restored copy. */
  checks: RecordCheck[];
  measured?: SourceRecord;
}

/** Restore a source snapshot with its driver, then measure the copy and compare with what was recorded. */
export async function restoreSource(
  repo: Repository,
  whole: SnapshotEntry,
  options: SourceRestoreOptions,
): Promise<SourceRestoreResult> {
  if (!sourceMetadata(whole))
    throw new LifeboatError(ErrorCode.Usage, `snapshot ${whole.id.slice(0, 8)} is not a source backup`, {
      hint: 'restore it with --target DIR',
    });
  if (options.database !== undefined && !['postgres', 'mysql'].includes(sourceMetadata(whole)!.source.type)) {
    throw new LifeboatError(ErrorCode.Usage, '--database applies to postgres and mysql snapshots only');
  }
  if (options.volume !== undefined && sourceMetadata(whole)!.source.type !== 'docker') {
    throw new LifeboatError(ErrorCode.Usage, '--volume applies to docker snapshots only');
  }
  const wholeType = sourceMetadata(whole)!.source.type;
  const snapshot = ['postgres', 'mysql'].includes(wholeType)
    ? databaseView(whole, options.database)
    : wholeType === 'docker'
      ? volumeView(whole, options.volume)
      : whole;
  const meta = sourceMetadata(snapshot)!;
  const driver = sourceDriver(meta.source.type);
  const config = options.config && options.config.type === meta.source.type ? options.config : undefined;
  const temp = await ownedTempDir(options.tempBase ?? os.tmpdir(), `lifeboat-restore-`);
  try {
    const ctx = {
      repo,
      snapshot,
      sourceName: meta.source.name,
      config,
      tempDir: temp.path,
      signal: options.signal ?? new AbortController().signal,
      log: options.log ?? (() => {}),
      target: options.target,
      toDatabase: options.toDatabase ?? options.database,
      toFile: options.toFile,
      toVolume: options.toVolume,
      force: options.force,
      identity: options.identity,
    };
    const restored = await driver.restore(ctx);
    if (options.verify === false) return { type: meta.source.type, restored, checks: [] };
    const measured = await driver.inspect(restored, ctx);
    return {
      type: meta.source.type,
      restored,
      checks: compareRecords(meta.record, measured, driver.verifiedFields),
      measured,
    };
  } finally {
    await temp.dispose();
  }
}
