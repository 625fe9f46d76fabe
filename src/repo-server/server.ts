/**
 * The repository server's HTTP API (fastify): the Storage operations of one
 * repository, under `/<name>/v1/` (see `storage/drivers/http/http.ts` for the
 * protocol), stored through any Storage driver. Every request but `/healthz`
 * needs a token (`Authorization: Bearer …`); `/metrics` and stale-temporary
 * removal need an admin token; `append` tokens are held to `access.ts`.
 *
 * @module
 */

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import type { Storage } from '../storage/contract.js';
import { objectNameProblem } from '../storage/names.js';
import { decideAdminOnly, decidePut, decideRemove, type Decision } from './access.js';
import type { AuditLog } from './audit.js';
import { badRequest, toWire } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { Ledger } from './ledger.js';
import type { ServerMetrics } from './metrics.js';
import type { TokenEntry, TokenStore } from './tokens.js';

/** A pack is at most 1 GiB (repository format); a little room on top for the envelope. */
export const MAX_OBJECT_BYTES = 1024 ** 3 + 1024 ** 2;

export interface RepositoryServerParts {
  storage: Storage;
  /** The repository's name in URLs (`/<name>/v1/…`). */
  name: string;
  tokens: TokenStore;
  ledger: Ledger;
  audit: AuditLog;
  metrics: ServerMetrics;
  /** Server-side problems (an audit line that could not be written). */
  log: (line: string) => void;
  https?: { key: Buffer; cert: Buffer };
}

declare module 'fastify' {
  interface FastifyRequest {
    lifeboatToken?: TokenEntry;
  }
}

type Op =
  | 'get'
  | 'get_range'
  | 'put'
  | 'remove'
  | 'stat'
  | 'list'
  | 'space'
  | 'info'
  | 'stale_temporaries'
  | 'metrics'
  /** A request with no route that would change something (audited as an attempted write). */
  | 'unknown';

/** What a route answers once it succeeded (sent after the audit line is written). */
interface Answer {
  /** Object bytes moved (for the audit log). */
  bytes: number;
  body?: unknown;
  status?: number;
  type?: string;
}

const WRITES = new Set<Op>(['put', 'remove', 'stale_temporaries', 'unknown']);

function bearer(req: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
}

function refuse(d: Decision): void {
  if (!d.allow)
    throw new LifeboatError(ErrorCode.AppendOnly, `refused: ${d.why}`, {
      hint: 'this token may only add objects; deleting commands (forget, prune) need an admin token',
    });
}

function objectName(req: FastifyRequest): string {
  const name = (req.params as { '*': string })['*'];
  const problem = objectNameProblem(name);
  if (problem !== undefined) throw badRequest(`invalid object name ${JSON.stringify(name)}: ${problem}`);
  return name;
}

function integerParam(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`${what} must be a non-negative integer`);
  return n;
}

