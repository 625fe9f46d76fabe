import { describeInputErrors } from '../archiver/backup.js';
import type { SourceConfig } from '../config/source-schemas.js';
import type { Repository } from '../repository/repository.js';
import { backupSource, type SourceBackupOptions, type SourceBackupResult } from '../sources/run-source.js';
import { checkBackup, type BackupCheck } from '../verify/post-backup.js';

export interface BackupAndCheckOptions extends SourceBackupOptions {
  /** Called once the snapshot is saved and before it is checked (the CLI ends its progress bar and prints the summary there). */
  onSaved?: (backup: SourceBackupResult) => void;
  /** A backup that missed some inputs fails without being checked (`guard`, which refuses it either way). */
  incompleteFails?: boolean;
}

export interface CheckedBackup {
  backup: SourceBackupResult;
  /** The cheap check of what was just written (`checkBackup`). */
  check: BackupCheck;
}

/**
 * Back up one configured source and check at once what was written: a bad
 * backup is reported now, not at restore time. The one sequence behind
 * `lifeboat backup --source`, a job's backup step and `guard`; what a failed
 * check or unreadable inputs mean (a warning, a failed step, a refused
 * migration) is each caller's.
 */
export async function backupAndCheck(
  repo: Repository,
  source: string,
  config: SourceConfig,
  options: BackupAndCheckOptions = {},
): Promise<CheckedBackup> {
  const { onSaved, incompleteFails, ...backupOptions } = options;
  const backup = await backupSource(repo, source, config, backupOptions);
  onSaved?.(backup);
  const unreadable = unreadableInputs(backup);
  if (incompleteFails && unreadable) return { backup, check: { verified: false, reasons: [unreadable] } };
  return { backup, check: await checkBackup(repo, backup.snapshot, backup.record) };
}

/** "2 input(s) could not be read: …" for a backup that missed some of its inputs, else undefined. */
export function unreadableInputs(backup: SourceBackupResult): string | undefined {
  return backup.errors.length
    ? `${backup.errors.length} input(s) could not be read: ${describeInputErrors(backup.errors)}`
    : undefined;
}
