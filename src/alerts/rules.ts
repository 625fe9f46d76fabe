/**
 * The alert rules of docs/daemon.md as one pure function of what is known now: the recent
 * steps of the run history, the jobs running now, the free space of the
 * repositories and of the state directory, and the 3-2-1 checks. It returns the conditions that hold; firing, repeating and
 * resolving them is the engine's job (`engine.ts`).
 *
 * @module
 */

import type { StepRecord } from '../state/history.js';
import { formatSeconds } from '../util/format.js';

export type AlertRule =
  | 'backup_failed'
  | 'hook_failed'
  | 'backup_overdue'
  | 'backup_slow'
  | 'size_change'
  | 'verification_failed'
  | 'drill_failed'
  | 'copy_failed'
  | 'step_idle'
  | 'low_free_space'
  | 'compliance_321'
  | 'replication_lag'
  | 'wal_archive_lag'
  | 'wal_archiving';

export type Severity = 'critical' | 'warning';

export interface AlertCondition {
  /** Identity: the same key on the next evaluation is the same alert. */
  key: string;
  rule: AlertRule;
  severity: Severity;
  source?: string;
  repository?: string;
  job?: string;
  message: string;
}

export interface AlertSettings {
  overdueAfterMs: number;
  sizeChangePct: number;
  /** Below this percentage free: a warning. */
  freeWarningPct: number;
  /** Below this percentage free: critical (sent to `on: [failure]` notifiers). */
  freeCriticalPct: number;
  /** A backup running or having run longer than this: a warning. */
  maxBackupMs: number;
}

export interface SpaceView {
  /** The repository's name, or `state_dir` for the state directory (with `path`). */
  repository: string;
  /** For the state directory: its path. */
  path?: string;
  connected: boolean;
  usedBytes?: number;
  availableBytes?: number;
  totalBytes?: number;
}

export interface AlertFacts {
  now: number;
  /** Since when sources have been watched: a source never backed up is overdue this long after. */
  watchedSince: number;
  /** Sources the scheduled jobs back up (the ones expected to stay fresh). */
  scheduledSources: string[];
  /** Recent steps, any order: the newest per subject decides. */
  steps: StepRecord[];
  /** Backup jobs running now, with their run and its start. */
  running?: Array<{ job: string; runId: string; startedAt: string }>;
  space: SpaceView[];
  /** Failed 3-2-1 checks per source (copies, media, offsite), when compliance was evaluated. */
  compliance?: Array<{ source: string; check: string; status: 'pass' | 'fail'; reason: string }>;
  /** Continuous sources: lag now and the limit past which it is an alert. */
  replication?: Array<{ source: string; lagSeconds: number; limitSeconds: number; lastShippedCommitMs?: number }>;
  /** Postgres sources with `pitr:`: the archive lag against its limit, and what is wrong with archiving. */
  wal?: Array<{ source: string; lagSeconds: number; limitSeconds: number; spooled: number; problems: string[] }>;
}

/** The steps a source's or a job's hooks record (see src/jobs/hook-steps.ts). */
export const HOOK_STEPS = ['hook:before', 'hook:after', 'hook:on_error', 'hook:finally'];

/** How many earlier backups the size comparison takes the median of (at least 3 are needed). */
const SIZE_WINDOW = 5;

