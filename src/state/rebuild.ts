import type { Repository } from '../repository/repository.js';
import type { RunHistory } from './history.js';

interface RunMetadata {
  run?: { job?: unknown; runId?: unknown };
}

/**
 * Rebuild the run history from what the repositories hold: every snapshot a
 * job made carries `{ run: { job, runId } }`, so its backup step (time,
 * duration, bytes, added bytes, outcome) and the run it belonged to can be
 * recorded again. Failures left no snapshot and cannot be recovered; that is
 * why the repositories, not the history, are the record of what is protected.
 */
export async function rebuildHistory(
  history: RunHistory,
  repositories: Array<{ name: string; repo: Repository }>,
): Promise<{ runs: number; steps: number }> {
  const runs = new Map<string, { job: string; start: number; end: number; partial: boolean }>();
  let steps = 0;
  for (const { name, repo } of repositories) {
    const { snapshots } = await repo.listSnapshots();
    for (const s of snapshots) {
      // A copy (`lifeboat copy`) keeps the job facts of its original, whose run is recorded where it was made.
      if ((s.metadata as { copiedFrom?: unknown }).copiedFrom !== undefined) continue;
      const run = (s.metadata as RunMetadata).run;
      if (typeof run?.job !== 'string' || typeof run.runId !== 'string') continue;
      const end = Date.parse(s.time);
      const start = end - s.summary.durationMs;
      history.recordStep({
        runId: run.runId,
        job: run.job,
        step: 'backup',
        source: s.source,
        repository: name,
        startedAt: new Date(start).toISOString(),
        durationMs: s.summary.durationMs,
        bytes: s.summary.bytes,
        addedBytes: s.summary.addedBytes,
        snapshot: s.id,
        outcome: s.summary.errors ? 'partial' : 'ok',
      });
      steps++;
      const r = runs.get(run.runId) ?? { job: run.job, start, end, partial: false };
      r.start = Math.min(r.start, start);
      r.end = Math.max(r.end, end);
      r.partial ||= s.summary.errors > 0;
      runs.set(run.runId, r);
    }
  }
  for (const [id, r] of runs) {
    history.startRun({ id, job: r.job, startedAt: new Date(r.start).toISOString() });
    history.finishRun(id, r.partial ? 'partial' : 'ok', undefined, new Date(r.end).toISOString());
  }
  return { runs: runs.size, steps };
}
