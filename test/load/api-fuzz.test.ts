import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { Repository } from '../../src/repository/repository.js';
import { openStorage } from '../../src/storage/registry.js';
import { ROOT, tempDir } from '../helpers/cli.js';

/**
 * Abuse of the HTTP API: fast-check builds requests against every route —
 * methods, path parameters, query strings, headers, JSON and non-JSON bodies,
 * with and without a valid token — and sends them over real HTTP to a real
 * daemon holding a real snapshot. Every answer must be 2xx, 3xx or 4xx, never
 * 5xx; no body may carry a stack trace or a path of the code, the repository,
 * the state or a secret file.
 */
const ROUTES = [
  '/',
  '/index.html',
  '/assets/{asset}',
  '/healthz',
  '/metrics',
  '/api/v1/system/backup/status',
  '/api/v1/alerts',
  '/api/v1/events',
  '/api/v1/jobs',
  '/api/v1/jobs/{job}/run',
  '/api/v1/jobs/{job}/runs',
  '/api/v1/drills',
  '/api/v1/drills/reports',
  '/api/v1/drills/reports/{repo}/{id}',
  '/api/v1/repositories',
  '/api/v1/sources',
  '/api/v1/sources/{source}/history',
  '/api/v1/snapshots',
  '/api/v1/snapshots/{repo}/{id}',
  '/api/v1/snapshots/{repo}/{id}/tree',
  '/api/v1/snapshots/{repo}/{id}/file',
  '/api/v1/snapshots/{repo}/{id}/diff',
  '/api/v1/restores',
  '/api/v1/restores/plan',
  '/api/v1/restores/{restore}',
  '/api/v1/{junk}',
  '/{junk}',
];
const QUERY_KEYS = ['limit', 'cursor', 'source', 'repository', 'path', 'with', 'host', 'tag', 'job', 'x'];
const WEIRD = [
  '',
  '..',
  '.',
  '%2e%2e',
  '%2F',
  '%00',
  '%',
  '%zz',
  '\u00e9',
  '😀',
  '-1',
  '0',
  '1e9',
  'null',
  '[]',
  '{}',
  '*',
  'a'.repeat(250),
  '../../etc/passwd',
  '%2e%2e%2f%2e%2e%2fetc',
];

interface Answer {
  status: number;
  body: string;
}

