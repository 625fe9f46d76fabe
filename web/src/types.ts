/** Shapes of the API answers the dashboard reads (docs/api.md). */
export interface AlertView {
  id: number;
  rule: string;
  severity: string;
  source?: string;
  repository?: string;
  job?: string;
  message: string;
  fired_at: string;
  resolved_at?: string;
}

export interface StatusDoc {
  last_backup: { timestamp: string; type: string; status: string; duration_seconds: number | null; size_bytes: number } | null;
  last_verification: { timestamp: string; status: string } | null;
  next_backup: { timestamp: string; type: string } | null;
  storage: Record<string, { used_bytes: number | null; available_bytes: number | null; connected: boolean }>;
  sources: Record<string, { last_success: string | null; age_seconds: number | null; rpo_seconds: number; ok: boolean }>;
  alerts: AlertView[];
}

export interface SourceInfo {
  name: string;
  type: string;
  rpo_seconds: number;
  jobs: string[];
  next_run: string | null;
}

export interface RepositoryInfo {
  name: string;
  removable: boolean;
  connected: boolean;
  reachable: boolean;
  used_bytes: number | null;
  available_bytes: number | null;
  total_bytes: number | null;
  sources: Array<{ source: string | null; snapshots: number; newest: string; compliance_321: Array<{ check: string; status: string; reason: string }> }>;
}

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
  summary: { files: number; dirs: number; bytes: number; files_read: number; added_bytes: number; added_stored_bytes: number; duration_seconds: number; errors: number };
  metadata: Record<string, unknown>;
}

export interface TreeEntry {
  name: string;
  path: string;
  type: string;
  size: number | null;
  mode: number;
  mtime: string;
}

export interface StepView {
  step: string;
  source: string | null;
  repository: string | null;
  started_at: string;
  duration_seconds: number;
  outcome: string;
  bytes: number | null;
  added_bytes: number | null;
  snapshot: string | null;
  error: string | null;
}

export interface JobInfo {
  name: string;
  schedule: string | null;
  next_run: string | null;
  running: { run_id: string; started_at: string; trigger: string } | null;
  last_run: { id: string; started_at: string; finished_at: string | null; outcome: string; error: string | null } | null;
}

export interface RunView {
  id: string;
  job: string;
  started_at: string;
  finished_at: string | null;
  outcome: string;
  error: string | null;
  steps: StepView[];
}

export interface DrillStep extends StepView {
  run_id: string;
  job: string;
}

export interface Objective {
  measuredSeconds: number;
  targetSeconds: number | null;
  ok: boolean | null;
  basis: string;
}

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
  started_at: string;
  finished_at: string;
  job: string | null;
}
