/**
 * `/metrics` in the Prometheus text format, names as in docs/api.md. A fresh
 * registry per scrape, filled from the run history (so counters survive a
 * restart and a source that disappears from the config disappears here too).
 * Backup series are labelled job, source, repository; verification and space
 * by repository; drills and compliance by source.
 *
 * @module
 */

import { Counter, Gauge, Registry } from 'prom-client';
import type { LifeboatConfig } from '../config/schema.js';
import type { ComplianceCheck } from '../compliance/evaluate.js';
import type { RunHistory, StepRecord } from '../state/history.js';
import { recentSteps } from './history-facts.js';
import type { StorageState } from './storage-view.js';
import type { WalFact } from './wal-facts.js';

export interface MetricsInputs {
  config: LifeboatConfig;
  history: RunHistory;
  storage: StorageState[];
  compliance?: ComplianceCheck[];
  /** Continuous sources (`replication.ts`). */
  replication?: Array<{ source: string; lagSeconds: number; lastShippedCommitMs?: number }>;
  /** Postgres sources with `pitr:` (`wal-facts.ts`). */
  wal?: WalFact[];
}

export async function renderMetrics(i: MetricsInputs): Promise<{ contentType: string; text: string }> {
  const registry = new Registry();
  const g = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const c = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const backupLabels = ['job', 'source', 'repository'];
  const lastSuccess = g(
    'lifeboat_backup_last_success_timestamp_seconds',
    'Start time of the newest successful backup (Unix seconds).',
    backupLabels,
  );
  const duration = g('lifeboat_backup_duration_seconds', 'Duration of the newest successful backup.', backupLabels);
  const size = g('lifeboat_backup_size_bytes', 'Bytes of content in the newest successful backup.', backupLabels);
  const added = g(
    'lifeboat_backup_added_bytes',
    'Bytes new to the repository in the newest successful backup.',
    backupLabels,
  );
  const success = c(
    'lifeboat_backup_success_total',
    'Backups that saved a snapshot (complete or with unreadable inputs).',
    backupLabels,
  );
  const failure = c('lifeboat_backup_failure_total', 'Backups that failed.', backupLabels);
  const verification = g(
    'lifeboat_verification_ok',
    '1 when the newest check or verification of the repository passed, else 0.',
    ['repository'],
  );
  const rto = g('lifeboat_drill_rto_seconds', 'Restore time measured by the newest passed drill.', ['source']);
  const rpo = g(
    'lifeboat_drill_rpo_seconds',
    'Age of the data restored by the newest passed drill, at the time of the drill.',
    ['source'],
  );
  const repoSize = g('lifeboat_repository_size_bytes', 'Bytes stored in the repository.', ['repository']);
  const repoFree = g('lifeboat_repository_free_bytes', 'Bytes free on the medium holding the repository.', [
    'repository',
  ]);
  const compliance = g('lifeboat_compliance_ok', '1 when every compliance check of the source passes, else 0.', [
    'source',
  ]);

  const steps = recentSteps(i.history, i.config);
  const labelsOf = (s: StepRecord) => ({ job: s.job, source: s.source ?? '', repository: s.repository ?? '' });
  const newestOk = new Map<string, StepRecord>();
  for (const s of steps) {
    if (s.step !== 'backup' || (s.outcome !== 'ok' && s.outcome !== 'partial')) continue;
    const k = `${s.job}\0${s.source}\0${s.repository}`;
    const cur = newestOk.get(k);
    if (!cur || s.startedAt > cur.startedAt) newestOk.set(k, s);
  }
  for (const s of newestOk.values()) {
    lastSuccess.set(labelsOf(s), Date.parse(s.startedAt) / 1000);
    duration.set(labelsOf(s), s.durationMs / 1000);
    if (s.bytes !== undefined) size.set(labelsOf(s), s.bytes);
    if (s.addedBytes !== undefined) added.set(labelsOf(s), s.addedBytes);
  }
  for (const n of i.history.stepCounts('backup')) {
    const labels = { job: n.job, source: n.source ?? '', repository: n.repository ?? '' };
    if (n.outcome === 'failed') failure.inc(labels, n.count);
    else if (n.outcome === 'ok' || n.outcome === 'partial') success.inc(labels, n.count);
  }

  const newestBy = (pick: (s: StepRecord) => boolean, key: (s: StepRecord) => string) => {
    const m = new Map<string, StepRecord>();
    for (const s of steps) if (pick(s) && (!m.has(key(s)) || s.startedAt > m.get(key(s))!.startedAt)) m.set(key(s), s);
    return m;
  };
  for (const [repository, s] of newestBy(
    (s) => (s.step === 'check' || s.step === 'verify') && Boolean(s.repository),
    (s) => s.repository!,
  )) {
    verification.set({ repository }, s.outcome === 'ok' ? 1 : 0);
  }
  const backupTimeOf = new Map(
    steps.filter((s) => s.step === 'backup' && s.snapshot).map((s) => [s.snapshot!, Date.parse(s.startedAt)]),
  );
  for (const [source, s] of newestBy(
    (s) => s.step === 'drill' && s.outcome === 'ok' && Boolean(s.source),
    (s) => s.source!,
  )) {
    rto.set({ source }, s.durationMs / 1000);
    const taken = s.snapshot ? backupTimeOf.get(s.snapshot) : undefined;
    if (taken !== undefined) rpo.set({ source }, Math.max(0, (Date.parse(s.startedAt) - taken) / 1000));
  }

  for (const r of i.storage) {
    if (r.usedBytes !== undefined) repoSize.set({ repository: r.repository }, r.usedBytes);
    if (r.availableBytes !== undefined) repoFree.set({ repository: r.repository }, r.availableBytes);
  }
  if (i.compliance) {
    const ok = new Map<string, boolean>();
    for (const check of i.compliance) ok.set(check.source, (ok.get(check.source) ?? true) && check.status === 'pass');
    for (const [source, pass] of ok) compliance.set({ source }, pass ? 1 : 0);
  }
  const lag = g(
    'lifeboat_replication_lag_seconds',
    'Continuous sources: age of the oldest committed transaction not shipped yet (0 when all is shipped; grows while the replicator is stopped).',
    ['source'],
  );
  const shipped = g(
    'lifeboat_replication_last_shipped_timestamp_seconds',
    'Continuous sources: commit time of the newest shipped transaction (Unix seconds).',
    ['source'],
  );
  for (const r of i.replication ?? []) {
    lag.set({ source: r.source }, r.lagSeconds);
    if (r.lastShippedCommitMs !== undefined) shipped.set({ source: r.source }, r.lastShippedCommitMs / 1000);
  }
  const walLag = g(
    'lifeboat_wal_archive_lag_seconds',
    'Postgres sources with pitr: age of the oldest WAL segment the server finished that the repository does not hold yet (0 when none waits).',
    ['source'],
  );
  const walLast = g(
    'lifeboat_wal_last_archived_timestamp_seconds',
    'Postgres sources with pitr: when the newest WAL file in the repository was archived (Unix seconds).',
    ['source'],
  );
  const walSpooled = g(
    'lifeboat_wal_segments_spooled',
    'Postgres sources with pitr: WAL files acknowledged by wal-push --async and not yet in the repository.',
    ['source'],
  );
  const walBase = g(
    'lifeboat_wal_last_base_backup_timestamp_seconds',
    'Postgres sources with pitr: stop time of the newest base backup in the repository (Unix seconds).',
    ['source'],
  );
  const walOk = g(
    'lifeboat_wal_archiving_ok',
    'Postgres sources with pitr: 1 when archiving is within its limit and nothing is wrong with it, else 0.',
    ['source'],
  );
  for (const w of i.wal ?? []) {
    const labels = { source: w.source };
    walLag.set(labels, w.lagSeconds);
    walSpooled.set(labels, w.spooled);
    if (w.lastArchivedMs !== undefined) walLast.set(labels, w.lastArchivedMs / 1000);
    if (w.lastBaseBackupMs !== undefined) walBase.set(labels, w.lastBaseBackupMs / 1000);
    walOk.set(labels, w.lagSeconds <= w.limitSeconds && w.problems.length === 0 ? 1 : 0);
  }
  return { contentType: registry.contentType, text: await registry.metrics() };
}
