import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/archiver/backup.js';
import { check } from '../../src/checker/check.js';
import { ErrorCode } from '../../src/errors/index.js';
import { prune } from '../../src/pruner/prune.js';
import { renderRecoveryKey } from '../../src/repository/crypto/index.js';
import { Repository } from '../../src/repository/repository.js';
import { restore } from '../../src/restorer/restore.js';
import type { Storage } from '../../src/storage/contract.js';
import { createSftpStorage } from '../../src/storage/drivers/sftp/index.js';
import { FaultyStorage } from '../../src/storage/middleware/index.js';
import { openStorage } from '../../src/storage/registry.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor, prng, seededBytes } from '../helpers/e2e.js';
import { startLyingS3Proxy, type LyingS3Proxy } from '../helpers/lying-s3-proxy.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';
import { startSshd, type SshdServer } from '../helpers/servers/sshd.js';

/**
 * Prune against real servers whose listings lie: S3 (s3rver) behind a proxy
 * that rewrites ListObjectsV2 answers, and SFTP (OpenSSH) with a directory
 * listing that drops entries. Six snapshots, a listing that shows three: prune
 * refuses, one-shot and with a grace period, deletes nothing, and every one of
 * the six snapshots restores and checks clean with all data read.
 */
const HOUR = 3600_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');

interface Backend {
  /** A storage whose `snapshots/` listing lies (hides `hidden`) or tells the truth. */
  open(lying: boolean): Promise<Storage>;
  hide(ids: string[]): void;
}

function scenario(name: string, backend: () => Backend, dir: () => string): string[] {
  const ids: string[] = [];
  describe(name, () => {
    const sources: Array<{ root: string; files: Map<string, string> }> = [];
    let keyFile: string;
    const openRepo = async (lying: boolean) =>
      Repository.open(await backend().open(lying), { kind: 'key-file', path: keyFile });
    const withRepo = async <T>(lying: boolean, fn: (r: Repository) => Promise<T>): Promise<T> => {
      const repo = await openRepo(lying);
      try {
        return await fn(repo);
      } finally {
        await repo.close();
      }
    };
    const objects = () =>
      withRepo(false, async (r) =>
        [
          ...(await r.storage.list('data/')),
          ...(await r.storage.list('index/')),
          ...(await r.storage.list('snapshots/')),
        ]
          .map((o) => o.name)
          .sort(),
      );

    beforeAll(async () => {
      const repo = await Repository.init(await backend().open(false), Buffer.from('lying listing'), {
        packSize: 16384,
        chunker: { min: 256, avg: 1024, max: 4096 },
      });
      keyFile = path.join(dir(), `${name.replace(/\W+/g, '-')}.key`);
      writeFileSync(keyFile, renderRecoveryKey(repo.id, repo.keys.master));
      await repo.close();
      const rng = prng(7);
      for (let i = 0; i < 6; i++) {
        const root = await mkdtemp(path.join(dir(), `src${i}-`));
        const files = new Map<string, string>();
        for (let j = 0; j < 3; j++) {
          const bytes = seededBytes(rng, 6000 + 1000 * j);
          writeFileSync(path.join(root, `f${j}.bin`), bytes);
          files.set(`f${j}.bin`, createHash('sha256').update(bytes).digest('hex'));
        }
        sources.push({ root, files });
        ids.push((await withRepo(false, (r) => backup(r, { paths: [root] }))).snapshot.id);
      }
      // An earlier prune that saw all six (nothing to delete yet).
      await withRepo(false, (r) => prune(r, { graceMs: 0, now: () => T0 }));
    }, 300_000);

    it('refuses, one-shot and with a grace period, when the listing shows 3 of 6 snapshots; nothing is deleted', async () => {
      backend().hide(ids.slice(0, 3));
      const before = await objects();
      for (const [graceMs, now] of [
        [0, T0 + HOUR],
        [24 * HOUR, T0 + 25 * HOUR],
      ] as const) {
        const err = await withRepo(true, (r) => prune(r, { graceMs, now: () => now })).catch((e: unknown) => e);
        expect(err, `grace ${graceMs}`).toMatchObject({ code: ErrorCode.Refused });
        expect((err as Error).message).toMatch(/snapshot [0-9a-f]{8} .*left it out.*nothing was deleted/);
        expect(await objects()).toEqual(before);
      }
    }, 300_000);

    it('afterwards every one of the 6 snapshots restores and check --read-data passes', async () => {
      await withRepo(false, async (repo) => {
        const { snapshots } = await repo.listSnapshots();
        expect(snapshots.map((s) => s.id).sort()).toEqual([...ids].sort());
        for (const s of snapshots) {
          const source = sources[ids.indexOf(s.id)]!;
          const target = await mkdtemp(path.join(dir(), 'restore-'));
          const result = await restore(repo, s, { target });
          expect(result.errors).toEqual([]);
          for (const [file, hash] of source.files) {
            expect(
              createHash('sha256')
                .update(readFileSync(path.join(target, source.root, file)))
                .digest('hex'),
              `${s.id.slice(0, 8)} ${file}`,
            ).toBe(hash);
          }
        }
        const report = await check(repo, { readDataPercent: 100 });
        expect(report.findings.filter((x) => x.severity === 'error')).toEqual([]);
      });
    }, 300_000);
  });
  return ids;
}