function send(
  base: URL,
  method: string,
  target: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  agent: http.Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path: target,
        headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const stream = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (stream) res.destroy(); // an event stream never ends: its first bytes are enough
        });
        const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${target}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('API fuzzing: never a 5xx, a stack trace or a server path', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let daemon: Daemon;
  let token: string;
  let snapshot: string;
  let forbidden: string[];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-fuzz-'));
    mkdirSync(path.join(dir, 'data', 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'a.txt'), 'alpha\n');
    writeFileSync(path.join(dir, 'data', 'sub', 'b.txt'), 'beta\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'fuzz passphrase\n', { mode: 0o600 });
    await (
      await Repository.init(await openStorage(path.join(dir, 'repo'), { create: true }), Buffer.from('fuzz passphrase'))
    ).close();
    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  files: { type: files, paths: [./data] }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [files], to: local }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, { listen: '127.0.0.1:0', cacheRoot: path.join(dir, 'cache') });
    token = readFileSync(daemon.tokenFile, 'utf8').trim();
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${daemon.url}/api/v1/jobs/nightly/run`, { method: 'POST', headers: auth })).status).toBe(202);
    for (let i = 0; i < 200 && !snapshot; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const list = (await (await fetch(`${daemon.url}/api/v1/snapshots`, { headers: auth })).json()) as {
        snapshots: Array<{ id: string }>;
      };
      snapshot = list.snapshots[0]?.id ?? '';
    }
    expect(snapshot).not.toBe('');
    forbidden = [
      ROOT,
      'node_modules',
      path.join(dir, 'repo'),
      path.join(dir, 'state'),
      path.join(dir, 'repo.pass'),
      daemon.tokenFile,
      token,
    ];
  });
  afterAll(async () => {
    await daemon?.stop();
    agent.destroy();
    await cleanup?.();
  });

  it('answers thousands of generated requests with 2xx-4xx only, and nothing of the server inside', async () => {
    const segment = (valid: string[]) =>
      fc.oneof(
        fc.constantFrom(...valid, ...WEIRD),
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
      );
    const params = {
      job: segment(['nightly', 'missing']),
      repo: segment(['local', 'elsewhere']),
      id: segment([snapshot, snapshot.slice(0, 8), 'latest']),
      source: segment(['files', 'none']),
      restore: segment(['r-1', '00000000']),
      asset: segment(['index.js', 'x.css', '../package.json']),
      junk: segment(['v2', 'admin']),
    };
    const pathArb = fc.constantFrom(...ROUTES).chain((template) => {
      const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as keyof typeof params);
      return fc.tuple(...names.map((n) => params[n])).map((values) => {
        let i = 0;
        return template.replace(/\{\w+\}/g, () =>
          encodeURIComponent(values[i++]!).replace(/%25/g, values[i - 1]!.startsWith('%') ? '%' : '%25'),
        );
      });
    });
    const queryArb = fc
      .array(
        fc.tuple(
          fc.constantFrom(...QUERY_KEYS),
          fc.oneof(
            fc.constantFrom('/', `${dir}/data`, `${dir}/data/a.txt`, snapshot, '5', '-3', '100000', 'abc', ...WEIRD),
            fc.string({ maxLength: 30 }),
          ),
        ),
        { maxLength: 4 },
      )
      .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : ''));
    const authArb = fc.constantFrom<Record<string, string>>(
      { authorization: `Bearer ${token}` },
      { authorization: `Bearer ${token}` },
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${token}` },
      { authorization: `Bearer ${token}x` },
      { authorization: 'Bearer' },
    );
    const restoreBody = fc.record(
      {
        repository: fc.constantFrom('local', 'x', ''),
        snapshot: fc.constantFrom(snapshot, 'latest', 'zz', ''),
        target: fc.constantFrom('relative/dir', '', 'restore-here', `${dir}/data`),
        path: fc.option(fc.constantFrom('/', `${dir}/data`, 'a', '..'), { nil: undefined }),
      },
      { requiredKeys: [] },
    );
    const bodyArb = fc.oneof(
      fc.constant(undefined),
      fc.json().map((j) => ({ type: 'application/json', data: Buffer.from(j) })),
      restoreBody.map((b) => ({ type: 'application/json', data: Buffer.from(JSON.stringify(b)) })),
      fc.string({ maxLength: 200 }).map((s) => ({
        type: fc.sample(
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/octet-stream',
            'garbage/*;;',
            'application/json; charset=latin-7',
          ),
          1,
        )[0]!,
        data: Buffer.from(s),
      })),
      fc.uint8Array({ maxLength: 300 }).map((a) => ({ type: 'application/json', data: Buffer.from(a) })),
      fc.constant({ type: 'application/json', data: Buffer.from(`{"a":"${'x'.repeat(20_000)}"}`) }),
      fc.constant({
        type: 'application/json',
        data: Buffer.from('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}'),
      }),
    );
    const extraHeaders = fc.dictionary(
      fc.constantFrom(
        'accept',
        'accept-encoding',
        'x-forwarded-for',
        'range',
        'if-none-match',
        'content-encoding',
        'expect',
        'origin',
      ),
      fc.constantFrom('*/*', 'gzip', 'bytes=0-3', 'bytes=99-1', 'deflate', '100-continue', 'x'.repeat(100), ''),
      { maxKeys: 3 },
    );
    const base = new URL(daemon.url);
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
        pathArb,
        queryArb,
        authArb,
        bodyArb,
        extraHeaders,
        async (method, p, q, auth, body, extra) => {
          const headers: Record<string, string> = { ...extra, ...auth, ...(body ? { 'content-type': body.type } : {}) };
          if (headers.expect) delete headers.expect; // node's client waits for a 100 it never sends itself
          const target = `${p}${q}`;
          const r = await send(base, method, target, headers, body?.data, agent);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          const sent = `${decodeURIComponentSafe(target)} ${body?.data.toString('utf8') ?? ''}`;
          const what = `${method} ${target} (${r.status}): ${r.body.slice(0, 300)}`;
          expect(r.status, what).toBeGreaterThanOrEqual(200);
          expect(r.status, what).toBeLessThan(500);
          expect(r.body, what).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|\.(?:js|ts|mjs):\d+:\d+/);
          for (const f of forbidden)
            if (!sent.includes(f)) expect(r.body.includes(f), `${what} contains ${f}`).toBe(false);
        },
      ),
      { numRuns: 5000, interruptAfterTimeLimit: 40_000 },
    );
    // The generated requests reached the routes, not only the token check.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(50);
    expect((statuses.get(400) ?? 0) + (statuses.get(413) ?? 0) + (statuses.get(415) ?? 0)).toBeGreaterThan(20);
  }, 90_000);
});

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
