import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../src/repo-server/testing/test-server.js';
import { HttpStorage, createHttpStorage, parseServerUrl } from '../../src/storage/drivers/http/index.js';
import { RetryingStorage, retryingFactory } from '../../src/storage/middleware/index.js';
import { expectCode } from '../../src/storage/testing/conformance.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

/**
 * The repository server behind a fault-injecting TCP proxy: dropped
 * connections (mid-body, either direction), refusals and latency. Whatever the
 * network does, an object is either complete or absent on the server's disk,
 * an append token's retried upload is not mistaken for an overwrite, and the
 * CLI either finishes or fails cleanly leaving a repository that checks clean.
 */
let t: TestServer;
let proxy: FaultProxy;
let dir: string;
let cleanup: () => Promise<void>;
const fast = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 500 };

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-fault-reposerver-'));
  t = await startTestServer([
    { name: 'admin', role: 'admin' },
    { name: 'web-1', role: 'append' },
  ]);
  proxy = await startFaultProxy(Number(new URL(t.server.url.replace('lifeboat+', '')).port));
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await t?.stop();
  await cleanup?.();
});

const viaProxy = () => t.server.url.replace(/:\d+\/repo$/, `:${proxy.port}/repo`);
const client = (token = 'web-1') => new HttpStorage(parseServerUrl(new URL(viaProxy())), t.tokens[token]!);

/** Object files under the server's backend directory, below `sub`, without in-flight temporaries. */
function objectFiles(sub: string): string[] {
  const base = path.join(t.root, sub);
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true })
    .map(String)
    .filter((p) => !path.basename(p).startsWith('.tmp-') && statSync(path.join(base, p)).isFile());
}

