import type { FastifyInstance } from 'fastify';
import { openConfiguredRepository } from '../../config/repository-access.js';
import { listDrillReports } from '../../drill/store.js';
import type { DrillReport } from '../../drill/report.js';
import type { DrillReportAnswer, DrillReportList, DrillSummary, Unreachable } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';

/**
 * The restore-drill reports the repositories hold (`drill/`):
 * `GET /api/v1/drills/reports` lists them newest first (verdict, source,
 * snapshot, RTO and RPO against their targets); `GET
 * /api/v1/drills/reports/{repository}/{id}` is one full report (checks,
 * smoke test, cleanup). Repositories that cannot be opened are listed as
 * unreachable. Messages pass the redactor.
 */
export function drillReportRoutes(app: FastifyInstance, d: DaemonContext): void {
  const read = async (only?: string) => {
    const out: Array<{ repository: string; report: DrillReport }> = [];
    const unreachable: Unreachable[] = [];
    for (const [name, settings] of Object.entries(d.loaded.config.repositories ?? {})) {
      if (only && name !== only) continue;
      try {
        const repo = await openConfiguredRepository(name, settings);
        try {
          for (const report of (await listDrillReports(repo)).reports) out.push({ repository: name, report });
        } finally {
          await repo.close();
        }
      } catch (err) {
        unreachable.push({ repository: name, error: d.redact((err as Error).message) });
      }
    }
    out.sort((a, b) =>
      a.report.startedAt < b.report.startedAt ? 1 : a.report.startedAt > b.report.startedAt ? -1 : 0,
    );
    return { out, unreachable };
  };
  const clean = <T>(v: T): T => JSON.parse(d.redact(JSON.stringify(v))) as T;

  app.get('/api/v1/drills/reports', async (): Promise<DrillReportList> => {
    const { out, unreachable } = await read();
    return {
      reports: out.map(({ repository, report: r }) =>
        clean<DrillSummary>({
          repository,
          id: r.id,
          verdict: r.verdict,
          reasons: r.reasons,
          source: r.source,
          snapshot: { id: r.snapshot.id, time: r.snapshot.time },
          mode: r.mode,
          rto: r.rto,
          rpo: r.rpo,
          ...(r.freshness ? { freshness: r.freshness } : {}),
          started_at: r.startedAt,
          finished_at: r.finishedAt,
          job: r.job,
        }),
      ),
      unreachable,
    };
  });

  app.get<{ Params: { repository: string; id: string } }>(
    '/api/v1/drills/reports/:repository/:id',
    async (req, reply) => {
      if (!d.loaded.config.repositories?.[req.params.repository])
        return sendError(reply, 404, 'not_found', `no repository named "${req.params.repository}"`);
      const { out } = await read(req.params.repository);
      const found = out.find((x) => x.report.id === req.params.id);
      if (!found)
        return sendError(reply, 404, 'not_found', `no drill report ${req.params.id} in "${req.params.repository}"`);
      const { object: _object, ...report } = found.report as DrillReport & { object?: string };
      const answer: DrillReportAnswer = { repository: found.repository, report: clean(report) };
      return answer;
    },
  );
}
