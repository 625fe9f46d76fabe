import type { JobResult } from '../jobs/run-job.js';
import { formatDuration } from '../util/format.js';
import type { RunEvent } from './notification.js';

/**
 * The end-of-run event for the run notifiers, from a finished run or from
 * the error that kept it from running: the outcome, then one line per step.
 */
export function runEndEvent(job: string, runId: string, done: { result: JobResult } | { error: string }): RunEvent {
  if ('error' in done)
    return { phase: 'end', job, runId, outcome: 'failed', summary: `job ${job} run ${runId}: failed\n${done.error}\n` };
  const r = done.result;
  const lines = [`job ${job} run ${runId}: ${r.outcome} in ${formatDuration(r.durationMs)}`];
  for (const s of r.steps) {
    const what = [s.step, s.source, s.repository && `-> ${s.repository}`].filter(Boolean).join(' ');
    lines.push(`${s.outcome.padEnd(7)} ${what}${s.error ? `: ${s.error}` : ''}`);
  }
  return { phase: 'end', job, runId, outcome: r.outcome, summary: `${lines.join('\n')}\n` };
}
