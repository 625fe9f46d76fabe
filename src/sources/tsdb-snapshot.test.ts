import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { expectCode } from '../storage/testing/conformance.js';
import { tsdbJson, tsdbRequest } from './tsdb-http.js';
import { linkTree, resolveSnapshotTree } from './tsdb-snapshot.js';
import { freeLoopbackPort } from './throwaway-server.js';

describe('snapshot trees', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-tsdb-tree-'));
    // A data directory shaped like VictoriaMetrics': the snapshot links to parts elsewhere in it.
    await mkdir(path.join(root, 'data/parts/snapshots/S1/2026_01/p1'), { recursive: true });
    await writeFile(path.join(root, 'data/parts/snapshots/S1/2026_01/p1/values.bin'), 'values');
    await mkdir(path.join(root, 'data/snapshots/S1/data'), { recursive: true });
    await mkdir(path.join(root, 'data/snapshots/S1/metadata'), { recursive: true });
    await writeFile(path.join(root, 'data/snapshots/S1/metadata/min'), 'm');
    await symlink('../../../parts/snapshots/S1', path.join(root, 'data/snapshots/S1/data/small'));
    await mkdir(path.join(root, 'data/snapshots/plain/block'), { recursive: true });
    await writeFile(path.join(root, 'data/snapshots/plain/block/index'), 'i');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('replaces symlinks by their targets and keeps symlink-free directories whole', async () => {
    const parts = await resolveSnapshotTree(path.join(root, 'data/snapshots/S1'), path.join(root, 'data'));
    expect(parts.map((p) => [p.rel, path.relative(root, p.from)])).toEqual([
      ['data/small', 'data/parts/snapshots/S1'],
      ['metadata', 'data/snapshots/S1/metadata'],
    ]);
    const plain = await resolveSnapshotTree(path.join(root, 'data/snapshots/plain'), path.join(root, 'data'));
    expect(plain).toEqual([{ from: path.join(root, 'data/snapshots/plain'), rel: '' }]);
  });

  it('refuses a link that leaves the data directory', async () => {
    const dir = path.join(root, 'data/snapshots/escaping');
    await mkdir(dir, { recursive: true });
    await symlink('/etc', path.join(dir, 'etc'));
    const err = await expectCode(resolveSnapshotTree(dir, path.join(root, 'data')), ErrorCode.SourceFailed);
    expect(err.message).toContain('outside the data directory');
  });

  it('rebuilds the pieces as one tree of hard links', async () => {
    const parts = await resolveSnapshotTree(path.join(root, 'data/snapshots/S1'), path.join(root, 'data'));
    const copy = path.join(root, 'copy');
    await linkTree(parts, copy);
    const linked = path.join(copy, 'data/small/2026_01/p1/values.bin');
    expect(await readFile(linked, 'utf8')).toBe('values');
    expect((await stat(linked)).ino).toBe(
      (await stat(path.join(root, 'data/parts/snapshots/S1/2026_01/p1/values.bin'))).ino,
    );
    expect(await readFile(path.join(copy, 'metadata/min'), 'utf8')).toBe('m');
  });
});

describe('time-series HTTP calls', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<string | undefined> = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.url === '/slow') return void setTimeout(() => res.end('{}'), 2_000);
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end(req.url === '/fail' ? '{"error":"disk full"}' : '{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends credentials from the URL as Basic authentication and never shows them', async () => {
    const withAuth = base.replace('http://', 'http://ops:p%40ss-w0rd@');
    expect(await tsdbJson(withAuth, '/ok', { purpose: 'testing' })).toEqual({ ok: true });
    expect(seen.at(-1)).toBe(`Basic ${Buffer.from('ops:p@ss-w0rd').toString('base64')}`);
    const err = await expectCode(tsdbJson(withAuth, '/fail', { purpose: 'testing' }), ErrorCode.SourceFailed);
    expect(err.message).toContain('HTTP 500');
    expect(err.message).toContain('disk full');
    expect(err.message).not.toContain('p@ss');
    expect(err.message).not.toContain('p%40ss');
  });

  it('gives up after the timeout with a clear message', async () => {
    const err = await expectCode(
      tsdbRequest(base, '/slow', { purpose: 'testing', timeoutMs: 200 }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('no answer within');
  });

  it('reports an unreachable server with the reason', async () => {
    const err = await expectCode(
      tsdbRequest(`http://127.0.0.1:${await freeLoopbackPort()}`, '/x', { purpose: 'testing' }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('ECONNREFUSED');
  });
});
