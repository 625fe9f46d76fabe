import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSftpStorage, type SftpStorageOptions } from '../../src/storage/drivers/sftp/index.js';
import { RetryingStorage, retryingFactory } from '../../src/storage/middleware/index.js';
import { expectCode } from '../../src/storage/testing/conformance.js';
import type { Storage } from '../../src/storage/contract.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startSshd, type SshdServer } from '../helpers/servers/sshd.js';

/**
 * The SFTP driver behind a fault-injecting TCP proxy: dropped connections
 * (mid-body, either direction), stalls, refusals and latency. Whatever the
 * network does, an object is either complete or absent, and the CLI either
 * finishes or fails cleanly leaving a repository that checks clean.
 */
let server: SshdServer;
let proxy: FaultProxy;
let dir: string;
let cleanup: () => Promise<void>;
let knownHosts: string;
let counter = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-fault-sftp-'));
  server = await startSshd();
  proxy = await startFaultProxy(server.port);
  // The host key is recorded for both ports: the proxy's and the server's own.
  knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(
    knownHosts,
    `[127.0.0.1]:${proxy.port} ${server.hostPublicKey}\n[127.0.0.1]:${server.port} ${server.hostPublicKey}\n`,
  );
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  await cleanup?.();
});

const viaProxy = (p: string) => `sftp://root@127.0.0.1:${proxy.port}${p}`;
const remote = () => ({ identityFile: server.clientKey, knownHosts });
const fast = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 500 };

async function openViaProxy(options: SftpStorageOptions = {}): Promise<{ storage: Storage; root: string }> {
  const root = path.join(server.dir, 'repos', `n${++counter}`);
  const storage = await createSftpStorage(new URL(viaProxy(root)), {
    create: true,
    remote: remote(),
    env: { HOME: dir },
    ...options,
  });
  return { storage, root };
}

/** Object files on disk (the server is local) below `root/sub`, relative to it, without in-flight temp files. */
function objectFiles(root: string, sub: string): string[] {
  const base = path.join(root, sub);
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true })
    .map(String)
    .filter((p) => !path.basename(p).startsWith('.tmp-') && statSync(path.join(base, p)).isFile());
}

