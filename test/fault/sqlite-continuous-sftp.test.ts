import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/repository/repository.js';
import { openStorage } from '../../src/storage/registry.js';
import { tempDir } from '../helpers/cli.js';
import { expectEveryCommitRestored, shipThroughFaults, startReplicatedWriter } from '../helpers/continuous-faults.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startSshd, type SshdServer } from '../helpers/servers/sshd.js';

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
    const repo = await Repository.open(await openStorage(location(proxy.port), { remote: remote() }), password);
    const { replicator: r, writer } = await startReplicatedWriter(dir, repo);
    const { lagDuring, lagAfter } = await shipThroughFaults(r, proxy, writer, () => r.nextDelayMs());
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
      await expectEveryCommitRestored(direct, dir, written);
    } finally {
      await direct.close();
    }
  }, 300_000);
});
