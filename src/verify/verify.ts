import os from 'node:os';
import path from 'node:path';
import type { SourceConfig, SourceType } from '../config/source-schemas.js';
import { ErrorCode, isLifeboatError } from '../errors/index.js';
import { interruptedError } from '../util/interrupt.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { restore, type RestoreProgress } from '../restorer/restore.js';
import type { Restored, RestoreContext, RestoreTarget, SourceDriver, SourceRecord } from '../sources/contract.js';
import { ownedTempDir } from '../leftovers/temp-dir.js';
import { sourceDriver } from '../sources/registry.js';
import { restoreSource, sourceMetadata } from '../sources/run-source.js';
import { databaseView, recordedDatabases } from '../sources/all-databases.js';
import { recordedVolumes, volumeView } from '../sources/docker/volume-view.js';
import type { VerifyCheck } from './checks.js';
import { verifySealedStreams } from './sealed.js';

/** How `verify` restores into scratch: the source's settings, an age identity, progress and stop signal. */
export interface VerifyOptions {
  /** The configured source of the snapshot's name: where its server is (database sources need it, or credentials from the environment). */
  config?: SourceConfig;
  /** age identity file: a sealed files snapshot is then unsealed and counted, not only hash-checked. */
  identity?: string;
  /**
   * Stops the verify at the next file or step: it rejects with LifeboatError `interrupted` once the
   * scratch copy is removed. Verify only reads the repository.
   */
  signal?: AbortSignal;
  /**
   * Called as the scratch restore goes on: a plain path snapshot reports its restore counters as
   * `RestoreOptions.onProgress` does; a source snapshot reports `restoring` when it starts; every verify reports `done`.
   */
  onProgress?: (progress: VerifyProgress) => void;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  /** Where the private scratch directory is made (default: the system temp directory). */
  tempBase?: string;
}

/** How far a verify is: its phase, and the counters of the scratch restore of a plain path snapshot. */
export interface VerifyProgress extends RestoreProgress {
  phase: 'restoring' | 'done';
}

/** The verdict of a verify: `ok`, and each check with what was expected and found. */
export interface VerifyResult {
  snapshot: { id: string; time: string; host: string; source: string | null };
  source: { name: string; type: SourceType } | null;
  /** How it was verified: through the source's driver, the sealed streams only, or as a plain path backup. */
  mode: 'source' | 'sealed-streams' | 'paths';
  ok: boolean;
  checks: VerifyCheck[];
  /** Where the scratch copy was (gone by the time the result is returned). */
  location?: string;
  /** What inspect measured on the restored copy. */
  measured?: SourceRecord;
  durationMs: number;
}

/** What a caller may look at while the restored copy still exists (drills: recent data, smoke command). */
export interface ScratchCopy {
  restored: Restored;
  target: RestoreTarget;
  measured?: SourceRecord;
  result: VerifyResult;
}

/** `lifeboat verify`: restore to scratch, run the source's own checks against what was recorded, remove the copy. */
export async function verify(
  repo: Repository,
  snapshot: SnapshotEntry,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  return (await verifyInScratch(repo, snapshot, options)).result;
}

/**
 * Restore a snapshot into an isolated place (the driver's `scratchTarget`),
 * measure it and compare with the record; then `during` runs on the copy, and
 * everything the restore created is removed — after failures and aborts too.
 * A failed restore is a failed check, not an exception; an abort is rethrown
 * once the cleanup is done. The index and trees are read from storage, never
 * from the local cache (`readingFromStorage`): the answer is about what
 * storage can restore.
 */