describe('repository server through a faulty network', () => {
  it('fails a put cut mid-body as retryable and stores nothing under its name', async () => {
    const storage = client();
    try {
      proxy.setFault({ kind: 'drop-after', bytes: 600_000, direction: 'upstream' });
      proxy.dropAll();
      const err = await expectCode(storage.put('data/ab/cut', randomBytes(3 * 1024 * 1024)), 'storage');
      expect(err.retryable, err.message).toBe(true);
      proxy.setFault({ kind: 'pass' });
      proxy.dropAll();
      await expectCode(storage.stat('data/ab/cut'), 'not_found');
      expect(objectFiles('data').filter((f) => f.endsWith('cut'))).toEqual([]);
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });

  it('a read cut mid-body (downstream) fails as retryable, never as short data', async () => {
    proxy.setFault({ kind: 'pass' });
    const storage = client();
    try {
      const data = randomBytes(2 * 1024 * 1024);
      await storage.put('data/cd/pack', data);
      proxy.setFault({ kind: 'drop-after', bytes: 400_000, direction: 'downstream' });
      proxy.dropAll();
      const err = await expectCode(storage.get('data/cd/pack'), 'storage');
      expect(err.retryable, err.message).toBe(true);
      proxy.setFault({ kind: 'pass' });
      proxy.dropAll();
      expect((await storage.get('data/cd/pack')).equals(data)).toBe(true);
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });

  it('with retries, an append token’s puts complete although connections drop before or after the server stored them', async () => {
    proxy.setFault({ kind: 'pass' });
    const storage = new RetryingStorage(client(), fast);
    try {
      const first = proxy.stats.connections;
      proxy.setFault((conn) =>
        conn < first + 3 ? { kind: 'drop-after', bytes: 300_000, direction: 'either' } : { kind: 'pass' },
      );
      proxy.dropAll();
      const objects = Array.from({ length: 4 }, (_, i) => ({
        name: `data/1${i}/p${i}`,
        data: randomBytes(700_000 + i),
      }));
      await Promise.all(objects.map((o) => storage.put(o.name, o.data)));
      for (const o of objects) expect((await storage.get(o.name)).equals(o.data)).toBe(true);
      expect(proxy.stats.connections).toBeGreaterThan(first + 3);
      for (const o of objects) expect(readFileSync(path.join(t.root, o.name)).equals(o.data)).toBe(true);
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });

  it('an upload whose answer was lost is retried as the same bytes, which the append token may store again', async () => {
    const storage = client();
    try {
      const data = randomBytes(100_000);
      await storage.put('snapshots/s-retry', data);
      await storage.put('snapshots/s-retry', data); // what a retry after a lost 204 sends
      await expectCode(storage.put('snapshots/s-retry', randomBytes(10)), 'append_only');
    } finally {
      await storage.close();
    }
  });

  it('opening is retried while connections are refused', async () => {
    const first = proxy.stats.connections;
    proxy.setFault((conn) => (conn < first + 2 ? { kind: 'refuse' } : { kind: 'pass' }));
    proxy.dropAll();
    const saved = process.env.LIFEBOAT_SERVER_TOKEN;
    process.env.LIFEBOAT_SERVER_TOKEN = t.tokens['web-1'];
    try {
      const storage = await retryingFactory(createHttpStorage, fast)(new URL(viaProxy()), {});
      await storage.put('keys/opened', Buffer.from('x'));
      expect(proxy.stats.connections).toBeGreaterThanOrEqual(first + 3);
      await storage.close();
    } finally {
      if (saved === undefined) delete process.env.LIFEBOAT_SERVER_TOKEN;
      else process.env.LIFEBOAT_SERVER_TOKEN = saved;
      proxy.setFault({ kind: 'pass' });
    }
  });

  it('works with 30 ms of latency each way', async () => {
    proxy.setFault({ kind: 'latency', ms: 30 });
    const storage = client();
    try {
      const data = randomBytes(4 * 1024 * 1024);
      await storage.put('data/ef/big', data);
      expect((await storage.getRange('data/ef/big', 1000, 2_000_000)).equals(data.subarray(1000, 2_001_000))).toBe(
        true,
      );
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });
});

describe('CLI backup through the repository server with connections dropped every ~500 KB', () => {
  const show = (r: CliResult) => `exit ${r.code} ${r.signal ?? ''}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;
  let src: string;
  let repoDir: string;
  const lb = (url: string, token: string, args: string[]) => {
    const file = path.join(dir, `${token}.token`);
    writeFileSync(file, t.tokens[token]!, { mode: 0o600 });
    return runCli(['--repo', url, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), 'network fault passphrase', { LIFEBOAT_SERVER_TOKEN_FILE: file }),
      timeoutMs: 180_000,
    });
  };

  /** Every pack is named by the SHA-256 of its bytes: read each one straight from the server's disk. */
  function assertNoTruncatedPacks(): number {
    const packs = objectFiles('data');
    for (const p of packs) {
      const bytes = readFileSync(path.join(repoDir, 'data', p));
      expect(createHash('sha256').update(bytes).digest('hex'), p).toBe(path.basename(p));
    }
    return packs.length;
  }

  beforeAll(async () => {
    // A fresh repository on the same server: the storage tests above left objects of their own.
    for (const sub of ['data', 'keys', 'snapshots', 'locks', 'index'])
      await rm(path.join(t.root, sub), { recursive: true, force: true });
    repoDir = t.root;
    src = path.join(dir, 'src');
    mkdirSync(src, { recursive: true });
    const rng = prng(17);
    for (let i = 0; i < 4; i++) writeFileSync(path.join(src, `f${i}.bin`), seededBytes(rng, 1024 * 1024 + i * 4099));
    const init = await lb(t.server.url, 'admin', ['init']);
    expect(init.code, show(init)).toBe(0);
  }, 60_000);

  it('fails cleanly (or completes) when every connection drops after ~500 KB; the repository stays clean', async () => {
    const dropped = proxy.stats.dropped;
    proxy.setFault({ kind: 'drop-after', bytes: 500_000, direction: 'either' });
    const r = await lb(viaProxy(), 'web-1', ['backup', src]);
    proxy.setFault({ kind: 'pass' });
    expect(proxy.stats.dropped).toBeGreaterThan(dropped);
    expect(r.signal, show(r)).toBeNull();
    if (r.code !== 0) expect(r.code, show(r)).toBe(1);
    const check = await lb(t.server.url, 'admin', ['check', '--read-data']);
    expect(check.code, show(check)).toBe(0);
    assertNoTruncatedPacks();
  }, 200_000);

  it('completes thanks to retries when the first connections drop after ~500 KB, and restores byte-identical', async () => {
    const first = proxy.stats.connections;
    proxy.setFault((conn) =>
      conn < first + 4 ? { kind: 'drop-after', bytes: 500_000, direction: 'either' } : { kind: 'pass' },
    );
    proxy.dropAll();
    const r = await lb(viaProxy(), 'web-1', ['backup', src]);
    proxy.setFault({ kind: 'pass' });
    expect(r.code, show(r)).toBe(0);
    const check = await lb(t.server.url, 'admin', ['check', '--read-data']);
    expect(check.code, show(check)).toBe(0);
    expect(assertNoTruncatedPacks()).toBeGreaterThan(0);
    const target = path.join(dir, 'restored');
    const restore = await lb(t.server.url, 'web-1', ['restore', 'latest', '--target', target]);
    expect(restore.code, show(restore)).toBe(0);
    expect(compareTrees(scanTree(src), scanTree(restoredPath(target, src)))).toEqual([]);
  }, 200_000);
});
