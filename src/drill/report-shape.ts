/**
 * The shape of a drill report, written once for the two places that show it:
 * `drill/report.ts` (what the drill writes and the repository stores) and the
 * daemon's API types that the web dashboard compiles against. Types only and
 * no imports, so the dashboard's browser build can reach it.
 *
 * @module
 */

/**
 * A measured objective (RTO or RPO) against its target; `ok` is null when no
 * target is configured or nothing could be measured (`measuredSeconds` null:
 * the RPO of a source without `recent_data`). A drill's RPO is that of the
 * snapshot drilled: its time minus the newest data in it.
 */
export interface Objective {
  measuredSeconds: number | null;
  targetSeconds: number | null;
  ok: boolean | null;
  /** What the measurement is, e.g. "snapshot time minus the newest events.created_at in the restored copy". */
  basis: string;
}

/**
 * How old the newest backup of the source was when the drill ran, against the
 * RPO. It says nothing about the snapshot drilled (often an older one, on
 * purpose), so it is shown beside the verdict and not part of it; `status`,
 * the alerts and `compliance` judge it.
 */
export interface Freshness {
  newestSnapshot: { id: string; time: string } | null;
  ageSeconds: number | null;
  targetSeconds: number | null;
  ok: boolean | null;
}

/** One check of a drill: what was expected (recorded, or a target) and what was found. */
export interface DrillCheckShape {
  name: string;
  ok: boolean;
  expected: unknown;
  actual: unknown;
  /** Why it failed, or what it means, in words. */
  detail?: string;
}

/** The smoke command of a drill and how it ended. */
export interface DrillSmokeShape {
  command: string;
  ok: boolean;
  exitCode: number | null;
  durationMs: number;
  /** The end of its output (stdout, or the error with stderr when it failed). */
  output: string;
}

/** Where a database drill restored its copy: a throwaway server, or a scratch database on the configured server, and why. */
export interface DrillIsolationShape {
  server: 'throwaway' | 'scratch_database';
  /** Which binaries and where (throwaway), or why the scratch database was used. */
  detail: string;
}

/** A point-in-time drill: the random point chosen, where recovery stopped, and whether it reached the point. */
export interface DrillPointInTimeShape {
  /** The base backup restored (its snapshot id). */
  base: string;
  pointAt: string;
  stoppedAt: string | null;
  lastTransaction: string | null;
  reached: boolean;
}

/** One restore drill; `SourceTypeName` is the configured source types where they are known, else any name. */
export interface DrillReportShape<SourceTypeName extends string = string> {
  format: 1;
  id: string;
  verdict: 'PASS' | 'FAIL';
  /** Why it failed, one line each; empty on PASS. */
  reasons: string[];
  source: { name: string; type: SourceTypeName };
  snapshot: {
    id: string;
    time: string;
    host: string;
    files: number;
    bytes: number;
    selectedBy: string;
    candidates: number;
    seed: number;
    within: string | null;
  };
  repository: string;
  /** Where the isolated copy was restored (removed afterwards). */
  restoredTo: string | null;
  mode: string;
  /** Database drills: where the copy was restored (absent in reports of earlier versions and of other sources). */
  isolation?: DrillIsolationShape;
  /** Point-in-time drills only: the snapshot is then the base backup, the point a random moment after it. */
  pointInTime?: DrillPointInTimeShape;
  checks: DrillCheckShape[];
  rto: Objective;
  /** RPO of the snapshot drilled: its time minus the newest data in it. */
  rpo: Objective;
  /** Age of the newest backup of the source at drill time (absent in reports of earlier versions). */
  freshness?: Freshness;
  smoke: DrillSmokeShape | null;
  cleanup: { ok: boolean; detail?: string };
  startedAt: string;
  finishedAt: string;
  host: string;
  user: string;
  tool: string;
  job: string | null;
}
