import type { ReplicationFact } from './replication.js';
import type { WalFact } from './wal-facts.js';
import { parseDuration } from '../config/duration.js';
import type { LifeboatConfig } from '../config/schema.js';
import { DEFAULT_RPO_SECONDS } from '../compliance/evaluate.js';
import type { AlertRecord } from '../state/alerts-store.js';
import type { RunHistory } from '../state/history.js';
import { freePct } from '../alerts/rules.js';
import { alertSettingsOf } from './alert-inputs.js';
import { newest, recentSteps } from './history-facts.js';
import type { StorageState } from './storage-view.js';
import type { AlertView, RunOutcome, StatusDocument, StatusWord, StepOutcome } from './api-types.js';

export type { AlertView, StatusDocument } from './api-types.js';

export interface StatusInputs {
  config: LifeboatConfig;
  history: RunHistory;
  storage: StorageState[];
  /** Next start per job (ms). */
  nextRuns: Map<string, number>;
  alerts: AlertRecord[];
  now: number;
  /** Continuous sources, from the replicators' status files (`replication.ts`). */
  replication?: ReplicationFact[];
  /** Postgres sources with `pitr:` (`wal-facts.ts`). */
  wal?: WalFact[];
}

export function alertView(a: AlertRecord): AlertView {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    ...a.subject,
    message: a.message,
    fired_at: a.firedAt,
    ...(a.resolvedAt ? { resolved_at: a.resolvedAt } : {}),
  };
}

/** A run or step outcome in the status document's words (`ok` is `success`). */
export function statusWord(outcome: StepOutcome): Exclude<StatusWord, 'running'>;
export function statusWord(outcome: RunOutcome): StatusWord;
export function statusWord(outcome: RunOutcome): StatusWord {
  return outcome === 'ok' ? 'success' : outcome;
}

/**
 * The Backup Status API document, served at `/api/v1/system/backup/status`
 * and printed by `lifeboat status`.
 */
export function buildStatus(i: StatusInputs): StatusDocument {
  const steps = recentSteps(i.history, i.config);

  let last_backup: StatusDocument['last_backup'] = null;
  for (const run of i.history.runs(undefined, 50)) {
    const backups = i.history.steps({ runId: run.id, step: 'backup' });
    if (!backups.length) continue;
    last_backup = {
      timestamp: run.startedAt,
      type: run.job,
      status: statusWord(run.outcome ?? 'running'),
      duration_seconds: run.finishedAt
        ? Math.round((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000)
        : null,
      size_bytes: backups.reduce((sum, s) => sum + (s.bytes ?? 0), 0),
    };
    break;
  }

  const verification = newest(steps, (s) => s.step === 'check' || s.step === 'verify');
  const backupJobs = new Set(
    Object.entries(i.config.jobs ?? {})
      .filter(([, j]) => j.to)
      .map(([n]) => n),
  );
  const next = [...i.nextRuns].filter(([job]) => backupJobs.has(job)).sort((a, b) => a[1] - b[1])[0];

  const storage: StatusDocument['storage'] = {};
  const limits = alertSettingsOf(i.config);
  for (const s of i.storage) {
    const pct = freePct(s);
    const level =
      pct === undefined
        ? 'unknown'
        : pct < limits.freeCriticalPct
          ? 'critical'
          : pct < limits.freeWarningPct
            ? 'warning'
            : 'ok';
    const note =
      pct !== undefined
        ? undefined
        : !s.connected
          ? 'not reachable now'
          : 'this storage reports no capacity (object storage, or an SFTP server without statvfs): free space cannot be measured';
    storage[s.repository] = {
      used_bytes: s.usedBytes ?? null,
      available_bytes: s.availableBytes ?? null,
      connected: s.connected,
      free_space: level,
      ...(note ? { free_space_note: note } : {}),
    };
  }

  const sources: StatusDocument['sources'] = {};
  for (const [name, src] of Object.entries(i.config.sources ?? {})) {
    const rpo = src.rpo ? parseDuration(src.rpo) : DEFAULT_RPO_SECONDS;
    const last = newest(
      steps,
      (s) => s.step === 'backup' && s.source === name && (s.outcome === 'ok' || s.outcome === 'partial'),
    );
    const age = last ? Math.max(0, Math.round((i.now - Date.parse(last.startedAt)) / 1000)) : null;
    sources[name] = {
      last_success: last?.startedAt ?? null,
      age_seconds: age,
      rpo_seconds: rpo,
      ok: age !== null && age <= rpo,
    };
    const r = i.replication?.find((f) => f.source === name);
    if (r) {
      sources[name].continuous = {
        last_shipped_transaction:
          r.lastShippedCommitMs === undefined ? null : new Date(r.lastShippedCommitMs).toISOString(),
        lag_seconds: Math.round(r.lagSeconds * 10) / 10,
        limit_seconds: r.limitSeconds,
        running: r.running,
        ok: r.lagSeconds <= r.limitSeconds,
      };
      // A stream within its limit protects the source as a fresh snapshot would.
      sources[name].ok ||= sources[name].continuous.ok;
    }
    const w = i.wal?.find((f) => f.source === name);
    if (w) {
      const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
      sources[name].wal = {
        mode: w.mode,
        last_archived_wal: w.lastArchivedWal ?? null,
        last_archived_at: iso(w.lastArchivedMs),
        lag_seconds: Math.round(w.lagSeconds * 10) / 10,
        limit_seconds: w.limitSeconds,
        spooled: w.spooled,
        server_waiting: w.serverWaiting ?? null,
        last_base_backup: iso(w.lastBaseBackupMs),
        next_base_backup: iso(w.nextBaseBackupMs),
        last_partial_at: iso(w.lastPartialMs),
        running: w.running,
        problems: w.problems,
        ok: w.lagSeconds <= w.limitSeconds && w.problems.length === 0,
      };
    }
  }

  return {
    last_backup,
    last_verification: verification
      ? { timestamp: verification.startedAt, status: statusWord(verification.outcome) }
      : null,
    next_backup: next ? { timestamp: new Date(next[1]).toISOString(), type: next[0] } : null,
    storage,
    sources,
    alerts: i.alerts.map(alertView),
  };
}