export function evaluateRules(facts: AlertFacts, settings: AlertSettings): AlertCondition[] {
  const out: AlertCondition[] = [];
  for (const r of facts.replication ?? []) {
    if (r.lagSeconds <= r.limitSeconds) continue;
    const last =
      r.lastShippedCommitMs === undefined
        ? 'nothing shipped yet'
        : `newest shipped transaction ${new Date(r.lastShippedCommitMs).toISOString()}`;
    out.push({
      key: `replication_lag/${r.source}`,
      rule: 'replication_lag',
      severity: 'critical',
      source: r.source,
      message: `continuous protection of ${r.source} is ${formatSeconds(r.lagSeconds)} behind, past its limit of ${formatSeconds(r.limitSeconds)} (${last})`,
    });
  }
  for (const w of facts.wal ?? []) {
    if (w.lagSeconds > w.limitSeconds)
      out.push({
        key: `wal_archive_lag/${w.source}`,
        rule: 'wal_archive_lag',
        severity: 'critical',
        source: w.source,
        message: `WAL archiving of ${w.source} is ${Math.round(w.lagSeconds)}s behind, past its limit of ${Math.round(w.limitSeconds)}s (${w.spooled} segment(s) waiting in the spool)`,
      });
    if (w.problems.length)
      out.push({
        key: `wal_archiving/${w.source}`,
        rule: 'wal_archiving',
        severity: 'critical',
        source: w.source,
        message: `WAL archiving of ${w.source}: ${w.problems.join('; ')}`,
      });
  }
  const newestFirst = [...facts.steps].sort((a, b) =>
    a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0,
  );
  const newestBy = (step: string | string[], keyOf: (s: StepRecord) => string) => {
    const kinds = Array.isArray(step) ? step : [step];
    const seen = new Map<string, StepRecord>();
    for (const s of newestFirst) if (kinds.includes(s.step) && !seen.has(keyOf(s))) seen.set(keyOf(s), s);
    return [...seen.values()];
  };
  const why = (s: StepRecord) => (s.error ? `: ${s.error}` : '');

  for (const s of newestBy('backup', (s) => `${s.job}/${s.source}/${s.repository}`)) {
    if (s.outcome !== 'failed') continue;
    out.push({
      key: `backup_failed/${s.job}/${s.source}/${s.repository}`,
      rule: 'backup_failed',
      severity: 'critical',
      job: s.job,
      source: s.source,
      repository: s.repository,
      message: `backup of ${s.source} to ${s.repository} (job ${s.job}) failed at ${s.startedAt}${why(s)}`,
    });
  }

  // A hook's phase per job and source: the newest run of it decides, so the next good run resolves it.
  for (const s of newestBy(HOOK_STEPS, (s) => `${s.job}/${s.source ?? ''}/${s.step}`)) {
    if (s.outcome !== 'failed') continue;
    const phase = s.step.slice('hook:'.length);
    out.push({
      key: `hook_failed/${s.job}/${s.source ?? ''}/${phase}`,
      rule: 'hook_failed',
      severity: 'critical',
      job: s.job,
      ...(s.source ? { source: s.source } : {}),
      ...(s.repository ? { repository: s.repository } : {}),
      message: `${phase} hook of ${s.source ? `source ${s.source} (job ${s.job})` : `job ${s.job}`} failed at ${s.startedAt}${why(s)}`,
    });
  }

  for (const source of facts.scheduledSources) {
    const last = newestFirst.find(
      (s) => s.step === 'backup' && s.source === source && (s.outcome === 'ok' || s.outcome === 'partial'),
    );
    const since = last ? Date.parse(last.startedAt) : facts.watchedSince;
    if (facts.now - since > settings.overdueAfterMs) {
      const overdue = formatSeconds((facts.now - since) / 1000);
      out.push({
        key: `backup_overdue/${source}`,
        rule: 'backup_overdue',
        severity: 'critical',
        source,
        message: last
          ? `no successful backup of ${source} for ${overdue} (last ${last.startedAt})`
          : `no successful backup of ${source} yet, ${overdue} after watching began`,
      });
    }
  }

  const limit = formatMs(settings.maxBackupMs);
  for (const r of facts.running ?? []) {
    const ran = facts.now - Date.parse(r.startedAt);
    if (ran <= settings.maxBackupMs) continue;
    // A job backs up first; once a later step (copy, check, verify, drill) of this run is recorded, its backups are over.
    if (facts.steps.some((s) => s.runId === r.runId && s.step !== 'backup')) continue;
    out.push({
      key: `backup_slow/running/${r.job}`,
      rule: 'backup_slow',
      severity: 'warning',
      job: r.job,
      message: `job ${r.job} has been backing up for ${formatMs(ran)} (since ${r.startedAt}), longer than the limit of ${limit}`,
    });
  }
  for (const s of newestBy('backup', (s) => `${s.job}/${s.source}/${s.repository}`)) {
    if (s.durationMs <= settings.maxBackupMs) continue;
    out.push({
      key: `backup_slow/${s.job}/${s.source}/${s.repository}`,
      rule: 'backup_slow',
      severity: 'warning',
      job: s.job,
      source: s.source,
      repository: s.repository,
      message: `backup of ${s.source} to ${s.repository} (job ${s.job}) at ${s.startedAt} took ${formatMs(s.durationMs)}, longer than the limit of ${limit}`,
    });
  }

  if (settings.sizeChangePct > 0) {
    const groups = new Map<string, StepRecord[]>();
    for (const s of newestFirst) {
      if (s.step !== 'backup' || s.outcome !== 'ok' || s.bytes === undefined) continue;
      const k = `${s.source}/${s.repository}`;
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    for (const [k, [latest, ...earlier]] of groups) {
      const window = earlier.slice(0, SIZE_WINDOW).map((s) => s.bytes!);
      if (!latest || window.length < 3) continue;
      const m = median(window);
      if (m === 0) continue;
      const pct = ((latest.bytes! - m) / m) * 100;
      if (Math.abs(pct) <= settings.sizeChangePct) continue;
      out.push({
        key: `size_change/${k}`,
        rule: 'size_change',
        severity: 'warning',
        source: latest.source,
        repository: latest.repository,
        message: `backup of ${latest.source} is ${Math.round(Math.abs(pct))}% ${pct > 0 ? 'larger' : 'smaller'} than the median of the previous ${window.length} (${latest.bytes} vs ${m} bytes)`,
      });
    }
  }

  for (const s of newestBy(['check', 'verify'], (s) => `${s.repository}/${s.step === 'verify' ? s.source : ''}`)) {
    if (s.outcome !== 'failed') continue;
    const what = s.step === 'verify' ? `verification of ${s.source} in ${s.repository}` : `check of ${s.repository}`;
    out.push({
      key: `verification_failed/${s.repository}/${s.step === 'verify' ? s.source : ''}`,
      rule: 'verification_failed',
      severity: 'critical',
      repository: s.repository,
      source: s.source,
      job: s.job,
      message: `${what} failed at ${s.startedAt}${why(s)}`,
    });
  }

  for (const s of newestBy('drill', (s) => `${s.source}`)) {
    if (s.outcome !== 'failed') continue;
    out.push({
      key: `drill_failed/${s.source}`,
      rule: 'drill_failed',
      severity: 'critical',
      source: s.source,
      repository: s.repository,
      job: s.job,
      message: `restore drill of ${s.source} failed at ${s.startedAt}${why(s)}`,
    });
  }

  for (const s of newestBy('copy', (s) => `${s.source}/${s.repository}`)) {
    if (s.outcome !== 'failed') continue;
    out.push({
      key: `copy_failed/${s.source ?? ''}/${s.repository}`,
      rule: 'copy_failed',
      severity: 'critical',
      source: s.source,
      repository: s.repository,
      job: s.job,
      message: `copy${s.source ? ` of ${s.source}` : ''} to ${s.repository} failed at ${s.startedAt}${why(s)}`,
    });
  }

  // A job step that found nothing to act on (no snapshot to copy or to judge): the job does less than it says.
  for (const s of newestBy(
    ['copy', 'forget', 'prune', 'check', 'verify', 'drill'],
    (s) => `${s.job}/${s.step}/${s.source ?? ''}/${s.repository ?? ''}`,
  )) {
    if (s.outcome !== 'nothing_to_do') continue;
    out.push({
      key: `step_idle/${s.job}/${s.step}/${s.source ?? ''}/${s.repository ?? ''}`,
      rule: 'step_idle',
      severity: 'warning',
      source: s.source,
      repository: s.repository,
      job: s.job,
      message: `${s.step}${s.source ? ` of ${s.source}` : ''}${s.repository ? ` in ${s.repository}` : ''} (job ${s.job}) had nothing to do at ${s.startedAt}${why(s)}`,
    });
  }

  for (const r of facts.space) {
    const pct = freePct(r);
    if (pct === undefined) continue; // not measurable (remote storage) or not reachable: said by the status document, never "healthy"
    const critical = pct < settings.freeCriticalPct;
    if (!critical && pct >= settings.freeWarningPct) continue;
    const what = r.path ? `the state directory ${r.path}` : `repository ${r.repository}`;
    // One key for both levels: a warning that becomes critical fires again as critical (engine.ts).
    out.push({
      key: `low_free_space/${r.repository}`,
      rule: 'low_free_space',
      severity: critical ? 'critical' : 'warning',
      ...(r.path ? {} : { repository: r.repository }),
      message: `${what} has ${pct.toFixed(1)}% free (${r.availableBytes} bytes); the ${critical ? 'critical' : 'warning'} limit is ${critical ? settings.freeCriticalPct : settings.freeWarningPct}%`,
    });
  }

  const failing = new Map<string, string[]>();
  for (const c of facts.compliance ?? []) {
    if (c.status === 'fail' && COMPLIANCE_321_CHECKS.includes(c.check))
      failing.set(c.source, [...(failing.get(c.source) ?? []), c.reason]);
  }
  for (const [source, reasons] of failing) {
    out.push({
      key: `compliance_321/${source}`,
      rule: 'compliance_321',
      severity: 'warning',
      source,
      message: `3-2-1-1-0 violated for ${source}: ${reasons.join('; ')}`,
    });
  }
  return out;
}

/** The checks of 3-2-1-1-0 (the drill check has its own alert, drill_failed). */
const COMPLIANCE_321_CHECKS: readonly string[] = ['copies', 'media', 'offsite', 'immutable', 'errors'];

/** Percentage free of a measured, reachable medium; undefined when it cannot be measured. */
export function freePct(r: SpaceView): number | undefined {
  if (!r.connected || r.availableBytes === undefined) return undefined;
  const total = r.totalBytes ?? (r.usedBytes !== undefined ? r.usedBytes + r.availableBytes : undefined);
  return total ? (r.availableBytes / total) * 100 : undefined;
}

function formatMs(ms: number): string {
  return formatSeconds(ms / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
