/**
 * The JSON shapes of the daemon's HTTP API (docs/api.md): what every route
 * answers, as the routes build it and as the web dashboard reads it. Type
 * declarations only — nothing here runs, and the only imports are other
 * type-only files (the drill report's shape, and the alert views that
 * alerts/ produces) — so the dashboard's compiler (DOM, no Node types) reads
 * this same file.
 *
 * Times are ISO 8601 UTC strings; a value nobody knows is null.
 *
 * @module
 */

import type {
  DrillCheckShape,
  DrillReportShape,
  DrillSmokeShape,
  Freshness,
  Objective,
} from '../drill/report-shape.js';
import type { AlertView, NotifierView } from '../alerts/views.js';

export type { AlertView, NotifierView };

// ---- errors, health, events -----------------------------------------------

/** The stable code of every error answer. */
export type ApiErrorCode =
  'unauthorized' | 'not_found' | 'conflict' | 'bad_request' | 'payload_too_large' | 'too_many_requests' | 'internal';

/** Every error answer: `{ "error": { "code", "message" } }`. */
export interface ErrorAnswer {
  error: { code: ApiErrorCode; message: string };
}

/** `GET /healthz`. */
export interface HealthAnswer {
  status: 'ok';
}

/** One server-sent event of `GET /api/v1/events` (the `data:` line); the other fields depend on `type`. */
export interface DaemonEvent {
  type: string;
  time: string;
  [key: string]: unknown;
}

/** A repository that could not be read for this answer, with the (redacted) reason. */
export interface Unreachable {
  repository: string;
  error: string;
}

/** A path and what went wrong with it (restore refusals and errors). */
export interface PathMessage {
  path: string;
  message: string;
}

// ---- status and alerts ----------------------------------------------------

/** Free space of a repository's medium against the alert limits. */
export type FreeSpaceLevel = 'ok' | 'warning' | 'critical' | 'unknown';

/** How a step ended, as the run history records it (`nothing_to_do`: nothing to act on, the reason in `error`). */
export type StepOutcome = 'ok' | 'partial' | 'skipped' | 'nothing_to_do' | 'failed';

/** How a run ended, or `running` while it goes on. */
export type RunOutcome = StepOutcome | 'running';

/**
 * How the status document words an outcome: `success` and `failed` as the
 * documented Backup Status API has them (a run's `ok` is `success` there);
 * `partial`, `skipped`, `nothing_to_do` and `running` keep their names.
 */
export type StatusWord = 'success' | 'partial' | 'skipped' | 'nothing_to_do' | 'failed' | 'running';

/**
 * `GET /api/v1/system/backup/status`: the Backup Status API document, also
 * printed by `lifeboat status`. `type` is the job's name.
 */
export interface StatusDocument {
  last_backup: {
    timestamp: string;
    type: string;
    status: StatusWord;
    duration_seconds: number | null;
    size_bytes: number;
  } | null;
  last_verification: { timestamp: string; status: Exclude<StatusWord, 'running'> } | null;
  next_backup: { timestamp: string; type: string } | null;
  /**
   * Per repository. `free_space` judges available against total by the alert
   * limits; `unknown` (with `free_space_note`) when it cannot be measured —
   * object storage has no capacity — or the repository is not reachable.
   */
  storage: Record<
    string,
    {
      used_bytes: number | null;
      available_bytes: number | null;
      connected: boolean;
      free_space: FreeSpaceLevel;
      free_space_note?: string;
    }
  >;
  /** Per source. */
  sources: Record<
    string,
    {
      last_success: string | null;
      age_seconds: number | null;
      rpo_seconds: number;
      ok: boolean;
      continuous?: ContinuousView;
      wal?: WalArchiveView;
    }
  >;
  alerts: AlertView[];
}

/** A sqlite source with `continuous`: the newest shipped transaction and the replication lag against its limit. */
export interface ContinuousView {
  last_shipped_transaction: string | null;
  lag_seconds: number;
  limit_seconds: number;
  running: boolean;
  ok: boolean;
}