// ---- S3: s3rver behind a proxy that rewrites listings

let s3: S3Server;
let proxy: LyingS3Proxy;
let dir: string;
let cleanup: () => Promise<void>;
let hiddenS3: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-lying-listing-'));
  mkdirSync(dir, { recursive: true });
  s3 = await startS3Server();
  proxy = await startLyingS3Proxy(s3.port);
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await s3?.stop();
  await sftpServer?.stop();
  await cleanup?.();
});

const s3Backend = (bucket: string, mode: () => 'drop' | 'short-page'): Backend => ({
  open: (lying) =>
    openStorage(`s3://${bucket}/repo`, {
      create: true,
      remote: {
        endpoint: lying ? proxy.endpoint : s3.endpoint,
        region: 'us-east-1',
        pathStyle: true,
        credentialsFile: s3.credentialsFile,
      },
    }),
  hide(ids) {
    hiddenS3 = ids;
    proxy.setFault((prefix) => {
      if (!prefix.endsWith('snapshots/')) return { kind: 'pass' };
      // A short page: the proxy keeps the listed keys in the server's order, so hide by count.
      return mode() === 'short-page'
        ? { kind: 'short-page', keep: 3 }
        : { kind: 'drop', drop: (key) => hiddenS3.some((id) => key.endsWith(id)) };
    });
  },
});

const dropped = scenario(
  'S3, keys dropped from the listing',
  () => s3Backend('lying-drop', () => 'drop'),
  () => dir,
);

describe('S3, keys dropped from the listing, through the CLI', () => {
  it('exits 1 naming a left-out snapshot, with a hint, and deletes nothing', async () => {
    s3Backend('lying-drop', () => 'drop').hide(dropped.slice(0, 3));
    writeFileSync(path.join(dir, 'repo.pass'), 'lying listing\n', { mode: 0o600 });
    const config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1\nrepositories:\n  lying: { url: "s3://lying-drop/repo", endpoint: "${proxy.endpoint}", region: us-east-1, path_style: true, credentials_file: "${s3.credentialsFile}", password_file: repo.pass }\n`,
    );
    const direct = await s3Backend('lying-drop', () => 'drop').open(false);
    const before = (await direct.list('data/')).map((o) => o.name).sort();
    const r = await runCli(['--config', config, 'prune', '--repo', 'lying', '--grace', '0'], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
      }),
      timeoutMs: 180_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `snapshot (${dropped
          .slice(0, 3)
          .map((id) => id.slice(0, 8))
          .join('|')}) .*left it out`,
      ),
    );
    expect(r.stderr).toContain('lifeboat check');
    expect((await direct.list('data/')).map((o) => o.name).sort()).toEqual(before);
    await direct.close();
    proxy.setFault(() => ({ kind: 'pass' }));
  }, 300_000);
});
scenario(
  'S3, a short page that says it is the last',
  () => s3Backend('lying-short', () => 'short-page'),
  () => dir,
);

describe('S3, every key listed twice', () => {
  it('prunes with each snapshot counted once', async () => {
    const backend = s3Backend('lying-short', () => 'drop');
    proxy.setFault(() => ({ kind: 'duplicate' }));
    const liesBefore = proxy.lies;
    const keyFile = readdirKey();
    const repo = await Repository.open(await backend.open(true), { kind: 'key-file', path: keyFile });
    try {
      const result = await prune(repo, { graceMs: 0, now: () => T0 + 2 * HOUR });
      expect(result.mark.snapshots).toBe(6);
      expect(result.sweep!.plan.delete).toEqual([]);
    } finally {
      await repo.close();
      proxy.setFault(() => ({ kind: 'pass' }));
    }
    expect(proxy.lies).toBeGreaterThan(liesBefore);
  }, 300_000);
});

function readdirKey(): string {
  return path.join(dir, 'S3-a-short-page-that-says-it-is-the-last.key');
}

// ---- SFTP: OpenSSH, with a directory listing that drops entries

let sftpServer: SshdServer | undefined;
let hiddenSftp: string[] = [];
const sftpBackend: Backend = {
  async open(lying) {
    sftpServer ??= await startSshd();
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${sftpServer.port} ${sftpServer.hostPublicKey}\n`);
    const storage = await createSftpStorage(new URL(sftpServer.url(path.join(sftpServer.dir, 'repo'))), {
      create: true,
      remote: { identityFile: sftpServer.clientKey, knownHosts },
      env: { HOME: dir },
    });
    if (!lying) return storage;
    // The fault only: the real driver lists, this drops entries from what it returns.
    return new FaultyStorage(storage, (op, name) =>
      op === 'list' && name === 'snapshots/'
        ? { kind: 'filter-list', keep: (o) => !hiddenSftp.some((id) => o.name.endsWith(id)) }
        : undefined,
    );
  },
  hide(ids) {
    hiddenSftp = ids;
  },
};
scenario(
  'SFTP, a directory listing that drops entries',
  () => sftpBackend,
  () => dir,
);