export function buildRepositoryServer(p: RepositoryServerParts): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_OBJECT_BYTES,
    routerOptions: { maxParamLength: 1100 },
    // Uploads of 1 GiB over slow links must not be cut off; idle connections are.
    requestTimeout: 0,
    connectionTimeout: 600_000,
    keepAliveTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...(p.https ? { https: p.https } : {}),
  }) as unknown as FastifyInstance;
  const names = new KeyedMutex();

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  /**
   * Count one finished request and audit it (writes, and refusals even of reads).
   * Awaited before answering: a client never sees a write that the log lacks.
   */
  const record = async (req: FastifyRequest, op: Op, path: string, bytes: number, status: number, result: string) => {
    p.metrics.request(op, result);
    const refused = status === 401 || status === 403 || status === 507;
    if (refused) p.metrics.refusal(result);
    if (!refused && !WRITES.has(op)) return;
    await p.audit.write(
      { token: req.lifeboatToken?.name ?? '-', method: req.method, path, bytes, status, result },
      (err) => p.log(`audit log ${p.audit.file}: ${(err as Error).message}`),
    );
  };

  /** Runs a route: authenticates, answers errors as JSON, records metrics and the audit line. */
  const route =
    (op: Op, fn: (req: FastifyRequest, token: TokenEntry) => Promise<Answer>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const path = req.url.split('?')[0]!;
      const rawBody = req.body;
      const bodyBytes = Buffer.isBuffer(rawBody) ? rawBody.length : 0;
      try {
        const token = p.tokens.verify(bearer(req));
        if (!token) {
          reply.header('www-authenticate', 'Bearer realm="lifeboat-repository"');
          throw new LifeboatError(ErrorCode.NoPassword, 'missing or unknown repository-server token', {
            hint: 'set $LIFEBOAT_SERVER_TOKEN_FILE to a file holding a token from `lifeboat serve-repository token add`',
          });
        }
        req.lifeboatToken = token;
        const repo = (req.params as { repo?: string }).repo;
        if (repo !== undefined && repo !== p.name)
          throw new LifeboatError(ErrorCode.RepositoryNotFound, `this server serves no repository named ${repo}`, {
            hint: `the repository's URL ends in /${p.name}`,
          });
        const answer = await fn(req, token);
        const status = answer.status ?? 200;
        await record(req, op, path, answer.bytes, status, 'ok');
        reply.code(status);
        if (answer.type) reply.type(answer.type);
        return reply.send(answer.body);
      } catch (err) {
        const wire = toWire(err);
        const result = wire.status === 401 ? 'unauthorized' : wire.body.error.code;
        await record(req, op, path, bodyBytes, wire.status, result);
        return reply.code(wire.status).type('application/json; charset=utf-8').send(wire.body);
      }
    };

  app.get('/healthz', async () => ({ ok: true }));

  app.get(
    '/metrics',
    route('metrics', async (_req, token) => {
      const d = decideAdminOnly(token.role, '/metrics');
      if (!d.allow) throw new LifeboatError(ErrorCode.AppendOnly, `refused: ${d.why}`);
      return { bytes: 0, type: p.metrics.registry.contentType, body: await p.metrics.registry.metrics() };
    }),
  );

  app.get('/:repo/v1/objects/*', async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as { offset?: string; length?: string };
    const ranged = q.offset !== undefined || q.length !== undefined;
    return route(ranged ? 'get_range' : 'get', async (req, token) => {
      const name = objectName(req);
      const data = ranged
        ? await p.storage.getRange(name, integerParam(q.offset, 'offset'), integerParam(q.length, 'length'))
        : await p.storage.get(name);
      p.metrics.sent(token.name, data.length);
      reply.type('application/octet-stream').send(data);
      return { bytes: data.length };
    })(req, reply);
  });

  app.get(
    '/:repo/v1/stat/*',
    route('stat', async (req) => {
      return { bytes: 0, body: await p.storage.stat(objectName(req)) };
    }),
  );

  app.get(
    '/:repo/v1/list',
    route('list', async (req) => {
      const prefix = (req.query as { prefix?: unknown }).prefix ?? '';
      if (
        typeof prefix !== 'string' ||
        (prefix !== '' && (!prefix.endsWith('/') || objectNameProblem(prefix.slice(0, -1))))
      )
        throw badRequest(`invalid prefix ${JSON.stringify(prefix)}`);
      return { bytes: 0, body: { objects: await p.storage.list(prefix) } };
    }),
  );

  app.get(
    '/:repo/v1/info',
    route('info', async (_req, token) => ({
      bytes: 0,
      // The client offers removeStaleTemporaries only when the backend has temporaries to remove;
      // the role lets it tell whether this copy is append-only (the compliance report asks).
      body: { temporaries: typeof p.storage.removeStaleTemporaries === 'function', role: token.role },
    })),
  );

  app.get(
    '/:repo/v1/space',
    route('space', async () => {
      return { bytes: 0, body: await p.storage.space() };
    }),
  );

  app.put(
    '/:repo/v1/objects/*',
    route('put', async (req, token) => {
      const name = objectName(req);
      const data = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      await names.run(name, async () => {
        let existing: Buffer | undefined;
        if (token.role !== 'admin') {
          existing = await p.storage.get(name).catch((err: unknown) => {
            if (isLifeboatError(err, ErrorCode.NotFound)) return undefined;
            throw err;
          });
          const identical = existing !== undefined && existing.equals(data);
          refuse(decidePut(token.role, existing !== undefined, identical));
          if (identical) return; // a retried upload: the object already holds exactly these bytes
        }
        const used = p.ledger.used(token.name);
        if (token.quotaBytes !== undefined && used + data.length > token.quotaBytes)
          throw new LifeboatError(
            ErrorCode.QuotaExceeded,
            `refused: storing ${data.length} bytes would exceed the quota of token ${token.name} (${used} of ${token.quotaBytes} bytes used)`,
            { hint: "ask the server's administrator to raise the quota" },
          );
        // Counted before the write so concurrent uploads cannot overshoot together; given back on failure.
        p.ledger.addUsage(token.name, data.length);
        try {
          await p.storage.put(name, data);
        } catch (err) {
          p.ledger.addUsage(token.name, -data.length);
          throw err;
        }
        if (token.role !== 'admin' && name.startsWith('locks/')) p.ledger.setLockOwner(name, token.name);
        await p.ledger.flush();
      });
      p.metrics.received(token.name, data.length);
      return { bytes: data.length, status: 204 };
    }),
  );

  app.delete(
    '/:repo/v1/objects/*',
    route('remove', async (req, token) => {
      const name = objectName(req);
      await names.run(name, async () => {
        if (token.role !== 'admin') {
          const exists = await p.storage.stat(name).then(
            () => true,
            (err: unknown) => {
              if (isLifeboatError(err, ErrorCode.NotFound)) return false;
              throw err;
            },
          );
          refuse(decideRemove(token.role, name, exists, token.name, p.ledger.lockOwner(name)));
          if (!exists) return;
        }
        await p.storage.remove(name);
        if (p.ledger.lockOwner(name) !== undefined) {
          p.ledger.setLockOwner(name, undefined);
          await p.ledger.flush();
        }
      });
      return { bytes: 0, status: 204 };
    }),
  );

  app.post(
    '/:repo/v1/stale-temporaries',
    route('stale_temporaries', async (req, token) => {
      refuse(decideAdminOnly(token.role, 'removing stale temporaries'));
      const body = (req.body ?? {}) as { olderThanMs?: unknown; dryRun?: unknown };
      if (typeof body.olderThanMs !== 'number' || !(body.olderThanMs >= 0))
        throw badRequest('olderThanMs must be a non-negative number');
      const found = p.storage.removeStaleTemporaries
        ? await p.storage.removeStaleTemporaries(body.olderThanMs, { dryRun: body.dryRun === true })
        : { count: 0, bytes: 0 }; // a backend without temporaries has none to leave behind
      return { bytes: 0, body: found };
    }),
  );

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0]!;
    // A request that would change something (a rename, an unknown verb) is refused and audited like
    // any refusal: an attacker probing for another way in leaves a trace.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.lifeboatToken = p.tokens.verify(bearer(req));
      await record(req, 'unknown', path, 0, 404, 'no_route');
    }
    return reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send({ error: { code: 'usage', message: `no route ${req.method} ${path}`, retryable: false } });
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    // Fastify's own refusals (body too large, unsupported content type, a cut-off upload).
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    return reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send({ error: { code: 'storage', message: err.message, retryable: status >= 500 } });
  });
  return app;
}
