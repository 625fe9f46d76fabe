import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../../config/duration.js';
import type { StepRecord } from '../../state/history.js';
import type { DrillStepList, JobList, RunList, RunStarted, StepView } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';
import { limitOf } from './paging.js';

/** Jobs, their runs, starting a run (the same path and lock as `lifeboat run`), drills. */
export function jobRoutes(app: FastifyInstance, d: DaemonContext): void {
  const stepView = (s: StepRecord): StepView => ({
    step: s.step,
    source: s.source ?? null,
    repository: s.repository ?? null,
    started_at: s.startedAt,
    duration_seconds: s.durationMs / 1000,
    outcome: s.outcome,
    bytes: s.bytes ?? null,
    added_bytes: s.addedBytes ?? null,
    snapshot: s.snapshot ?? null,
    error: s.error ? d.redact(s.error) : null,
    output: s.output ? d.redact(s.output) : null,
  });

  app.get('/api/v1/jobs', async (): Promise<JobList> => {
    const next = d.nextRuns();
    return {
      jobs: Object.entries(d.loaded.config.jobs ?? {}).map(([name, job]) => {
        const last = d.history.runs(name, 1)[0];
        const running = d.runner.isRunning(name);
        return {
          name,
          schedule: job.schedule ?? null,
          timezone: job.timezone ?? null,
          jitter_seconds: job.jitter ? parseDuration(job.jitter) : 0,
          next_run: next.has(name) ? new Date(next.get(name)!).toISOString() : null,
          running: running ? { run_id: running.runId, started_at: running.startedAt, trigger: running.trigger } : null,
          last_run: last
            ? {
                id: last.id,
                started_at: last.startedAt,
                finished_at: last.finishedAt ?? null,
                outcome: last.outcome ?? 'running',
                error: last.error ? d.redact(last.error) : null,
              }
            : null,
        };
      }),
    };
  });

  app.post<{ Params: { name: string } }>('/api/v1/jobs/:name/run', async (req, reply) => {
    const result = d.runner.start(req.params.name, 'api');
    if (result.started) {
      const answer: RunStarted = {
        run_id: result.runId,
        job: req.params.name,
        status: 'started',
        runs_url: `/api/v1/jobs/${encodeURIComponent(req.params.name)}/runs`,
      };
      return reply.code(202).send(answer);
    }
    if (result.reason === 'unknown') return sendError(reply, 404, 'not_found', result.detail);
    return sendError(reply, 409, 'conflict', `job "${req.params.name}" is already running: ${result.detail}`);
  });

  app.get<{ Params: { name: string }; Querystring: { limit?: string } }>(
    '/api/v1/jobs/:name/runs',
    async (req, reply) => {
      if (!d.loaded.config.jobs?.[req.params.name])
        return sendError(reply, 404, 'not_found', `no job named "${req.params.name}"`);
      const limit = limitOf(req.query.limit, 20, 200);
      if (limit === undefined)
        return sendError(reply, 400, 'bad_request', 'limit must be a whole number from 1 to 200');
      const answer: RunList = {
        runs: d.history.runs(req.params.name, limit).map((r) => ({
          id: r.id,
          job: r.job,
          started_at: r.startedAt,
          finished_at: r.finishedAt ?? null,
          outcome: r.outcome ?? 'running',
          error: r.error ? d.redact(r.error) : null,
          steps: d.history.steps({ runId: r.id }).reverse().map(stepView),
        })),
      };
      return answer;
    },
  );

  // Drill reports are not stored yet: the drill steps of the run history stand in for them.
  app.get<{ Querystring: { source?: string; limit?: string } }>('/api/v1/drills', async (req, reply) => {
    const limit = limitOf(req.query.limit, 50, 500);
    if (limit === undefined) return sendError(reply, 400, 'bad_request', 'limit must be a whole number from 1 to 500');
    const steps = d.history.steps({ step: 'drill', ...(req.query.source ? { source: req.query.source } : {}) }, limit);
    const answer: DrillStepList = { drills: steps.map((s) => ({ run_id: s.runId, job: s.job, ...stepView(s) })) };
    return answer;
  });
}