/** A postgres source with `pitr:`: WAL archiving and base backups, against the source's limit. */
export interface WalArchiveView {
  /** `archive` (wal-push) or `stream` (pg_receivewal run by the daemon). */
  mode: 'archive' | 'stream';
  last_archived_wal: string | null;
  last_archived_at: string | null;
  /** Age of the oldest WAL the server finished that the repository does not hold yet. */
  lag_seconds: number;
  limit_seconds: number;
  spooled: number;
  /** Segments the server finished and has not archived, as last read (null: never read). */
  server_waiting: number | null;
  last_base_backup: string | null;
  next_base_backup: string | null;
  /** Stream mode: when the segment being written was last shipped as a partial copy (null: never, or archive mode). */
  last_partial_at: string | null;
  running: boolean;
  problems: string[];
  ok: boolean;
}

/** `GET /api/v1/alerts`. */
export interface AlertList {
  active: AlertView[];
  recent: AlertView[];
  notifiers: NotifierView[];
}

// ---- sources and repositories ---------------------------------------------

/** One configured source: no paths, no settings. */
export interface SourceInfo {
  name: string;
  type: string;
  rpo_seconds: number;
  /** The jobs that back it up. */
  jobs: string[];
  next_run: string | null;
}

/** `GET /api/v1/sources`. */
export interface SourceList {
  sources: SourceInfo[];
}

/** One backup step of a source's history: a step without its name, source and error, with its run. */
export interface SourceBackup extends Omit<StepView, 'step' | 'source' | 'error' | 'output'> {
  run_id: string;
  job: string;
}

/** `GET /api/v1/sources/{name}/history`: its backups, newest first. */
export interface SourceHistory {
  source: string;
  rpo_seconds: number;
  backups: SourceBackup[];
}

/** One 3-2-1 check of a source in a repository (`copies`, `media` or `offsite`). */
export interface Compliance321Check {
  check: string;
  status: 'pass' | 'fail';
  reason: string;
}

/** A source whose snapshots a repository holds. */
export interface HeldSource {
  source: string | null;
  snapshots: number;
  newest: string;
  compliance_321: Compliance321Check[];
}

/** One configured repository, by name (never its URL). */
export interface RepositoryInfo {
  name: string;
  removable: boolean;
  connected: boolean;
  reachable: boolean;
  used_bytes: number | null;
  available_bytes: number | null;
  total_bytes: number | null;
  sources: HeldSource[];
}

/** `GET /api/v1/repositories`. */
export interface RepositoryList {
  repositories: RepositoryInfo[];
}

// ---- snapshots ------------------------------------------------------------

/** One snapshot in the list. */
export interface SnapshotItem {
  id: string;
  repository: string;
  source: string | null;
  time: string;
  host: string;
  tags: string[];
  paths: string[];
  job: string | null;
  run_id: string | null;
  summary: { files: number; bytes: number; added_bytes: number; duration_seconds: number; errors: number };
}

/** `GET /api/v1/snapshots`: one page, newest first. */
export interface SnapshotPage {
  snapshots: SnapshotItem[];
  /** Continues after the last item of this page; null on the last page. */
  next_cursor: string | null;
  unreachable: Unreachable[];
  /** Snapshot objects that could not be read or are malformed: left out of `snapshots`, named here. */
  unreadable: Array<{ repository: string; object: string; error: string }>;
}

/** `GET /api/v1/snapshots/{repository}/{id}`: everything one snapshot records. */
export interface SnapshotDetail {
  id: string;
  repository: string;
  source: string | null;
  time: string;
  host: string;
  username: string;
  paths: string[];
  tags: string[];
  reason: string | null;
  parent: string | null;
  program: string;
  summary: {
    files: number;
    dirs: number;
    bytes: number;
    files_read: number;
    added_bytes: number;
    added_stored_bytes: number;
    duration_seconds: number;
    errors: number;
  };
  /** What the source recorded (row counts, checksums, …), redacted. */
  metadata: unknown;
}

export type TreeEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'stream';

/** One entry of a snapshot directory: no chunk ids, owners by name when known. */
export interface TreeEntry {
  name: string;
  path: string;
  type: TreeEntryType;
  size: number | null;
  mode: number;
  user: string | null;
  group: string | null;
  mtime: string;
}

/** `GET /api/v1/snapshots/{repository}/{id}/tree?path=`: one directory, entries sorted by name. */
export interface TreeListing {
  path: string;
  entries: TreeEntry[];
}

/** One changed path between two snapshots. */
export interface DiffChange {
  path: string;
  change: 'added' | 'removed' | 'modified' | 'type';
  type: string;
  size_before: number | null;
  size_after: number | null;
}

