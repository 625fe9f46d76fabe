import type { FastifyInstance } from 'fastify';
import type { HealthAnswer, StatusDocument } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { renderMetrics } from '../metrics.js';
import { buildStatus } from '../status.js';

/** `/healthz`, the status document, `/metrics`. */
export function systemRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get('/healthz', async (): Promise<HealthAnswer> => ({ status: 'ok' }));

  app.get('/api/v1/system/backup/status', async (): Promise<StatusDocument> =>
    buildStatus({ config: d.loaded.config, history: d.history, storage: await d.storage.get(), nextRuns: d.nextRuns(), alerts: d.alerts.active(), now: d.now() }),
  );

  app.get('/metrics', async (_req, reply) => {
    const { contentType, text } = await renderMetrics({ config: d.loaded.config, history: d.history, storage: await d.storage.get(), compliance: d.compliance() });
    return reply.type(contentType).send(text);
  });
}