describe('SFTP driver through a faulty network', () => {
  it('reconnects on the next call after the connection dropped', async () => {
    proxy.setFault({ kind: 'pass' });
    const { storage } = await openViaProxy();
    try {
      await storage.put('config', Buffer.from('one'));
      const before = proxy.stats.connections;
      proxy.dropAll();
      await new Promise((r) => setTimeout(r, 100));
      expect((await storage.get('config')).toString()).toBe('one');
      expect(proxy.stats.connections).toBe(before + 1);
    } finally {
      await storage.close();
    }
  });

  it('fails a put cut mid-body as retryable and leaves no object under its name', async () => {
    const { storage, root } = await openViaProxy();
    try {
      proxy.setFault({ kind: 'drop-after', bytes: 600_000, direction: 'upstream' });
      proxy.dropAll(); // the next call connects anew, under the fault
      const data = randomBytes(3 * 1024 * 1024);
      const err = await expectCode(storage.put('data/ab/pack', data), 'storage');
      expect(err.retryable, err.message).toBe(true);
      proxy.setFault({ kind: 'pass' });
      await expectCode(storage.stat('data/ab/pack'), 'not_found');
      expect(await storage.list('data/')).toEqual([]);
      expect(objectFiles(root, 'data')).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('a read cut mid-body (downstream) fails as retryable, never as short data', async () => {
    proxy.setFault({ kind: 'pass' });
    const { storage } = await openViaProxy();
    try {
      const data = randomBytes(2 * 1024 * 1024);
      await storage.put('data/cd/pack', data);
      proxy.setFault({ kind: 'drop-after', bytes: 400_000, direction: 'downstream' });
      proxy.dropAll();
      const err = await expectCode(storage.get('data/cd/pack'), 'storage');
      expect(err.retryable, err.message).toBe(true);
      proxy.setFault({ kind: 'pass' });
      expect((await storage.get('data/cd/pack')).equals(data)).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it('with retries, puts and reads complete although the first connections drop mid-body', async () => {
    proxy.setFault({ kind: 'pass' });
    const { storage: raw, root } = await openViaProxy();
    const storage = new RetryingStorage(raw, fast);
    try {
      const first = proxy.stats.connections;
      proxy.setFault((conn) =>
        conn < first + 3 ? { kind: 'drop-after', bytes: 300_000, direction: 'either' } : { kind: 'pass' },
      );
      proxy.dropAll();
      const objects = Array.from({ length: 4 }, (_, i) => ({
        name: `data/0${i}/p${i}`,
        data: randomBytes(700_000 + i),
      }));
      await Promise.all(objects.map((o) => storage.put(o.name, o.data)));
      for (const o of objects) expect((await storage.get(o.name)).equals(o.data)).toBe(true);
      expect(proxy.stats.connections).toBeGreaterThan(first + 3);
      for (const f of objectFiles(root, 'data')) {
        const o = objects.find((x) => x.name === `data/${f}`);
        expect(o, f).toBeDefined();
        expect(readFileSync(path.join(root, 'data', f)).equals(o!.data)).toBe(true);
      }
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });

  it('a stall shorter than the keepalive limit only slows a put down', async () => {
    proxy.setFault({ kind: 'pass' });
    const { storage } = await openViaProxy({ connection: { keepaliveIntervalMs: 1000 } });
    try {
      const data = randomBytes(500_000);
      proxy.setFault({ kind: 'stall', ms: 1500 });
      const started = Date.now();
      await storage.put('index/i', data);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect((await storage.get('index/i')).equals(data)).toBe(true);
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });

  it('a long stall is detected by keepalives and fails as retryable instead of hanging', async () => {
    proxy.setFault({ kind: 'pass' });
    const { storage } = await openViaProxy({ connection: { keepaliveIntervalMs: 300 } });
    try {
      proxy.setFault({ kind: 'stall', ms: 8000 });
      const started = Date.now();
      const err = await expectCode(storage.put('index/j', randomBytes(100_000)), 'storage');
      expect(err.retryable, err.message).toBe(true);
      expect(Date.now() - started).toBeLessThan(6000);
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  }, 20_000);

  it('opening is retried while connections are refused', async () => {
    const first = proxy.stats.connections;
    proxy.setFault((conn) => (conn < first + 2 ? { kind: 'refuse' } : { kind: 'pass' }));
    const root = path.join(server.dir, 'repos', 'refused');
    const open = retryingFactory(createSftpStorage, fast);
    const storage = await open(new URL(viaProxy(root)), { create: true, remote: remote() });
    try {
      await storage.put('config', Buffer.from('x'));
      expect(proxy.stats.connections).toBe(first + 3);
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });

  it('works with 30 ms of latency each way', async () => {
    proxy.setFault({ kind: 'latency', ms: 30 });
    const { storage } = await openViaProxy();
    try {
      const data = randomBytes(4 * 1024 * 1024);
      const started = Date.now();
      await storage.put('data/ef/big', data);
      expect((await storage.getRange('data/ef/big', 1000, 2_000_000)).equals(data.subarray(1000, 2_001_000))).toBe(
        true,
      );
      // Pipelined: far fewer round trips than one per 32 KiB request (128 + 62 of them).
      expect(Date.now() - started).toBeLessThan(60 * 100);
    } finally {
      proxy.setFault({ kind: 'pass' });
      await storage.close();
    }
  });
});

describe('CLI backup through connections dropped every ~500 KB', () => {
  let config: string;
  let src: string;
  let repoPath: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, { SSH_AUTH_SOCK: undefined }),
      timeoutMs: 180_000,
    });
  const show = (r: CliResult) => `exit ${r.code} ${r.signal ?? ''}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;

  /** Every pack under data/ is named by the SHA-256 of its bytes: a truncated one cannot hide. */
  function assertNoTruncatedPacks(): number {
    const packs = objectFiles(repoPath, 'data');
    for (const p of packs) {
      const bytes = readFileSync(path.join(repoPath, 'data', p));
      expect(createHash('sha256').update(bytes).digest('hex'), `data/${p}`).toBe(path.basename(p));
    }
    return packs.length;
  }

  beforeAll(async () => {
    repoPath = path.join(server.dir, 'cli-repo');
    src = path.join(dir, 'cli-src');
    mkdirSync(src, { recursive: true });
    const rng = prng(7);
    for (let i = 0; i < 4; i++) writeFileSync(path.join(src, `f${i}.bin`), seededBytes(rng, 1024 * 1024 + i * 4099));
    writeFileSync(path.join(dir, 'cli.pass'), 'network fault passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    const repo = (port: number) =>
      `{ url: "sftp://root@127.0.0.1:${port}${repoPath}", identity_file: ${server.clientKey}, known_hosts: ${knownHosts}, password_file: cli.pass }`;
    writeFileSync(config, `version: 1\nrepositories:\n  nas: ${repo(proxy.port)}\n  direct: ${repo(server.port)}\n`);
    proxy.setFault({ kind: 'pass' });
    const init = await lb(['init', '--repo', 'direct']);
    expect(init.code, show(init)).toBe(0);
  }, 60_000);

  it('fails cleanly (or completes) when every connection drops after ~500 KB; the repository stays clean', async () => {
    proxy.setFault({ kind: 'drop-after', bytes: 500_000, direction: 'either' });
    const dropped = proxy.stats.dropped;
    const r = await lb(['backup', '--repo', 'nas', src]);
    proxy.setFault({ kind: 'pass' });
    expect(proxy.stats.dropped).toBeGreaterThan(dropped);
    expect(r.signal, show(r)).toBeNull();
    if (r.code !== 0) {
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr, show(r)).toMatch(/gave up after \d+ attempts/);
    }
    const check = await lb(['check', '--read-data', '--repo', 'direct']);
    expect(check.code, show(check)).toBe(0);
    assertNoTruncatedPacks();
  }, 200_000);

  it('completes thanks to retries when the first connections drop after ~500 KB, and restores byte-identical', async () => {
    const first = proxy.stats.connections;
    proxy.setFault((conn) =>
      conn < first + 4 ? { kind: 'drop-after', bytes: 500_000, direction: 'either' } : { kind: 'pass' },
    );
    const r = await lb(['backup', '--repo', 'nas', src]);
    proxy.setFault({ kind: 'pass' });
    expect(r.code, show(r)).toBe(0);
    expect(proxy.stats.dropped).toBeGreaterThan(0);
    const check = await lb(['check', '--read-data', '--repo', 'direct']);
    expect(check.code, show(check)).toBe(0);
    expect(assertNoTruncatedPacks()).toBeGreaterThan(0);
    const target = path.join(dir, 'cli-restored');
    await rm(target, { recursive: true, force: true });
    const restore = await lb(['restore', 'latest', '--repo', 'direct', '--target', target]);
    expect(restore.code, show(restore)).toBe(0);
    expect(compareTrees(scanTree(src), scanTree(restoredPath(target, src)))).toEqual([]);
  }, 200_000);
});
