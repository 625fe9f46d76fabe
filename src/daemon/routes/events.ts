import type { FastifyInstance } from 'fastify';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';

/**
 * `GET /api/v1/events`: server-sent events of job progress (`run.started`,
 * `step.started`, `step.finished`, `run.finished`, scheduler decisions), one
 * JSON object per `data:` line; a comment every 15 s keeps proxies from
 * closing the stream. The number of listeners is bounded.
 */
export function eventRoutes(app: FastifyInstance, d: DaemonContext, streams: Set<() => void>): void {
  app.get('/api/v1/events', async (req, reply) => {
    // HEAD (fastify answers it with this handler) gets the headers only: a stream it could never read would hold a listener.
    if (req.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send('');
    const raw = reply.raw;
    const unsubscribe = d.events.subscribe((e) => raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
    if (!unsubscribe)
      return sendError(reply, 429, 'too_many_requests', `at most ${d.events.maxListeners} event streams at once`);
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(': lifeboat events\n\n');
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    streams.add(end);
    req.raw.on('close', end);
  });
}
