/**
 * The local run history (`<state_dir>/state.db`): every job run and each of
 * its steps. A cache: every backup step is also recorded in its snapshot's
 * metadata, so `rebuild` can restore the history from the repositories.
 *
 * @module
 */

import type Database from 'better-sqlite3';
import { openStateDb } from './state-db.js';

export type Outcome = 'ok' | 'failed' | 'skipped' | 'partial' | 'nothing_to_do';

export interface StepRecord {
  runId: string;
  job: string;
  /** backup, copy, forget, prune, check, verify, drill */
  step: string;
  source?: string;
  repository?: string;
  startedAt: string;
  durationMs: number;
  bytes?: number;
  addedBytes?: number;
  snapshot?: string;
  /** `nothing_to_do`: the step found nothing to act on (its reason is in `error`), never counted as `ok`. */
  outcome: Outcome;
  /** Why a step failed, was skipped or had nothing to do. */
  error?: string;
  /** What a hook step's commands printed (`hook:before` …), the last 64 KiB. */
  output?: string;
}

export interface RunRecord {
  id: string;
  job: string;
  startedAt: string;
  finishedAt?: string;
  outcome?: Outcome;
  error?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL, job TEXT NOT NULL, step TEXT NOT NULL, source TEXT, repository TEXT,
  started_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, bytes INTEGER, added_bytes INTEGER,
  snapshot TEXT, outcome TEXT NOT NULL, error TEXT, output TEXT,
  UNIQUE (run_id, step, source, repository)
);
CREATE INDEX IF NOT EXISTS steps_by_source ON steps (source, started_at);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, started_at);
`;

export class RunHistory {
  private constructor(private readonly db: Database.Database) {}

  static open(stateDir: string): RunHistory {
    const db = openStateDb(stateDir, SCHEMA);
    // A state.db made before hooks existed has no output column: add it (a cache, so nothing else changes).
    const columns = db.prepare('PRAGMA table_info(steps)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'output')) db.exec('ALTER TABLE steps ADD COLUMN output TEXT');
    return new RunHistory(db);
  }

  startRun(run: RunRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO runs (id, job, started_at) VALUES (?, ?, ?)')
      .run(run.id, run.job, run.startedAt);
  }

  finishRun(id: string, outcome: Outcome, error?: string, finishedAt = new Date().toISOString()): void {
    this.db
      .prepare('UPDATE runs SET finished_at = ?, outcome = ?, error = ? WHERE id = ?')
      .run(finishedAt, outcome, error ?? null, id);
  }

  recordStep(s: StepRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO steps (run_id, job, step, source, repository, started_at, duration_ms, bytes, added_bytes, snapshot, outcome, error, output)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.runId,
        s.job,
        s.step,
        s.source ?? null,
        s.repository ?? null,
        s.startedAt,
        s.durationMs,
        s.bytes ?? null,
        s.addedBytes ?? null,
        s.snapshot ?? null,
        s.outcome,
        s.error ?? null,
        s.output ?? null,
      );
  }

  runs(job?: string, limit = 100): RunRecord[] {
    const rows = (
      job
        ? this.db.prepare('SELECT * FROM runs WHERE job = ? ORDER BY started_at DESC LIMIT ?').all(job, limit)
        : this.db.prepare('SELECT * FROM runs ORDER BY started_at DESC LIMIT ?').all(limit)
    ) as Array<Record<string, string | null>>;
    return rows.map((r) => ({
      id: r.id!,
      job: r.job!,
      startedAt: r.started_at!,
      finishedAt: r.finished_at ?? undefined,
      outcome: (r.outcome as Outcome | null) ?? undefined,
      error: r.error ?? undefined,
    }));
  }

  steps(filter: { runId?: string; source?: string; step?: string } = {}, limit = 1000): StepRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.runId) {
      where.push('run_id = ?');
      args.push(filter.runId);
    }
    if (filter.source) {
      where.push('source = ?');
      args.push(filter.source);
    }
    if (filter.step) {
      where.push('step = ?');
      args.push(filter.step);
    }
    const sql = `SELECT * FROM steps ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, limit) as Array<Record<string, string | number | null>>;
    return rows.map((r) => ({
      runId: String(r.run_id),
      job: String(r.job),
      step: String(r.step),
      source: (r.source as string | null) ?? undefined,
      repository: (r.repository as string | null) ?? undefined,
      startedAt: String(r.started_at),
      durationMs: Number(r.duration_ms),
      bytes: (r.bytes as number | null) ?? undefined,
      addedBytes: (r.added_bytes as number | null) ?? undefined,
      snapshot: (r.snapshot as string | null) ?? undefined,
      outcome: r.outcome as Outcome,
      error: (r.error as string | null) ?? undefined,
      ...(r.output === null || r.output === undefined ? {} : { output: String(r.output) }),
    }));
  }

  /** How many steps of a kind ended with each outcome, per job, source and repository (counters for /metrics). */
  stepCounts(
    step: string,
  ): Array<{ job: string; source?: string; repository?: string; outcome: Outcome; count: number }> {
    const rows = this.db
      .prepare(
        'SELECT job, source, repository, outcome, COUNT(*) AS n FROM steps WHERE step = ? GROUP BY job, source, repository, outcome',
      )
      .all(step) as Array<Record<string, string | number | null>>;
    return rows.map((r) => ({
      job: String(r.job),
      source: (r.source as string | null) ?? undefined,
      repository: (r.repository as string | null) ?? undefined,
      outcome: r.outcome as Outcome,
      count: Number(r.n),
    }));
  }

  close(): void {
    this.db.close();
  }
}
