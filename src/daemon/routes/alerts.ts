import type { FastifyInstance } from 'fastify';
import type { AlertList } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { alertView } from '../status.js';

/** Active alerts, recently resolved ones, and how each notifier fared. */
export function alertRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get('/api/v1/alerts', async (): Promise<AlertList> => ({
    active: d.alerts.active().map(alertView),
    recent: d.alerts.recent(100).map(alertView),
    notifiers: d.dispatcher.report(),
  }));
}
