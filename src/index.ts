/**
 * Lifeboat as a library: the same engine the CLI uses.
 *
 *   import { openStorage, Repository, backup, restore, check } from 'lifeboat';
 *   const repo = await Repository.open(await openStorage('/var/backup/lifeboat'), { kind: 'password', password, source: 'app' });
 *   const { snapshot } = await backup(repo, { paths: ['/srv/app'], tags: ['nightly'] });
 */
export { ErrorCode, ExitCode, LifeboatError, exitCodeFor, isLifeboatError } from './errors/index.js';
export type { Storage, ObjectInfo, SpaceInfo, StorageFactory, StorageOptions } from './storage/contract.js';
export { openStorage, registerStorage } from './storage/registry.js';
export { describeLocation } from './storage/location.js';
export { LocalStorage } from './storage/drivers/local/index.js';
export { MemoryStorage } from './storage/drivers/memory/index.js';
export { Repository } from './repository/repository.js';
export type { WriteOnlyRepository } from './repository/write-only-repository.js';
export type { InitOptions, OpenOptions, PackCheck } from './repository/repository.js';
export type { KeyRole } from './repository/crypto/index.js';
export { resolveCredentials, type Credentials, type CredentialSources } from './repository/crypto/index.js';
export { defaultCacheRoot } from './repository/cache.js';
export { renderRecoveryKey, parseRecoveryKey, fingerprint } from './repository/crypto/index.js';
export type { Snapshot, SnapshotEntry, SnapshotSummary, SnapshotFilter } from './repository/format/index.js';
export type { Tree, TreeNode, NodeType } from './repository/format/index.js';
export { backup, type BackupOptions, type BackupResult } from './archiver/backup.js';
export { newBackupProgress, type BackupProgress } from './archiver/progress.js';
export type { StreamEntry } from './archiver/virtual-root.js';
export type { StreamChunking } from './repository/chunking/index.js';
export { restore, type RestoreOptions, type RestoreResult, type RestoreProgress } from './restorer/restore.js';
export { check, type CheckOptions, type CheckProgress } from './checker/check.js';
export type { CheckReport, Finding } from './checker/findings.js';
export { copy, type CopyOptions, type CopyResult, type CopiedSnapshot } from './copier/copy.js';
export { newCopyProgress, type CopyProgress } from './copier/progress.js';
export { prune, type PruneResult } from './pruner/prune.js';
export { summarisePrune, type PruneSummary } from './pruner/summary.js';
export type { PruneOptions, PruneProgress } from './pruner/options.js';
export { verify, type VerifyOptions, type VerifyResult, type VerifyProgress } from './verify/verify.js';
export { checkBackup, type BackupCheck } from './verify/post-backup.js';
export { runDrill, type DrillOptions, type DrillResult } from './drill/drill.js';
export { drillPitr, type PitrDrillOptions } from './drill/pitr-drill.js';
export { drillSource } from './drill/drill-source.js';
export { listDrillReports } from './drill/store.js';
export type { DrillReport } from './drill/report.js';
export { handover, type HandoverOptions, type HandoverResult } from './handover/handover.js';
export type { HandoverProgress } from './handover/collect.js';
export type { Inventory } from './handover/inventory.js';
export { loadConfig, type LoadedConfig } from './config/load.js';
export type { SweepReport, SweptResource } from './leftovers/sweep.js';
export {
  sweepWithSourceRemovers as sweepLeftovers,
  type SweepWithSourcesOptions as SweepOptions,
} from './sources/leftover-removers.js';
export { ledgerDirFor, useLedger } from './leftovers/ledger.js';
/** PostgreSQL point-in-time recovery: base backups, WAL archiving (`wal-push`, `wal-fetch`, `wal`), and restores to a time, LSN or named point. */
export * as pitr from './sources/postgres/pitr/index.js';
export { VERSION } from './version.js';
export { replicate, type ReplicateResult } from './sources/sqlite/continuous/replicate.js';
export type { ReplicateOptions } from './sources/sqlite/continuous/replicator.js';
export {
  restoreToTime,
  type RestorePointOptions,
  type RestorePointProgress,
  type RestoredPoint,
} from './sources/sqlite/continuous/restore-point.js';
export { readReplicationStatuses, type ReplicationStatus } from './sources/sqlite/continuous/replication-status.js';
export { guard } from './jobs/guard-api.js';
export type { GuardOptions, GuardBackup } from './jobs/guard.js';
export {
  runJob,
  newRunId,
  type RunJobOptions,
  type JobResult,
  type JobStepResult,
  type JobProgress,
} from './jobs/run-job.js';
export {
  backupSource,
  restoreSource,
  type SourceBackupOptions,
  type SourceBackupResult,
  type SourceRestoreOptions,
  type SourceRestoreResult,
} from './sources/run-source.js';
export type { HookPhase, HookPhaseResult } from './sources/hooks/with-hooks.js';
export { forget, type ForgetOptions, type ForgetResult, type ForgetProgress } from './retention/forget.js';
export { policyFromConfig, describePolicy, type RetentionPolicy } from './retention/policy.js';
export { parseConfig } from './config/load.js';
export type { LifeboatConfig } from './config/schema.js';
export { CONFIG_TEMPLATE } from './config/template.js';
export { openConfig, openRepository } from './library/configured.js';
export {
  listSnapshots,
  resolveSnapshot,
  listFiles,
  dumpFile,
  findFiles,
  diffSnapshots,
  type SnapshotRef,
  type SnapshotEntryAt,
  type FindMatch,
  type DiffEntry,
} from './library/browse.js';
export { compliance, status, type ComplianceReport } from './library/reports.js';
export {
  stats,
  tagSnapshots,
  unlockRepository,
  type SnapshotChoice,
  type RepositoryStats,
  type StatsProgress,
  type StoredFigures,
  type SnapshotStats,
  type SourceStats,
  type RetagResult,
  type RetaggedSnapshot,
  type TagChange,
  type ListedLock,
  type LockRecord,
  type AreaSize,
  type UnlockResult,
} from './library/maintenance.js';
export { serveWebdav, type WebdavServer } from './library/webdav.js';
export type { ComplianceCheck } from './compliance/evaluate.js';
export type { StatusDocument } from './daemon/status.js';
export { installUnits, uninstallUnits, type InstalledUnits, type RemovedUnits } from './daemon/export/install-units.js';
export { systemdUnits, crontab, type UnitFile } from './daemon/export/units.js';