/** `GET /api/v1/snapshots/{repository}/{id}/diff?with=`: from `before` to `after`. */
export interface SnapshotDiff {
  repository: string;
  before: string;
  after: string;
  /** At most this many changes are listed; the counts are always complete. */
  limit: number;
  changes: DiffChange[];
  counts: Record<DiffChange['change'], number>;
  truncated: boolean;
}

// ---- restores -------------------------------------------------------------

/** The body of `POST /api/v1/restores/plan` and `POST /api/v1/restores`. */
export interface RestoreRequest {
  repository: string;
  snapshot: string;
  target: string;
  /** One file or directory of the snapshot; all of it by default. */
  path?: string;
}

/** `POST /api/v1/restores/plan`: what a restore would write, nothing written. */
export interface RestorePlan {
  repository: string;
  snapshot: string;
  path: string;
  target: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  refused: PathMessage[];
}

/** `POST /api/v1/restores` (202). */
export interface RestoreStarted {
  restore_id: string;
  status: 'started';
  target: string;
  status_url: string;
}

/** `GET /api/v1/restores/{id}`. */
export interface RestoreStatus {
  id: string;
  repository: string;
  snapshot: string;
  path: string;
  target: string;
  status: 'running' | 'ok' | 'partial' | 'failed';
  started_at: string;
  finished_at: string | null;
  files: number;
  bytes: number;
  total_files: number;
  total_bytes: number;
  errors: PathMessage[];
}

// ---- jobs and runs --------------------------------------------------------

/** One step of a run. */
export interface StepView {
  step: string;
  source: string | null;
  repository: string | null;
  started_at: string;
  duration_seconds: number;
  outcome: StepOutcome;
  bytes: number | null;
  added_bytes: number | null;
  snapshot: string | null;
  error: string | null;
  /** What a hook step's commands printed (`hook:before` …); null for other steps. */
  output: string | null;
}

/** One configured job. */
export interface JobInfo {
  name: string;
  schedule: string | null;
  timezone: string | null;
  jitter_seconds: number;
  next_run: string | null;
  running: { run_id: string; started_at: string; trigger: string } | null;
  last_run: {
    id: string;
    started_at: string;
    finished_at: string | null;
    outcome: RunOutcome;
    error: string | null;
  } | null;
}

/** `GET /api/v1/jobs`. */
export interface JobList {
  jobs: JobInfo[];
}

/** `POST /api/v1/jobs/{name}/run` (202). */
export interface RunStarted {
  run_id: string;
  job: string;
  status: 'started';
  runs_url: string;
}

/** One run of a job with its steps. */
export interface RunView {
  id: string;
  job: string;
  started_at: string;
  finished_at: string | null;
  outcome: RunOutcome;
  error: string | null;
  steps: StepView[];
}

/** `GET /api/v1/jobs/{name}/runs`: newest first. */
export interface RunList {
  runs: RunView[];
}

// ---- drills ---------------------------------------------------------------

/** A drill step of the run history. */
export interface DrillStep extends StepView {
  run_id: string;
  job: string;
}

/** `GET /api/v1/drills`: newest first. */
export interface DrillStepList {
  drills: DrillStep[];
}

export type { Freshness, Objective };

/** One stored drill report in the list. */
export interface DrillSummary {
  repository: string;
  id: string;
  verdict: 'PASS' | 'FAIL';
  reasons: string[];
  source: { name: string; type: string };
  snapshot: { id: string; time: string };
  mode: string;
  rto: Objective;
  rpo: Objective;
  /** Absent in reports written by earlier versions. */
  freshness?: Freshness;
  started_at: string;
  finished_at: string;
  job: string | null;
}

/** `GET /api/v1/drills/reports`: newest first. */
export interface DrillReportList {
  reports: DrillSummary[];
  unreachable: Unreachable[];
}

/** One check of a drill: what was expected and what was found. */
export type DrillCheck = DrillCheckShape;

/** The smoke command of a drill and how it ended. */
export type DrillSmoke = DrillSmokeShape;

/** A full drill report as the repository stores it, source types as plain names. */
export type DrillReportView = DrillReportShape;

/** `GET /api/v1/drills/reports/{repository}/{id}`. */
export interface DrillReportAnswer {
  repository: string;
  report: DrillReportView;
}
