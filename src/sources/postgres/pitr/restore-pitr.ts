import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { Repository } from '../../../repository/repository.js';
import { feedChild } from '../../child-process.js';
import { StreamTally } from '../../hashing.js';
import { readSnapshotFile, snapshotFileNode } from '../../snapshot-file.js';
import { BASE_TAR_PATH, loadCatalog, walPath, type WalCatalog } from './catalog.js';
import { describeTarget, planRecovery, type RecoveryPlan, type RecoveryTarget } from './recovery-plan.js';
import { formatLsn, historyTimeline, parseHistory, type TimelineSwitch } from './wal-names.js';
import { interruptedError, throwIfInterrupted } from '../../../util/interrupt.js';

/** Which source, base backup and target `restorePointInTime` recovers, into which data directory. */
export interface PitrRestoreOptions {
  source: string;
  /** A base backup snapshot id or prefix; the newest suitable one when absent. */
  base?: string;
  target: RecoveryTarget;
  /** The new data directory: absent or empty. */
  dataDir: string;
  /** The shell command PostgreSQL runs to fetch WAL, with %f and %p (no secrets: they come from the config or the environment). */
  restoreCommand: string;
  /** Leave archive_mode as the base backup had it (a restore that becomes the new primary); by default the copy does not archive. */
  keepArchiving?: boolean;
  /** Plan only: check that the target is reachable and write nothing. */
  dryRun?: boolean;
  /** Stops the restore: what was written into `dataDir` is removed and the promise rejects with `interrupted`. */
  signal?: AbortSignal;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  /** Called as the base backup is written, with the bytes so far and the base backup's size. */
  onProgress?: (progress: PitrRestoreProgress) => void;
}

/** How much of the base backup a point-in-time restore has written. */
export interface PitrRestoreProgress {
  bytes: number;
  totalBytes: number;
}

/** The base backup restored, the recovery configured, and (with verify) where recovery ended. */
export interface PitrRestoreResult {
  plan: RecoveryPlan;
  dataDir: string;
  written: boolean;
}

/** The archived history files of a source, parsed (few and small: read whole). */
export async function loadHistories(repo: Repository, catalog: WalCatalog): Promise<Map<number, TimelineSwitch[]>> {
  const out = new Map<number, TimelineSwitch[]>();
  for (const [name, stored] of catalog.files) {
    const tli = historyTimeline(name);
    if (tli === undefined) continue;
    const snapshot = catalog.walSnapshots.find((s) => s.id === stored.snapshot)!;
    const parts: Buffer[] = [];
    for await (const chunk of readSnapshotFile(repo, await snapshotFileNode(repo, snapshot, walPath(name)), name))
      parts.push(chunk);
    out.set(tli, parseHistory(Buffer.concat(parts).toString('utf8')));
  }
  return out;
}

/**
 * Point-in-time restore: plan first (refusing before anything is written),
 * then extract the base backup into the new data directory and configure
 * recovery — recovery.signal, restore_command, the target, and promotion
 * once it is reached. PostgreSQL does the replay when the server starts.
 */
export async function restorePointInTime(repo: Repository, options: PitrRestoreOptions): Promise<PitrRestoreResult> {
  const log = options.log ?? (() => {});
  await repo.prepareRead();
  const catalog = await loadCatalog(repo, options.source);
  const plan = planRecovery(catalog, await loadHistories(repo, catalog), options.target, options.base);
  const dataDir = path.resolve(options.dataDir);
  const existing = await readdir(dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  if (existing.length > 0) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `${dataDir} is not empty; a point-in-time restore writes a new data directory and never mixes with an existing one`,
      { hint: 'name a new or empty directory with --target' },
    );
  }
  log(
    `base backup ${plan.base.snapshot.id.slice(0, 8)} (${plan.base.stopTime}, timeline ${plan.base.timeline}), ${plan.files.length} WAL files to ${plan.lastSegment}, target ${describeTarget(options.target)} on timeline ${plan.timeline}`,
  );
  if (options.dryRun) return { plan, dataDir, written: false };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tally = new StreamTally();
  const node = await snapshotFileNode(repo, plan.base.snapshot, BASE_TAR_PATH);
  try {
    await feedChild(
      {
        label: 'tar',
        command: 'tar',
        args: ['-x', '-f', '-', '-C', dataDir, '--no-same-owner'],
        signal: options.signal,
      },
      reportBytes(tally.through(readSnapshotFile(repo, node, BASE_TAR_PATH)), tally, plan.base.tarBytes, options),
    );
    throwIfInterrupted(options.signal, 'nothing was left in the data directory');
  } catch (err) {
    if (!options.signal?.aborted) throw err;
    // Interrupted: the directory was empty or absent before, so nothing of the user's is removed.
    for (const entry of await readdir(dataDir)) await rm(path.join(dataDir, entry), { recursive: true, force: true });
    throw interruptedError(`nothing was left in ${dataDir}`, err);
  }
  if (tally.bytes !== plan.base.tarBytes || tally.sha256 !== plan.base.tarSha256) {
    throw new LifeboatError(
      ErrorCode.Corrupt,
      `the base backup read back from ${plan.base.snapshot.id.slice(0, 8)} does not match its recorded size and SHA-256; ${dataDir} is unusable`,
      { hint: 'run `lifeboat check --read-data`' },
    );
  }
  await writeFile(path.join(dataDir, 'recovery.signal'), '', { mode: 0o600 });
  await appendFile(path.join(dataDir, 'postgresql.auto.conf'), recoverySettings(plan, options).join('\n') + '\n', {
    mode: 0o600,
  });
  return { plan, dataDir, written: true };
}

/** Pass the base backup's bytes through, reporting how many went by. */
async function* reportBytes(
  input: AsyncIterable<Uint8Array>,
  tally: StreamTally,
  totalBytes: number,
  options: PitrRestoreOptions,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) {
    yield chunk;
    options.onProgress?.({ bytes: tally.bytes, totalBytes });
  }
}

/** A value in postgresql.conf syntax. */
export function confString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function recoverySettings(plan: RecoveryPlan, options: PitrRestoreOptions): string[] {
  const lines = [
    `# point-in-time restore by lifeboat from base backup ${plan.base.snapshot.id.slice(0, 8)}`,
    `restore_command = ${confString(options.restoreCommand)}`,
    `recovery_target_timeline = 'latest'`,
  ];
  const t = options.target;
  if (t.kind === 'time')
    lines.push(`recovery_target_time = ${confString(t.time.toISOString().replace('T', ' ').replace('Z', '+00'))}`);
  if (t.kind === 'lsn') lines.push(`recovery_target_lsn = ${confString(formatLsn(t.lsn))}`);
  if (t.kind === 'name') lines.push(`recovery_target_name = ${confString(t.name)}`);
  if (t.kind !== 'latest') lines.push(`recovery_target_action = 'promote'`);
  // A restored copy must not archive into its source's archive unless it is meant to replace the source.
  if (!options.keepArchiving) lines.push(`archive_mode = 'off'`);
  return lines;
}
