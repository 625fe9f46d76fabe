/**
 * What every drill report carries besides its findings (id, verdict, host,
 * user, tool, job, times), and where every drill stores it: the repository,
 * local state (report files and the run history) and `--report DIR`. One
 * place, so a drill of any kind is seen by `drill --list`, status, the
 * dashboard and the alerts alike.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Repository } from '../repository/repository.js';
import { VERSION } from '../version.js';
import { verdictOf, type DrillReport } from './report.js';
import { recordLocally, saveDrillReport, writeReportFiles, type ReportFiles } from './store.js';

/** Where a drill's report goes, and the job it ran in. */
export interface ReportPlaces {
  /** The job this drill runs in, when it is a job step. */
  job?: string;
  /** Local state: report files under `drills/` and a `drill` step in the run history. */
  stateDir?: string;
  /** Also write the report (JSON, Markdown, HTML) here. */
  reportDir?: string;
  /** Store the report in the repository (default true). */
  store?: boolean;
}

/** The report of a drill and where it was stored. */
export interface DrillResult {
  report: DrillReport;
  /** The repository object holding the report (`drill/<id>`). */
  object?: string;
  localFiles?: ReportFiles;
  reportFiles?: ReportFiles;
}

/** The findings of a drill: everything of a report but the envelope. */
export type DrillFindings = Omit<
  DrillReport,
  'format' | 'id' | 'verdict' | 'reasons' | 'repository' | 'startedAt' | 'finishedAt' | 'host' | 'user' | 'tool' | 'job'
> & { startedAt: Date };

/** Judge the findings, wrap them in the envelope and store the report where the options say. */
export async function finishReport(
  repo: Repository,
  findings: DrillFindings,
  options: ReportPlaces,
): Promise<DrillResult> {
  const { startedAt, ...rest } = findings;
  const report: DrillReport = {
    format: 1,
    id: `${startedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`,
    ...verdictOf(rest),
    ...rest,
    repository: repo.id,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: os.hostname(),
    user: userName(),
    tool: `lifeboat ${VERSION}`,
    job: options.job ?? null,
  };
  const out: DrillResult = { report };
  if (options.store !== false) out.object = await saveDrillReport(repo, report);
  if (options.stateDir)
    out.localFiles = await recordLocally(options.stateDir, report, Date.now() - startedAt.getTime());
  if (options.reportDir) out.reportFiles = await writeReportFiles(options.reportDir, report);
  return out;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
