/**
 * The HTTP API of docs/api.md (fastify). Every route but `/healthz` needs
 * `Authorization: Bearer <token>`. Limits: 16 KiB bodies, 200-character
 * path parameters, 30 s to receive a request, 1000 requests per keep-alive
 * connection, bounded event streams. Errors are JSON with a stable code and
 * never carry a stack, a secret or a secret file's path.
 *
 * @module
 */

import Fastify, { type FastifyInstance } from 'fastify';
import type { DaemonContext } from './context.js';
import { codeForStatus, sendError } from './http-errors.js';
import { alertRoutes } from './routes/alerts.js';
import { eventRoutes } from './routes/events.js';
import { jobRoutes } from './routes/jobs.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { systemRoutes } from './routes/system.js';
import { bearerMatches } from './token.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { isDashboardFile } from './routes/web.js';

export function buildServer(d: DaemonContext, token: string): { app: FastifyInstance; closeStreams: () => void } {
  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    // Router settings go under routerOptions: at the top level Fastify 5 warns (FSTDEP022) on every start.
    routerOptions: { maxParamLength: 200 },
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 10_000,
    maxRequestsPerSocket: 1000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const streams = new Set<() => void>();

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz' || isDashboardFile(req.method, req.url)) return;
    if (!bearerMatches(req.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer realm="lifeboat"');
      return sendError(reply, 401, 'unauthorized', 'missing or wrong bearer token');
    }
  });
  // Routes read each query parameter as one string; a repeated one (?path=a&path=b) would arrive as an array.
  app.addHook('preValidation', async (req, reply) => {
    const repeated = Object.entries((req.query ?? {}) as Record<string, unknown>).find(([, v]) => Array.isArray(v));
    if (repeated)
      return sendError(reply, 400, 'bad_request', `query parameter "${repeated[0].slice(0, 50)}" given more than once`);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    return sendError(
      reply,
      status,
      codeForStatus(status),
      status >= 500 ? `internal error: ${d.redact(err.message)}` : d.redact(err.message),
    );
  });

  systemRoutes(app, d);
  jobRoutes(app, d);
  snapshotRoutes(app, d);
  alertRoutes(app, d);
  eventRoutes(app, d, streams);
  dashboardRoutes(app, d);
  return { app, closeStreams: () => [...streams].forEach((end) => end()) };
}
