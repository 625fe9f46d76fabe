import type { FastifyInstance } from 'fastify';
import type { HealthAnswer, StatusDocument } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { renderMetrics } from '../metrics.js';
import { buildStatus } from '../status.js';
import { replicationFacts } from '../replication.js';
import { walFacts } from '../wal-facts.js';
import { stateDir } from '../../state/state-dir.js';

/** `/healthz`, the status document, `/metrics`. */
export function systemRoutes(app: FastifyInstance, d: DaemonContext): void {
  const replication = () =>
    replicationFacts(
      d.loaded.config,
      stateDir(d.loaded.config.state_dir),
      d.now(),
      Date.parse(d.alerts.meta('watched_since') ?? new Date(d.now()).toISOString()),
    );
  const wal = () =>
    walFacts(
      d.loaded.config,
      stateDir(d.loaded.config.state_dir),
      d.now(),
      Date.parse(d.alerts.meta('watched_since') ?? new Date(d.now()).toISOString()),
    );
  app.get('/healthz', async (): Promise<HealthAnswer> => ({ status: 'ok' }));

  app.get('/api/v1/system/backup/status', async (): Promise<StatusDocument> =>
    buildStatus({
      config: d.loaded.config,
      history: d.history,
      storage: await d.storage.get(),
      nextRuns: d.nextRuns(),
      alerts: d.alerts.active(),
      now: d.now(),
      replication: replication(),
      wal: wal(),
    }),
  );

  app.get('/metrics', async (_req, reply) => {
    const { contentType, text } = await renderMetrics({
      config: d.loaded.config,
      history: d.history,
      storage: await d.storage.get(),
      compliance: d.compliance(),
      replication: replication(),
      wal: wal(),
    });
    return reply.type(contentType).send(text);
  });
}