export async function verifyInScratch<T>(
  opened: Repository,
  snapshot: SnapshotEntry,
  options: VerifyOptions,
  during?: (copy: ScratchCopy) => Promise<T>,
): Promise<{ result: VerifyResult; during?: T }> {
  const started = Date.now();
  const signal = options.signal ?? new AbortController().signal;
  const log = options.log ?? (() => {});
  const meta = sourceMetadata(snapshot);
  const result: VerifyResult = {
    snapshot: { id: snapshot.id, time: snapshot.time, host: snapshot.host, source: snapshot.source ?? null },
    source: meta ? { name: meta.source.name, type: meta.source.type } : null,
    mode: !meta
      ? 'paths'
      : meta.source.type === 'files' && meta.record.sealed && !options.identity
        ? 'sealed-streams'
        : 'source',
    ok: false,
    checks: [],
    durationMs: 0,
  };
  const scratch = await ownedTempDir(options.tempBase ?? os.tmpdir(), 'lifeboat-verify-');
  const repo = opened.readingFromStorage();
  let driver: SourceDriver | undefined;
  let ctx: RestoreContext | undefined;
  let target: RestoreTarget | undefined;
  let extra: T | undefined;
  let last: RestoreProgress = { filesDone: 0, bytesDone: 0, totalFiles: 0, totalBytes: 0 };
  const report = (p: RestoreProgress, phase: VerifyProgress['phase'] = 'restoring'): void => {
    last = p;
    options.onProgress?.({ ...p, phase });
  };
  try {
    await repo.prepareRead();
    report(last);
    if (result.mode === 'paths') {
      result.checks.push(
        ...(await verifyPaths(repo, snapshot, path.join(scratch.path, 'restored'), signal, (p) => report(p))),
      );
    } else if (result.mode === 'sealed-streams') {
      result.checks.push(...(await verifySealedStreams(repo, snapshot, meta!.record, signal)));
    } else {
      driver = sourceDriver(meta!.source.type);
      const config = options.config?.type === meta!.source.type ? options.config : undefined;
      // A server-wide database snapshot: each database restored into its own scratch copy, measured, and removed;
      // a docker snapshot: each volume.
      const volumes = meta!.source.type === 'docker' ? recordedVolumes(meta!.record) : undefined;
      const databases = volumes ?? recordedDatabases(meta!.record) ?? [undefined];
      const part = volumes ? 'volume' : 'database';
      const locations: string[] = [];
      for (const database of databases) {
        const view = volumes ? volumeView(snapshot, database) : databaseView(snapshot, database);
        const named = (name: string) => (database === undefined ? name : `${database}: ${name}`);
        ctx = { repo, snapshot: view, sourceName: meta!.source.name, config, tempDir: scratch.path, signal, log };
        target = driver.scratchTarget
          ? await driver.scratchTarget(ctx)
          : { target: path.join(scratch.path, 'restored') };
        const restored = await restoreSource(repo, view, {
          ...target,
          identity: options.identity,
          config,
          signal,
          log,
          tempBase: scratch.path,
        }).catch((err: unknown) => {
          if (database === undefined || !(err instanceof Error)) throw err;
          throw new Error(`${part} "${database}": ${err.message}`, { cause: err });
        });
        locations.push(restored.restored.location);
        result.location = locations.join(', ');
        result.measured = restored.measured;
        result.checks.push({
          name: named('restore'),
          ok: true,
          expected: 'every blob authenticated, every content hash equal',
          actual: `restored to ${restored.restored.location}`,
        });
        result.checks.push(
          ...restored.checks.map((c) => ({ name: named(c.field), ok: c.ok, expected: c.expected, actual: c.actual })),
        );
        result.ok = result.checks.every((c) => c.ok);
        // Called for each database's copy while it exists (a drill runs its smoke command against each).
        if (during) extra = await during({ restored: restored.restored, target, measured: restored.measured, result });
        if (database !== databases[databases.length - 1] && driver.discard) {
          const done = target;
          target = undefined;
          await driver.discard(done, ctx);
        }
      }
    }
  } catch (err) {
    if (signal.aborted)
      throw isLifeboatError(err, ErrorCode.Interrupted)
        ? err
        : interruptedError('the verify did not finish; its scratch copy was removed');
    const message = isLifeboatError(err) || err instanceof Error ? err.message : String(err);
    result.checks.push({
      name: 'restore',
      ok: false,
      expected: 'a complete, authenticated restore',
      actual: 'failed',
      detail: message,
    });
  } finally {
    try {
      if (driver?.discard && target && ctx) await driver.discard(target, ctx);
    } catch (err) {
      result.checks.push({
        name: 'cleanup',
        ok: false,
        expected: 'the scratch copy removed',
        actual: 'left behind',
        detail: (err as Error).message,
      });
    }
    await scratch.dispose();
    await repo.close();
  }
  result.ok = result.checks.length > 0 && result.checks.every((c) => c.ok);
  result.durationMs = Date.now() - started;
  report(last, 'done');
  return { result, during: extra };
}

/** A plain path backup: restore every file (the restorer authenticates each blob and checks each file's hash) and count them. */
async function verifyPaths(
  repo: Repository,
  snapshot: SnapshotEntry,
  dir: string,
  signal: AbortSignal,
  onProgress: (p: RestoreProgress) => void,
): Promise<VerifyCheck[]> {
  const restored = await restore(repo, snapshot, { target: dir, signal, onProgress });
  const problems = restored.errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`);
  return [
    {
      name: 'content hashes',
      ok: restored.errors.length === 0,
      expected: 'every file equal to its recorded hash',
      actual: `${restored.errors.length} file(s) differ or cannot be read`,
      ...(problems.length ? { detail: problems.join('; ') } : {}),
    },
    {
      name: 'files',
      ok: restored.files === snapshot.summary.files,
      expected: snapshot.summary.files,
      actual: restored.files,
    },
  ];
}
