import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Repository } from '../repository/repository.js';
import { RunHistory } from '../state/history.js';
import { renderHtml, renderMarkdown } from './render.js';
import { parseDrillReport, type DrillReport } from './report.js';
import { makeDirectories } from '../util/make-dirs.js';

export interface ReportFiles {
  json: string;
  markdown: string;
  html: string;
}

/** Into the repository as a new sealed object, so the history of drills survives the loss of the host. */
export async function saveDrillReport(repo: Repository, report: DrillReport): Promise<string> {
  return `drill/${await repo.writeObject('drill', 'drill', Buffer.from(JSON.stringify(report)))}`;
}

/** Every drill report the repository holds, newest first; unreadable objects are reported, not fatal. */
export async function listDrillReports(
  repo: Repository,
): Promise<{ reports: Array<DrillReport & { object: string }>; unreadable: string[] }> {
  const objects = await repo.storage.list('drill/');
  const unreadable: string[] = [];
  const reports: Array<DrillReport & { object: string }> = [];
  for (const o of objects) {
    try {
      reports.push({ ...parseDrillReport(await repo.readObject(o.name, 'drill'), o.name), object: o.name });
    } catch {
      unreadable.push(o.name);
    }
  }
  reports.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  return { reports, unreadable };
}

/** JSON, Markdown and HTML side by side in `dir` (0600: a report names servers and paths). */
export async function writeReportFiles(dir: string, report: DrillReport): Promise<ReportFiles> {
  await makeDirectories(dir, 0o700);
  const stamp = report.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = path.join(dir, `drill-${report.source.name.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}`);
  const files = { json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html` };
  await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
  await writeFile(files.markdown, renderMarkdown(report), { mode: 0o600 });
  await writeFile(files.html, renderHtml(report), { mode: 0o600 });
  return files;
}

/**
 * Local state: the report files under `<state_dir>/drills/`, and a `drill`
 * step in the run history, which `compliance` reads for drill recency.
 */
export async function recordLocally(stateDir: string, report: DrillReport, durationMs: number): Promise<ReportFiles> {
  const files = await writeReportFiles(path.join(stateDir, 'drills'), report);
  const history = RunHistory.open(stateDir);
  try {
    history.recordStep({
      runId: report.id,
      job: report.job ?? 'drill',
      step: 'drill',
      source: report.source.name,
      repository: report.repository,
      startedAt: report.startedAt,
      durationMs,
      bytes: report.snapshot.bytes,
      snapshot: report.snapshot.id,
      outcome: report.verdict === 'PASS' ? 'ok' : 'failed',
      ...(report.reasons.length ? { error: report.reasons.join('; ').slice(0, 1000) } : {}),
    });
  } finally {
    history.close();
  }
  return files;
}
