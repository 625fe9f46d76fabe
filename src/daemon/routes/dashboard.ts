import type { FastifyInstance } from 'fastify';
import type { DaemonContext } from '../context.js';
import { drillReportRoutes } from './drill-reports.js';
import { repositoryRoutes } from './repositories.js';
import { restoreRoutes } from './restores.js';
import { snapshotDiffRoutes } from './snapshot-diff.js';
import { snapshotTreeRoutes } from './snapshot-tree.js';
import { sourceRoutes } from './sources.js';
import { webRoutes } from './web.js';

/** The web dashboard's files and the API routes it needs beyond the core set of docs/api.md. */
export function dashboardRoutes(app: FastifyInstance, d: DaemonContext): void {
  webRoutes(app);
  sourceRoutes(app, d);
  repositoryRoutes(app, d);
  snapshotTreeRoutes(app, d);
  snapshotDiffRoutes(app, d);
  restoreRoutes(app, d);
  drillReportRoutes(app, d);
}
