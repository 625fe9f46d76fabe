/**
 * The web dashboard: the files `npm run build` puts in `dist/web/`, served at
 * `/` (index.html) and `/assets/…`. They hold no data and no secret, so they
 * are the only routes besides `/healthz` that need no token; everything the
 * dashboard shows comes from the API with the token the user logs in with.
 * The files are read once, on first use; nothing outside `dist/web/` can be
 * named.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

let files: Map<string, { type: string; body: Buffer }> | undefined;

/** Where the built dashboard is: next to the compiled daemon in `dist/`, or `dist/web` of the checkout when run from source. */
export function dashboardDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, '../../web'), path.resolve(here, '../../../dist/web')].find((d) =>
    existsSync(path.join(d, 'index.html')),
  );
}

function load(): Map<string, { type: string; body: Buffer }> {
  if (files) return files;
  const out = new Map<string, { type: string; body: Buffer }>();
  const root = dashboardDir();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
      else if (TYPES[path.extname(name)])
        out.set(`/${prefix}${name}`, { type: TYPES[path.extname(name)]!, body: readFileSync(full) });
    }
  };
  if (root) walk(root, '');
  const index = out.get('/index.html');
  if (index) out.set('/', index);
  files = out;
  return out;
}

/** Whether a request is for a dashboard file (served without a token). */
export function isDashboardFile(method: string, url: string): boolean {
  return (method === 'GET' || method === 'HEAD') && load().has(url.split('?')[0]!);
}

export function webRoutes(app: FastifyInstance): void {
  const serve = (url: string, reply: FastifyReply) => {
    const f = load().get(url.split('?')[0]!);
    if (!f)
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send('the dashboard is not built: run `npm run build`\n');
    reply
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');
    return reply.type(f.type).send(f.body);
  };
  app.get('/', (req, reply) => serve(req.url, reply));
  app.get('/index.html', (req, reply) => serve(req.url, reply));
  app.get('/assets/*', (req, reply) => serve(req.url, reply));
}
