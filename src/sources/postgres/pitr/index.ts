/** PostgreSQL point-in-time recovery, as the library exports it (docs/sources/postgres.md). */
export { takeBaseBackup, type BaseBackupOptions, type BaseBackupResult } from './base-backup.js';
export {
  pushWal,
  fetchWal,
  type WalFileToPush,
  type PushResult,
  type PushOptions,
  type FetchResult,
} from './wal-archive.js';
export { spoolWal, spooledFiles } from './spool.js';
export { drainSpool, type DrainResult } from './spool-drain.js';
export {
  loadCatalog,
  catalogFrom,
  type WalCatalog,
  type BaseBackup,
  type BaseBackupRecord,
  type ArchivedFile,
  type WalRecord,
} from './catalog.js';
export { planRecovery, describeTarget, type RecoveryPlan, type RecoveryTarget } from './recovery-plan.js';
export {
  restorePointInTime,
  loadHistories,
  type PitrRestoreOptions,
  type PitrRestoreProgress,
  type PitrRestoreResult,
} from './restore-pitr.js';
export { verifyRecovery, type RecoveryOutcome } from './verify-restore.js';
export { walGaps, type WalCheckReport, type WalGap } from './wal-check.js';
export { pruneWal, planWalPrune, type WalPrunePlan, type WalPruneResult } from './wal-prune.js';
export { parseLsn, formatLsn } from './wal-names.js';
