import type { FastifyInstance } from 'fastify';
import { DEFAULT_RPO_SECONDS } from '../../compliance/evaluate.js';
import { parseDuration } from '../../config/duration.js';
import type { SourceHistory, SourceList } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';
import { limitOf } from './paging.js';

/**
 * `GET /api/v1/sources`: each configured source with its type, RPO, the jobs
 * that back it up and their next scheduled start. `GET
 * /api/v1/sources/{name}/history?limit=`: its backups, newest first, with
 * size, added bytes and duration (for charts). No paths, no settings.
 */
export function sourceRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get('/api/v1/sources', async (): Promise<SourceList> => {
    const next = d.nextRuns();
    const jobs = Object.entries(d.loaded.config.jobs ?? {});
    return {
      sources: Object.entries(d.loaded.config.sources ?? {}).map(([name, src]) => {
        const mine = jobs
          .filter(([, j]) => j.to && (j.sources === 'all' || (j.sources ?? []).includes(name)))
          .map(([n]) => n);
        const starts = mine.map((j) => next.get(j)).filter((t): t is number => t !== undefined);
        return {
          name,
          type: src.type,
          rpo_seconds: src.rpo ? parseDuration(src.rpo) : DEFAULT_RPO_SECONDS,
          jobs: mine,
          next_run: starts.length ? new Date(Math.min(...starts)).toISOString() : null,
        };
      }),
    };
  });

  app.get<{ Params: { name: string }; Querystring: { limit?: string } }>(
    '/api/v1/sources/:name/history',
    async (req, reply) => {
      const src = d.loaded.config.sources?.[req.params.name];
      if (!src) return sendError(reply, 404, 'not_found', `no source named "${req.params.name}"`);
      const limit = limitOf(req.query.limit, 200, 2000);
      if (limit === undefined)
        return sendError(reply, 400, 'bad_request', 'limit must be a whole number from 1 to 2000');
      const answer: SourceHistory = {
        source: req.params.name,
        rpo_seconds: src.rpo ? parseDuration(src.rpo) : DEFAULT_RPO_SECONDS,
        backups: d.history.steps({ source: req.params.name, step: 'backup' }, limit).map((s) => ({
          run_id: s.runId,
          job: s.job,
          repository: s.repository ?? null,
          started_at: s.startedAt,
          duration_seconds: s.durationMs / 1000,
          outcome: s.outcome,
          bytes: s.bytes ?? null,
          added_bytes: s.addedBytes ?? null,
          snapshot: s.snapshot ?? null,
        })),
      };
      return answer;
    },
  );
}
