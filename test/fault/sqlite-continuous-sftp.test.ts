import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/repository/repository.js';
import { openStorage } from '../../src/storage/registry.js';
import { Replicator } from '../../src/sources/sqlite/continuous/replicator.js';
import { restoreToTime } from '../../src/sources/sqlite/continuous/restore-point.js';
import { tempDir } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startSshd, type SshdServer } from '../helpers/servers/sshd.js';
import { startSequenceWriter } from '../helpers/sequence-writer.js';

/**
 * Continuous protection to SFTP (a real sshd on loopback) through the
 * fault-injecting proxy: while a writer process commits, every connection is
 * dropped and new ones refused for a while, and later the link stalls; the
 * lag grows during the faults, comes back down after them, and the stream
 * holds every committed transaction with no gap (read back straight from the
 * server, not through the proxy).
 */
describe('continuous protection to SFTP through dropped, refused and stalled connections', () => {
  let server: SshdServer;
  let proxy: FaultProxy;
  let dir: string;
  let cleanup: () => Promise<void>;
  let knownHosts: string;
  const password = { kind: 'password' as const, password: Buffer.from('wal sftp fault passphrase'), source: 'test' };
  const remote = () => ({ identityFile: server.clientKey, knownHosts });
  const location = (port: number) => `sftp://root@127.0.0.1:${port}${path.join(server.dir, 'repos', 'wal')}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-fault-wal-sftp-'));
    server = await startSshd();
    proxy = await startFaultProxy(server.port);
    knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(
      knownHosts,
      `[127.0.0.1]:${proxy.port} ${server.hostPublicKey}\n[127.0.0.1]:${server.port} ${server.hostPublicKey}\n`,
    );
    const repo = await Repository.init(
      await openStorage(location(server.port), { create: true, remote: remote() }),
      password.password,
    );
    await repo.close();
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
    await cleanup?.();
  });

  it('lag grows during the faults and recovers; nothing committed is lost', async () => {
    const file = path.join(dir, 'app.db');
    const init = new Database(file);
    init.pragma('journal_mode = WAL');
    init.close();
    const repo = await Repository.open(await openStorage(location(proxy.port), { remote: remote() }), password);
    const r = new Replicator({
      source: 'app',
      path: file,
      repo,
      intervalMs: 1000,
      snapshotEveryMs: 3600_000,
      retentionMs: 24 * 3600_000,
    });
    await r.start();
    const writer = startSequenceWriter({
      file,
      logFile: path.join(dir, 'commits.log'),
      ratePerSecond: 300,
      seconds: 18,
    });
    const t0 = Date.now();
    const lagDuring: number[] = [];
    const lagAfter: number[] = [];
    let phase: 'before' | 'refused' | 'recovering' | 'stalled' | 'after' = 'before';
    while (writer.child.exitCode === null) {
      const t = Date.now() - t0;
      const next =
        t < 3000 ? 'before' : t < 8000 ? 'refused' : t < 11_000 ? 'recovering' : t < 13_000 ? 'stalled' : 'after';
      if (next !== phase) {
        phase = next;
        proxy.setFault(
          phase === 'refused'
            ? { kind: 'refuse' }
            : phase === 'stalled'
              ? { kind: 'stall', ms: 2000 }
              : { kind: 'pass' },
        );
        // The open SSH connection is cut too: the driver must reconnect once the proxy lets it.
        if (phase === 'refused') proxy.dropAll();
      }
      await new Promise((res) => setTimeout(res, r.nextDelayMs()));
      await r.tick().catch(() => {});
      const lag = r.status(true).lagSeconds;
      if (phase === 'refused') lagDuring.push(lag);
      if (phase === 'after') lagAfter.push(lag);
    }
    const written = await writer.done;
    proxy.setFault({ kind: 'pass' });
    // Generous: reconnecting over SSH after the faults takes a few seconds on a shared machine.
    for (let i = 0; i < 50 && r.status(true).unshippedCommits > 0; i++) {
      await new Promise((res) => setTimeout(res, r.nextDelayMs()));
      await r.tick().catch(() => {});
    }
    const { unshipped } = await r.stop();
    await repo.close();
    expect(unshipped).toBe(0);
    expect(r.counters.shipFailures).toBeGreaterThan(0);
    // During the refusal commits wait: the lag passes a few seconds; after the faults it comes back down.
    expect(Math.max(...lagDuring)).toBeGreaterThan(2);
    expect(Math.min(...lagAfter.slice(-5))).toBeLessThan(2);

    const direct = await Repository.open(await openStorage(location(server.port), { remote: remote() }), password);
    try {
      const got = await restoreToTime(direct, { source: 'app', toFile: path.join(dir, 'restored.db') });
      expect(got.record.integrity).toBe('ok');
      const conn = new Database(got.file, { readonly: true });
      const row = conn.prepare('SELECT count(*) AS c, min(n) AS lo, max(n) AS hi FROM seq').get() as {
        c: number;
        lo: number;
        hi: number;
      };
      conn.close();
      expect(row).toEqual({ c: written, lo: 1, hi: written });
    } finally {
      await direct.close();
    }
  }, 300_000);
});
