import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/registry.js';
import { startDaemon, type Daemon } from './daemon.js';

/**
 * The error answers of the routes the dashboard uses, over real HTTP on
 * loopback against a real repository with two snapshots: unknown snapshots
 * and repositories are 404, snapshot paths with `.`/`..` segments, relative
 * or with a NUL are 400 (and an absolute path that is not in the snapshot is
 * 404, never the server's file), malformed restore bodies are 400 and a
 * restore into anything but a new or empty directory is refused with
 * nothing written. Every error is `{ error: { code, message } }`.
 */
describe('dashboard routes: error answers', () => {
  let dir: string;
  let daemon: Daemon;
  let token: string;
  let first: string;
  let second: string;
  const UNKNOWN = 'f'.repeat(64);

  const call = async (
    pathname: string,
    init: { method?: string; body?: string; type?: string; auth?: boolean } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (init.auth !== false) headers.authorization = `Bearer ${token}`;
    if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
    const res = await fetch(`${daemon.url}${pathname}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      json: () => JSON.parse(text) as { error: { code: string; message: string } } & Record<string, unknown>,
    };
  };
  /** A request whose path is sent exactly as written (fetch would resolve `..` segments first). */
  const raw = (pathname: string, auth = true) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const u = new URL(daemon.url);
      const req = http.request(
        { host: u.hostname, port: u.port, path: pathname, headers: auth ? { authorization: `Bearer ${token}` } : {} },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject).end();
    });
  const expectError = (
    r: { status: number; json: () => { error: { code: string; message: string } } },
    status: number,
    code: string,
    message?: RegExp,
  ) => {
    expect(r.status).toBe(status);
    const body = r.json();
    expect(body.error.code).toBe(code);
    if (message) expect(body.error.message).toMatch(message);
  };
  const snap = (id: string, rest = '') => `/api/v1/snapshots/local/${id}${rest}`;
  const restoreBody = (over: Record<string, unknown>) =>
    JSON.stringify({ repository: 'local', snapshot: second, target: path.join(dir, 'out', 'fresh'), ...over });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-routes-'));
    mkdirSync(path.join(dir, 'data', 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'a.txt'), 'hello\n');
    writeFileSync(path.join(dir, 'data', 'sub', 'b.txt'), 'inner\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'routes test passphrase\n', { mode: 0o600 });
    const repo = await Repository.init(
      await openStorage(path.join(dir, 'repo'), { create: true }),
      Buffer.from('routes test passphrase'),
    );
    await repo.close();
    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  files: { type: files, paths: [./data] }
jobs:
  nightly: { sources: [files], to: local }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, { listen: '127.0.0.1:0', cacheRoot: path.join(dir, 'cache') });
    token = readFileSync(daemon.tokenFile, 'utf8').trim();
    for (let i = 0; i < 2; i++) {
      const started = await call('/api/v1/jobs/nightly/run', { method: 'POST' });
      expect(started.status).toBe(202);
      const runId = started.json().run_id as string;
      for (let t = 0; ; t++) {
        const runs = (await call('/api/v1/jobs/nightly/runs')).json().runs as Array<{ id: string; outcome: string }>;
        const run = runs.find((r) => r.id === runId);
        if (run && run.outcome !== 'running') {
          expect(run.outcome).toBe('ok');
          break;
        }
        if (t > 400) throw new Error('the backup run did not finish');
        await new Promise((r) => setTimeout(r, 50));
      }
      writeFileSync(path.join(dir, 'data', 'a.txt'), 'hello again\n');
    }
    const list = (await call('/api/v1/snapshots')).json().snapshots as Array<{ id: string }>;
    expect(list).toHaveLength(2);
    [second, first] = [list[0]!.id, list[1]!.id];
  });

  afterAll(async () => {
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 404 for an unknown snapshot, repository, drill report or restore, on every route that names one', async () => {
    expect((await call(snap(second))).status).toBe(200);
    for (const p of [
      snap(UNKNOWN),
      snap(UNKNOWN, '/tree'),
      snap(UNKNOWN, '/tree?path=/'),
      snap(UNKNOWN, `/file?path=${encodeURIComponent(path.join(dir, 'data', 'a.txt'))}`),
      snap(UNKNOWN, `/diff?with=${second}`),
      snap(first, `/diff?with=${UNKNOWN}`),
    ]) {
      expectError(await call(p), 404, 'not_found', /no snapshot f{16} in repository "local"/);
    }
    // a prefix is not an id: the dashboard only ever links full ids
    expectError(await call(snap(second.slice(0, 8))), 404, 'not_found');
    expectError(
      await call(`/api/v1/snapshots/elsewhere/${second}`),
      404,
      'not_found',
      /no repository named "elsewhere"/,
    );
    expectError(await call(`/api/v1/snapshots/elsewhere/${second}/tree?path=/`), 404, 'not_found');
    expectError(await call(`/api/v1/drills/reports/local/${UNKNOWN}`), 404, 'not_found');
    expectError(await call(`/api/v1/drills/reports/elsewhere/${UNKNOWN}`), 404, 'not_found');
    expectError(await call('/api/v1/restores/0123456789ab'), 404, 'not_found');
    expectError(await call('/api/v1/sources/ghost/history'), 404, 'not_found');
    expectError(await call(snap(first, '/diff')), 400, 'bad_request', /\?with=/);
    for (const m of ['plan', ''])
      expectError(
        await call(`/api/v1/restores${m && `/${m}`}`, { method: 'POST', body: restoreBody({ snapshot: UNKNOWN }) }),
        404,
        'not_found',
      );
    expect(readdirSync(dir)).not.toContain('out');
  });

  it('refuses snapshot paths with . or .. segments, relative ones and NULs (400), and answers 404 for absolute paths the snapshot does not hold', async () => {
    const data = path.join(dir, 'data');
    const ok = await call(snap(second, `/tree?path=${encodeURIComponent(data)}`));
    expect(ok.status).toBe(200);
    expect((ok.json().entries as Array<{ name: string }>).map((e) => e.name)).toEqual(['a.txt', 'sub']);
    expect((await call(snap(second, `/file?path=${encodeURIComponent(`${data}/a.txt`)}`))).text).toBe('hello again\n');

    const bad = [
      '..',
      '../etc/passwd',
      '/..',
      `${data}/..`,
      `${data}/../../..`,
      `${data}/sub/../a.txt`,
      `${data}/./a.txt`,
      '.',
      'etc/passwd',
      'a.txt',
      `${data}/a.txt\0`,
    ];
    for (const p of bad) {
      for (const route of ['tree', 'file']) {
        const r = await call(snap(second, `/${route}?path=${encodeURIComponent(p)}`));
        expect(r.status, `${route}?path=${JSON.stringify(p)}`).toBe(400);
        expect(r.json().error.code).toBe('bad_request');
      }
    }
    expectError(await call(snap(second, '/file?path=/')), 400, 'bad_request');
    expectError(await call(snap(second, '/file?path=')), 400, 'bad_request');
    expectError(
      await call(snap(second, `/file?path=${encodeURIComponent(data)}`)),
      400,
      'bad_request',
      /is a dir, not a file/,
    );
    expectError(
      await call(snap(second, `/tree?path=${encodeURIComponent(`${data}/a.txt`)}`)),
      400,
      'bad_request',
      /is a file, not a directory/,
    );

    // absolute paths outside what was backed up name nothing in the snapshot: never the server's own files
    for (const p of ['/etc/passwd', '/etc', path.join(dir, 'repo.pass'), `${data}/missing.txt`]) {
      for (const route of ['tree', 'file']) {
        const r = await call(snap(second, `/${route}?path=${encodeURIComponent(p)}`));
        expect(r.status, `${route}?path=${p}`).toBe(404);
        expect(r.json().error.code).toBe('not_found');
        expect(r.text).not.toMatch(/root:|routes test passphrase/);
      }
    }
  });

  it('serves only the built dashboard files without a token, whatever the path says', async () => {
    for (const p of [
      '/assets/../lifeboat.yaml',
      '/assets/../../package.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/../state/api.token',
    ]) {
      const anonymous = await raw(p, false);
      expect(anonymous.status, p).toBe(401);
      const authed = await raw(p);
      expect(authed.status, p).toBe(404);
      expect(authed.text).not.toContain(token);
      expect(authed.text).not.toMatch(/"name": "lifeboat"|password_file/);
    }
  });

  it('answers 400 to malformed restore bodies, on the plan and on the restore, and writes nothing', async () => {
    const bodies: Array<[string, string, RegExp]> = [
      ['not JSON', '{"repository": "local",', /JSON/i],
      ['JSON null', 'null', /give repository, snapshot and target/],
      ['an array', '[]', /give repository, snapshot and target/],
      ['a string', '"restore please"', /give repository, snapshot and target/],
      ['no target', JSON.stringify({ repository: 'local', snapshot: second }), /give repository, snapshot and target/],
      [
        'no snapshot',
        JSON.stringify({ repository: 'local', target: path.join(dir, 'out', 'fresh') }),
        /give repository, snapshot and target/,
      ],
      ['a number as target', restoreBody({ target: 7 }), /give repository, snapshot and target/],
      [
        'an object as repository',
        restoreBody({ repository: { name: 'local' } }),
        /give repository, snapshot and target/,
      ],
      ['a number as path', restoreBody({ path: 3 }), /path must be a string/],
      ['a path with ..', restoreBody({ path: `${dir}/data/../../etc` }), /path must be an absolute snapshot path/],
      ['a relative path', restoreBody({ path: 'data/a.txt' }), /path must be an absolute snapshot path/],
      ['a relative target', restoreBody({ target: 'out/fresh' }), /target must be an absolute path/],
      ['a target with a NUL', restoreBody({ target: `${dir}/out\0x` }), /target must be an absolute path/],
    ];
    for (const route of ['/api/v1/restores/plan', '/api/v1/restores']) {
      for (const [what, body, message] of bodies) {
        const r = await call(route, { method: 'POST', body });
        expect(r.status, `${route} with ${what}: ${r.text}`).toBe(400);
        expect(r.json().error.code).toBe('bad_request');
        expect(r.json().error.message).toMatch(message);
      }
      // a well-formed body sent as text is a string, not the object asked for
      expectError(
        await call(route, { method: 'POST', body: restoreBody({}), type: 'text/plain' }),
        400,
        'bad_request',
        /give repository, snapshot and target/,
      );
      expect(
        (await call(route, { method: 'POST', body: restoreBody({}), type: 'application/x-www-form-urlencoded' }))
          .status,
      ).toBe(415);
      expectError(
        await call(route, { method: 'POST', body: restoreBody({ pad: 'x'.repeat(20_000) }) }),
        413,
        'payload_too_large',
      );
    }
    expect(readdirSync(dir).sort()).toEqual(['cache', 'data', 'repo', 'repo.pass', 'state']);
    expect(readdirSync(process.cwd())).not.toContain('out');
  });

  it('refuses a restore outside the temp base and server.restore_roots, through a symlink, or into the repository', async () => {
    symlinkSync('/etc', path.join(dir, 'to-etc'));
    const cases: Array<[string, string, RegExp]> = [
      [
        'outside every restore root',
        '/srv/lifeboat-not-a-root/out',
        /not below a directory the API may restore into .*server\.restore_roots/,
      ],
      ['a symlinked target', path.join(dir, 'to-etc'), /is a symlink/],
      [
        'below a symlinked directory',
        path.join(dir, 'to-etc', 'cron.d', 'new'),
        /\/etc\/cron\.d\/new is not below a directory the API may restore into/,
      ],
      ['inside the repository', path.join(dir, 'repo', 'restored'), /inside the repository/],
      ['the repository itself', path.join(dir, 'repo'), /inside the repository/],
    ];
    for (const route of ['/api/v1/restores/plan', '/api/v1/restores']) {
      for (const [what, target, message] of cases) {
        const r = await call(route, { method: 'POST', body: restoreBody({ target }) });
        expect(r.status, `${route} into ${what}: ${r.text}`).toBe(400);
        expect(r.json().error.message, what).toMatch(message);
      }
    }
    expect(existsSync('/srv/lifeboat-not-a-root')).toBe(false);
    expect(existsSync('/etc/cron.d/new')).toBe(false);
    expect(existsSync(path.join(dir, 'repo', 'restored'))).toBe(false);
    rmSync(path.join(dir, 'to-etc'));
  });

  it('refuses a restore into a directory that is not empty or into a file, and leaves them as they were', async () => {
    const full = path.join(dir, 'full');
    mkdirSync(full);
    writeFileSync(path.join(full, 'keep.txt'), 'mine\n');
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'a file\n');
    for (const route of ['/api/v1/restores/plan', '/api/v1/restores']) {
      expectError(
        await call(route, { method: 'POST', body: restoreBody({ target: full }) }),
        400,
        'bad_request',
        /is not empty; restore into a new or empty directory/,
      );
      expectError(
        await call(route, { method: 'POST', body: restoreBody({ target: `${full}/` }) }),
        400,
        'bad_request',
        /is not empty/,
      );
      expectError(
        await call(route, { method: 'POST', body: restoreBody({ target: file }) }),
        400,
        'bad_request',
        /exists and is not a directory/,
      );
    }
    expect(readdirSync(full)).toEqual(['keep.txt']);
    expect(readFileSync(path.join(full, 'keep.txt'), 'utf8')).toBe('mine\n');
    expect(readFileSync(file, 'utf8')).toBe('a file\n');

    // the same body into an empty directory is accepted: the refusals above were about the target alone
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const plan = await call('/api/v1/restores/plan', { method: 'POST', body: restoreBody({ target: empty }) });
    expect(plan.status).toBe(200);
    expect(plan.json()).toMatchObject({ target: empty, files: 2, path: '/' });
    expect(readdirSync(empty)).toEqual([]);
  });
});
