/**
 * The read-only WebDAV endpoint of `lifeboat webdav` (ADR 0037): OPTIONS,
 * PROPFIND with depth 0 or 1, GET with one byte range, and HEAD over the
 * snapshots of one open repository (see namespace.ts for the layout). Every
 * other method is refused with 405. Every request must carry the token — as
 * `Authorization: Bearer TOKEN`, or as the password of HTTP Basic auth (any
 * user name), for file managers that only know Basic — on loopback too: the
 * endpoint serves decrypted data, and a loopback port is open to every local
 * user.
 *
 * @module
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Repository } from '../../repository/repository.js';
import { bearerMatches } from '../token.js';
import { contentStream, parseRange } from './content.js';
import { SnapshotNamespace, type DavEntry } from './namespace.js';
import { etagOf, multistatus } from './propfind.js';

export const ALLOWED_METHODS = ['OPTIONS', 'PROPFIND', 'GET', 'HEAD'] as const;
/** Methods a WebDAV client may send to change things: all refused with 405. */
const WRITE_METHODS = ['PUT', 'DELETE', 'POST', 'PATCH', 'MKCOL', 'COPY', 'MOVE', 'PROPPATCH', 'LOCK', 'UNLOCK'];
const ALLOW = ALLOWED_METHODS.join(', ');

export interface WebdavOptions {
  repo: Repository;
  /** Every request must present it (Bearer, or Basic auth password). */
  token: string;
  /** Told about each failed request (not about ordinary 404s). */
  log?: (line: string) => void;
}

function basicMatches(header: string | undefined, token: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return decoded.includes(':') && timingSafeEqual(digest(password), digest(token));
}

function segmentsOf(url: string): string[] | undefined {
  const path = url.split('?')[0]!;
  try {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    return segments.some((s) => s === '.' || s === '..') ? undefined : segments;
  } catch {
    return undefined; // a malformed escape names nothing
  }
}

export async function buildWebdav(options: WebdavOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    exposeHeadRoutes: false,
    // Downloads of large files must not be cut off; idle connections are.
    requestTimeout: 0,
    connectionTimeout: 60_000,
    keepAliveTimeout: 10_000,
    return503OnClosing: true,
  });
  for (const m of ['PROPFIND', ...WRITE_METHODS])
    if (!app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true });
  // PROPFIND bodies are XML; they are not read (every request gets the same properties).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));

  const ns = new SnapshotNamespace(options.repo);

  app.addHook('onRequest', async (req, reply) => {
    const auth = req.headers.authorization;
    if (bearerMatches(auth, options.token) || basicMatches(auth, options.token)) return;
    await reply
      .code(401)
      .header('WWW-Authenticate', 'Basic realm="lifeboat", charset="UTF-8"')
      .type('text/plain')
      .send('a token is needed: Authorization: Bearer TOKEN, or Basic auth with the token as password\n');
  });

  const resolve = async (req: FastifyRequest, reply: FastifyReply): Promise<DavEntry | undefined> => {
    const segments = segmentsOf(req.url);
    const entry = segments && (await ns.resolve(segments));
    if (!entry) await reply.code(404).type('text/plain').send('not found\n');
    return entry || undefined;
  };

  app.route({
    method: [...ALLOWED_METHODS],
    url: '/*',
    handler: async (req, reply) => {
      reply.header('DAV', '1').header('Allow', ALLOW);
      if (req.method === 'OPTIONS') return reply.code(200).send();
      const entry = await resolve(req, reply);
      if (!entry) return reply;
      if (req.method === 'PROPFIND') {
        const depth = String(req.headers.depth ?? 'infinity').trim();
        if (depth !== '0' && depth !== '1')
          return reply
            .code(403)
            .type('application/xml; charset=utf-8')
            .send(
              '<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>\n',
            );
        const entries = depth === '1' ? [entry, ...(await ns.children(entry))] : [entry];
        return reply.code(207).type('application/xml; charset=utf-8').send(multistatus(entries));
      }
      // GET and HEAD
      if (entry.collection)
        return reply
          .code(405)
          .header('Allow', 'OPTIONS, PROPFIND')
          .type('text/plain')
          .send('a directory: use PROPFIND\n');
      reply
        .header('Accept-Ranges', 'bytes')
        .header('Last-Modified', entry.modified.toUTCString())
        .header('ETag', etagOf(entry))
        .type('application/octet-stream');
      const range = parseRange(req.headers.range, entry.size);
      if (range === 'unsatisfiable') return reply.code(416).header('Content-Range', `bytes */${entry.size}`).send();
      if (range) reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${entry.size}`);
      const length = range ? range.end - range.start + 1 : entry.size;
      reply.header('Content-Length', String(length));
      if (req.method === 'HEAD') return reply.send();
      return reply.send(contentStream(options.repo, entry.node!, range));
    },
  });

  app.setNotFoundHandler(async (req, reply) =>
    reply
      .code(405)
      .header('Allow', ALLOW)
      .type('text/plain')
      .send(`${req.method} is not allowed: this WebDAV endpoint is read-only\n`),
  );
  app.setErrorHandler(async (err: Error, req, reply) => {
    options.log?.(`${req.method} ${req.url}: ${err.message}`);
    return reply.code(500).type('text/plain').send(`error: ${err.message}\n`);
  });
  return app;
}
