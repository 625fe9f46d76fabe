import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCode } from '../storage/testing/conformance.js';
import { startRepositoryServer } from './start.js';
import { startTestServer, type TestServer } from './testing/test-server.js';
import type { AuditEntry } from './audit.js';
import { pathToFileURL } from 'node:url';
import { createMemoryStorage } from '../storage/drivers/memory/index.js';
import { createLocalStorage } from '../storage/drivers/local/index.js';
import { HttpStorage, parseServerUrl } from '../storage/drivers/http/index.js';
import { openStorage } from '../storage/registry.js';

/**
 * Storage-side enforcement, as a compromised host would meet it: the storage
 * API called directly with an append token (no client-side checks in the way).
 */
describe('repository server: append-only tokens', () => {
  let t: TestServer;
  const audit = (): AuditEntry[] =>
    readFileSync(t.server.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);

  beforeEach(async () => {
    t = await startTestServer([
      { name: 'admin', role: 'admin' },
      { name: 'web-1', role: 'append' },
      { name: 'web-2', role: 'append' },
      { name: 'small', role: 'append', quotaBytes: 1000 },
    ]);
  });
  afterEach(async () => {
    await t.stop();
  });

  it('adds and reads new objects but refuses deleting or overwriting them, and stores nothing refused', async () => {
    const web = t.client('web-1');
    await web.put('data/ab/pack1', Buffer.from('pack one'));
    await web.put('snapshots/s1', Buffer.from('snapshot one'));
    expect((await web.get('data/ab/pack1')).toString()).toBe('pack one');
    expect((await web.getRange('data/ab/pack1', 5, 3)).toString()).toBe('one');
    expect(await web.stat('snapshots/s1')).toEqual({ name: 'snapshots/s1', size: 12 });

    const overwrite = await expectCode(web.put('snapshots/s1', Buffer.from('forged')), 'append_only');
    expect(overwrite.hint).toMatch(/admin token/);
    await expectCode(web.remove('data/ab/pack1'), 'append_only');
    await expectCode(web.remove('snapshots/s1'), 'append_only');
    // An index written by an admin cannot be replaced by one that drops entries.
    await t.client('admin').put('index/i1', Buffer.from('entries a b c'));
    await expectCode(web.put('index/i1', Buffer.from('entries a')), 'append_only');
    await expectCode(web.removeStaleTemporaries!(0), 'append_only');

    expect((await web.get('snapshots/s1')).toString()).toBe('snapshot one');
    expect((await web.get('data/ab/pack1')).toString()).toBe('pack one');
    expect((await web.get('index/i1')).toString()).toBe('entries a b c');

    const refused = audit().filter((e) => e.status === 403);
    expect(refused.map((e) => [e.token, e.method, e.path, e.result])).toEqual([
      ['web-1', 'PUT', '/repo/v1/objects/snapshots/s1', 'append_only'],
      ['web-1', 'DELETE', '/repo/v1/objects/data/ab/pack1', 'append_only'],
      ['web-1', 'DELETE', '/repo/v1/objects/snapshots/s1', 'append_only'],
      ['web-1', 'PUT', '/repo/v1/objects/index/i1', 'append_only'],
      ['web-1', 'POST', '/repo/v1/stale-temporaries', 'append_only'],
    ]);
  });

  it("tells each client its token's role, and the driver opened by URL carries it through the retrying layer", async () => {
    expect(await t.client('web-1').info()).toEqual({ temporaries: true, role: 'append' });
    expect((await t.client('admin').info()).role).toBe('admin');
    const saved = process.env.LIFEBOAT_SERVER_TOKEN;
    try {
      for (const [name, role] of [
        ['web-2', 'append'],
        ['admin', 'admin'],
      ] as const) {
        process.env.LIFEBOAT_SERVER_TOKEN = t.tokens[name];
        const storage = await openStorage(t.server.url);
        expect(storage.accessRole).toBe(role);
        await storage.close();
      }
    } finally {
      if (saved === undefined) delete process.env.LIFEBOAT_SERVER_TOKEN;
      else process.env.LIFEBOAT_SERVER_TOKEN = saved;
    }
  });

  it('accepts storing the exact bytes an object holds (a retried upload) without writing', async () => {
    const web = t.client('web-1');
    await web.put('data/cd/pack', Buffer.from('same bytes'));
    await web.put('data/cd/pack', Buffer.from('same bytes'));
    expect((await web.get('data/cd/pack')).toString()).toBe('same bytes');
  });

  it('lets a token remove only the locks it created; another host’s lock is refused', async () => {
    const web1 = t.client('web-1');
    const web2 = t.client('web-2');
    await web1.put('locks/l1', Buffer.from('lock of web-1'));
    await web2.put('locks/l2', Buffer.from('lock of web-2'));
    await t.client('admin').put('locks/l3', Buffer.from('lock of an admin'));
    await expectCode(web1.remove('locks/l2'), 'append_only');
    await expectCode(web1.remove('locks/l3'), 'append_only');
    await web1.remove('locks/l1');
    await web1.remove('locks/l1'); // idempotent: nothing left to delete
    expect((await web1.list('locks/')).map((o) => o.name).sort()).toEqual(['locks/l2', 'locks/l3']);
    await web2.remove('locks/l2');
    await t.client('admin').remove('locks/l3');
    expect(await web1.list('locks/')).toEqual([]);
  });

  it('keeps lock ownership across a restart of the server (the ledger is on disk)', async () => {
    await t.client('web-1').put('locks/keep', Buffer.from('x'));
    await t.client('web-2').put('locks/other', Buffer.from('y'));
    const ledger = JSON.parse(readFileSync(`${t.stateDir}/ledger.json`, 'utf8')) as { locks: Record<string, string> };
    expect(ledger.locks).toEqual({ 'locks/keep': 'web-1', 'locks/other': 'web-2' });
    // A second server process over the same backend and state directory.
    const storage = await createLocalStorage(pathToFileURL(t.root), {});
    const again = await startRepositoryServer({
      storage,
      name: 'repo',
      listen: '127.0.0.1:0',
      stateDir: t.stateDir,
      log: () => undefined,
    });
    try {
      const web1 = new HttpStorage(parseServerUrl(new URL(again.url)), t.tokens['web-1']!);
      await expectCode(web1.remove('locks/other'), 'append_only');
      await web1.remove('locks/keep');
      expect((await web1.list('locks/')).map((o) => o.name)).toEqual(['locks/other']);
    } finally {
      await again.close();
      await storage.close();
    }
  });

  it('refuses a write past the token quota with quota_exceeded (HTTP 507), audited', async () => {
    const small = t.client('small');
    await small.put('data/ab/a', Buffer.alloc(600));
    const err = await expectCode(small.put('data/ab/b', Buffer.alloc(600)), 'quota_exceeded');
    expect(err.message).toMatch(/quota of token small \(600 of 1000 bytes used\)/);
    expect(err.context.status).toBe(507);
    await expectCode(small.stat('data/ab/b'), 'not_found');
    await small.put('data/ab/c', Buffer.alloc(400)); // exactly up to the quota
    const line = audit().find((e) => e.path.endsWith('data/ab/b'))!;
    expect(line).toMatchObject({ token: 'small', method: 'PUT', bytes: 600, status: 507, result: 'quota_exceeded' });
  });

  it('refuses a missing or unknown token (401) and audits it without the token', async () => {
    const res = await fetch(`${t.server.url.replace('lifeboat+', '')}/v1/list?prefix=`, {
      headers: { authorization: 'Bearer lbs_not-a-real-token' },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_password');
    const noAuth = await fetch(`${t.server.url.replace('lifeboat+', '')}/v1/objects/config`, { method: 'DELETE' });
    expect(noAuth.status).toBe(401);
    const lines = readFileSync(t.server.auditFile, 'utf8');
    expect(lines).not.toContain('lbs_not-a-real-token');
    expect(audit().map((e) => [e.token, e.method, e.status, e.result])).toEqual([
      ['-', 'GET', 401, 'unauthorized'],
      ['-', 'DELETE', 401, 'unauthorized'],
    ]);
    for (const secret of Object.values(t.tokens)) expect(lines).not.toContain(secret);
  });

  it('audits every write with time, token name, method, path, bytes and result', async () => {
    await t.client('web-1').put('data/ab/x', Buffer.alloc(42));
    await t.client('admin').remove('data/ab/x');
    const [put, del] = audit();
    expect(put).toMatchObject({
      token: 'web-1',
      method: 'PUT',
      path: '/repo/v1/objects/data/ab/x',
      bytes: 42,
      result: 'ok',
    });
    expect(del).toMatchObject({ token: 'admin', method: 'DELETE', path: '/repo/v1/objects/data/ab/x', result: 'ok' });
    expect(Date.parse(put!.time)).not.toBeNaN();
  });

  it('answers a client of another repository name with repository_not_found', async () => {
    const other = new HttpStorage(parseServerUrl(new URL(t.server.url.replace(/\/repo$/, '/other'))), t.tokens.admin!);
    await expectCode(other.list(''), 'repository_not_found');
  });

  it('serves /metrics to admins only, with requests, bytes, refusals and quota use', async () => {
    const base = t.server.url.replace('lifeboat+', '').replace(/\/repo$/, '');
    await t.client('small').put('data/ab/m', Buffer.alloc(100));
    await t.client('small').get('data/ab/m');
    await expectCode(t.client('web-1').remove('data/ab/m'), 'append_only');
    const asAppend = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${t.tokens['web-1']}` } });
    expect(asAppend.status).toBe(403);
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${t.tokens.admin}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('lifeboat_repository_server_requests_total{op="put",result="ok"} 1');
    expect(text).toContain('lifeboat_repository_server_requests_total{op="remove",result="append_only"} 1');
    expect(text).toContain('lifeboat_repository_server_received_bytes_total{token="small"} 100');
    expect(text).toContain('lifeboat_repository_server_sent_bytes_total{token="small"} 100');
    expect(text).toContain('lifeboat_repository_server_refused_total{reason="append_only"} 2');
    expect(text).toContain('lifeboat_repository_server_quota_used_bytes{token="small",role="append"} 100');
    expect(text).toContain('lifeboat_repository_server_quota_limit_bytes{token="small"} 1000');
  });
});

describe('repository server: listening', () => {
  it('refuses plain HTTP on a non-loopback address, with a hint to use TLS', async () => {
    const storage = await createMemoryStorage(new URL('memory://listen-test'), {});
    const err = await expectCode(
      startRepositoryServer({
        storage,
        name: 'repo',
        listen: '0.0.0.0:0',
        stateDir: '/nonexistent',
        log: () => undefined,
      }),
      'usage',
    );
    expect(err.message).toMatch(/refusing to serve plain HTTP on 0\.0\.0\.0:0/);
    expect(err.hint).toMatch(/--tls-cert and --tls-key/);
  });
});
