import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/registry.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * The S3 driver behind the fault-injecting TCP proxy, through the built CLI:
 * a backup whose connections drop every ~500 KB either completes or fails
 * cleanly, and the repository read directly from the server checks clean with
 * no truncated pack under data/.
 */
describe('CLI backup to S3 through connections dropped every ~500 KB', () => {
  let server: S3Server;
  let proxy: FaultProxy;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let src: string;
  const bucket = 'lifeboat-fault';
  const prefix = 'backups/net';
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
      }),
      timeoutMs: 180_000,
    });
  const show = (r: CliResult) => `exit ${r.code} ${r.signal ?? ''}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;
  const direct = () => ({
    endpoint: server.endpoint,
    region: 'us-east-1',
    pathStyle: true,
    credentialsFile: server.credentialsFile,
  });

  /** Every pack is named by the SHA-256 of its bytes: read each one straight from the server. */
  async function assertNoTruncatedPacks(): Promise<number> {
    const storage = await openStorage(`s3://${bucket}/${prefix}`, { remote: direct() });
    try {
      const packs = await storage.list('data/');
      for (const p of packs) {
        const bytes = await storage.get(p.name);
        expect(createHash('sha256').update(bytes).digest('hex'), p.name).toBe(path.basename(p.name));
      }
      return packs.length;
    } finally {
      await storage.close();
    }
  }

  beforeAll(async () => {
    server = await startS3Server();
    proxy = await startFaultProxy(server.port);
    ({ dir, cleanup } = await tempDir('lifeboat-fault-s3-'));
    src = path.join(dir, 'src');
    mkdirSync(src, { recursive: true });
    const rng = prng(11);
    for (let i = 0; i < 4; i++) writeFileSync(path.join(src, `f${i}.bin`), seededBytes(rng, 1024 * 1024 + i * 4099));
    writeFileSync(path.join(dir, 'repo.pass'), 'network fault passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    const repo = (port: number) =>
      `{ url: "s3://${bucket}/${prefix}", endpoint: "http://127.0.0.1:${port}", region: us-east-1, path_style: true, credentials_file: "${server.credentialsFile}", password_file: repo.pass }`;
    writeFileSync(config, `version: 1\nrepositories:\n  off: ${repo(proxy.port)}\n  direct: ${repo(server.port)}\n`);
    const init = await lb(['init', '--repo', 'direct']);
    expect(init.code, show(init)).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
    await cleanup?.();
  });

  it('fails cleanly (or completes) when every connection drops after ~500 KB; the repository stays clean', async () => {
    const dropped = proxy.stats.dropped;
    proxy.setFault({ kind: 'drop-after', bytes: 500_000, direction: 'either' });
    const r = await lb(['backup', '--repo', 'off', src]);
    proxy.setFault({ kind: 'pass' });
    expect(proxy.stats.dropped).toBeGreaterThan(dropped);
    expect(r.signal, show(r)).toBeNull();
    if (r.code !== 0) expect(r.code, show(r)).toBe(1);
    const check = await lb(['check', '--read-data', '--repo', 'direct']);
    expect(check.code, show(check)).toBe(0);
    await assertNoTruncatedPacks();
  }, 200_000);

  it('completes thanks to retries when the first connections drop after ~500 KB, and restores byte-identical', async () => {
    const first = proxy.stats.connections;
    proxy.setFault((conn) =>
      conn < first + 4 ? { kind: 'drop-after', bytes: 500_000, direction: 'either' } : { kind: 'pass' },
    );
    const r = await lb(['backup', '--repo', 'off', src]);
    proxy.setFault({ kind: 'pass' });
    expect(r.code, show(r)).toBe(0);
    const check = await lb(['check', '--read-data', '--repo', 'direct']);
    expect(check.code, show(check)).toBe(0);
    expect(await assertNoTruncatedPacks()).toBeGreaterThan(0);
    const target = path.join(dir, 'restored');
    await rm(target, { recursive: true, force: true });
    const restore = await lb(['restore', 'latest', '--repo', 'direct', '--target', target]);
    expect(restore.code, show(restore)).toBe(0);
    expect(compareTrees(scanTree(src), scanTree(restoredPath(target, src)))).toEqual([]);
  }, 200_000);
});
