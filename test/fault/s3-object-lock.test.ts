import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/archiver/backup.js';
import { check } from '../../src/checker/check.js';
import { ErrorCode } from '../../src/errors/index.js';
import { prune } from '../../src/pruner/prune.js';
import { Repository } from '../../src/repository/repository.js';
import { forget } from '../../src/retention/forget.js';
import type { RemoteSettings } from '../../src/storage/contract.js';
import { openS3Storage } from '../../src/storage/drivers/s3/s3.js';
import { startObjectLockS3Proxy, type ObjectLockS3Proxy } from '../helpers/object-lock-s3-proxy.js';
import { runCli } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * S3 Object Lock against s3rver behind a proxy that plays Object Lock (s3rver
 * has none; see the proxy for what it does and does not enforce). What the
 * driver sent is checked as the server received it. The proxy decides whether
 * a retention is still running by its own clock, which the test moves past
 * the 30 days instead of waiting them.
 */
const DAYS = 30;
const DAY_MS = 86_400_000;
const PASSWORD = Buffer.from('object lock');

let s3: S3Server;
let proxy: ObjectLockS3Proxy;
let dir: string;
let clockOffset = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = await startObjectLockS3Proxy(s3.port, () => Date.now() + clockOffset);
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-object-lock-'));
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const remote = (extra: Partial<RemoteSettings> = {}): RemoteSettings => ({
  endpoint: proxy.endpoint,
  region: 'us-east-1',
  pathStyle: true,
  credentialsFile: s3.credentialsFile,
  objectLock: { mode: 'compliance', days: DAYS },
  ...extra,
});
// Multipart above 1 MiB, so packs of the big file go up in parts.
const open = (bucket: string, create = false, extra: Partial<RemoteSettings> = {}) =>
  openS3Storage(
    new URL(`s3://${bucket}/repo`),
    { create, remote: remote(extra) },
    {
      multipartThreshold: 1024 * 1024,
      partSize: 512 * 1024,
    },
  );

describe('S3 Object Lock', () => {
  it('refuses a bucket without Object Lock enabled, saying why and what to do', async () => {
    const plain = await openS3Storage(new URL('s3://plain/repo'), {
      create: true,
      remote: { ...remote(), endpoint: s3.endpoint, objectLock: undefined },
    });
    await plain.close();
    const err = await open('plain').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Refused });
    expect((err as Error).message).toBe(
      'refusing to use s3://plain/repo on ' +
        `${new URL(proxy.endpoint).host} with object_lock: bucket plain cannot lock objects, Object Lock is not enabled on it`,
    );
    expect((err as { hint: string }).hint).toMatch(/let `lifeboat init` create the bucket, enable it/);
  });

  describe('a repository with object_lock', () => {
    const bucket = 'locked';
    let root: string;
    let first: string;
    let started: number;
    let finished: number;
    const withRepo = async <T>(fn: (r: Repository) => Promise<T>): Promise<T> => {
      const repo = await Repository.open(await open(bucket), { kind: 'password', password: PASSWORD, source: 'test' });
      try {
        return await fn(repo);
      } finally {
        await repo.close();
      }
    };
    const dataObjects = () => withRepo(async (r) => (await r.storage.list('data/')).map((o) => o.name).sort());

    beforeAll(async () => {
      started = Date.now();
      const repo = await Repository.init(await open(bucket, true), PASSWORD, { packSize: 2 * 1024 * 1024 });
      await repo.close();
      root = await mkdtemp(path.join(dir, 'src-'));
      await writeFile(path.join(root, 'big.bin'), randomBytes(3 * 1024 * 1024));
      first = (await withRepo((r) => backup(r, { paths: [root] }))).snapshot.id;
      await rm(path.join(root, 'big.bin'));
      await writeFile(path.join(root, 'small.txt'), 'the second backup');
      await withRepo((r) => backup(r, { paths: [root] }));
      finished = Date.now();
    }, 300_000);

    it('init created the bucket with Object Lock enabled', () => {
      const create = proxy.requests.find((r) => r.method === 'PUT' && r.path.replace(/\/$/, '') === `/${bucket}`);
      expect(create?.headers['x-amz-bucket-object-lock-enabled']).toBe('true');
    });

    it('every object written carries the retention with Content-MD5, except lock objects, prune records and index files', () => {
      const writes = proxy.requests.filter(
        (r) =>
          r.path.startsWith(`/${bucket}/repo/`) &&
          ((r.method === 'PUT' && !r.query.has('partNumber')) || (r.method === 'POST' && r.query.has('uploads'))),
      );
      const name = (r: (typeof writes)[number]) => r.path.slice(`/${bucket}/repo/`.length);
      const kinds = new Set(writes.map((r) => name(r).split('/')[0]));
      expect([...kinds].sort()).toEqual(['config', 'data', 'index', 'keys', 'locks', 'snapshots']);
      expect(writes.filter((r) => r.method === 'POST').length, 'multipart uploads').toBeGreaterThan(0);
      for (const r of writes) {
        const n = name(r);
        const mode = r.headers['x-amz-object-lock-mode'];
        const until = r.headers['x-amz-object-lock-retain-until-date'];
        if (/^(locks|prune|index)\//.test(n)) {
          expect(mode, n).toBeUndefined();
          expect(until, n).toBeUndefined();
          continue;
        }
        expect(mode, n).toBe('COMPLIANCE');
        const t = Date.parse(String(until));
        // Rounded up to the second; written between `started` and `finished`.
        expect(t, n).toBeGreaterThanOrEqual(started + DAYS * DAY_MS - 1000);
        expect(t, n).toBeLessThanOrEqual(finished + DAYS * DAY_MS + 1000);
        if (r.method === 'PUT') expect(r.headers['content-md5'], n).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      }
      const parts = proxy.requests.filter((r) => r.method === 'PUT' && r.query.has('partNumber'));
      expect(parts.length).toBeGreaterThan(1);
      for (const p of parts) expect(p.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    });

    it('forget keeps a snapshot still under retention listed and says so; after the retention it goes', async () => {
      const early = await withRepo((r) => forget(r, { policy: { keepLast: 1 } }));
      expect(early.removed.map((x) => x.snapshot)).toEqual([first]);
      expect(early.retained).toEqual([first]);
      expect(await withRepo(async (r) => (await r.listSnapshots()).snapshots.map((s) => s.id))).toContain(first);

      clockOffset = (DAYS + 1) * DAY_MS;
      const late = await withRepo((r) => forget(r, { policy: { keepLast: 1 } }));
      expect(late.retained).toEqual([]);
      expect(await withRepo(async (r) => (await r.listSnapshots()).snapshots.map((s) => s.id))).not.toContain(first);
    }, 120_000);

    it('prune leaves retained packs out of the index, marked, and deletes them once the retention ends', async () => {
      clockOffset = 0;
      const before = await dataObjects();
      proxy.refusedDeletes.length = 0;
      const early = await withRepo((r) => prune(r, { graceMs: 0 }));
      expect(early.sweep!.retained.length).toBeGreaterThan(0);
      expect(early.sweep!.retained.length).toBe(early.sweep!.plan.delete.length);
      expect(proxy.refusedDeletes.filter((n) => n.startsWith('repo/data/'))).toHaveLength(early.sweep!.retained.length);
      expect(await dataObjects()).toEqual(before);
      // The repository is consistent: nothing indexed is missing, the retained packs are unindexed garbage.
      const report = await withRepo((r) => check(r, { readDataPercent: 100 }));
      expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);

      clockOffset = (DAYS + 1) * DAY_MS;
      const late = await withRepo((r) => prune(r, { graceMs: 0 }));
      expect(late.sweep!.retained).toEqual([]);
      const after = await dataObjects();
      for (const p of early.sweep!.retained) expect(after.some((n) => n.endsWith(p.id))).toBe(false);
      const again = await withRepo((r) => check(r, { readDataPercent: 100 }));
      expect(again.findings.filter((f) => f.severity === 'error')).toEqual([]);
    }, 300_000);
  });

  it('forget and prune (the built CLI) say plainly what Object Lock kept, and exit 0', async () => {
    clockOffset = 0;
    const root = await mkdtemp(path.join(dir, 'cli-src-'));
    for (const version of ['one', 'two']) {
      await writeFile(path.join(root, 'v.bin'), randomBytes(200_000));
      await writeFile(path.join(root, 'name.txt'), version);
      const repo = await Repository.open(await open('locked'), {
        kind: 'password',
        password: PASSWORD,
        source: 'test',
      });
      try {
        await backup(repo, { paths: [root] });
      } finally {
        await repo.close();
      }
    }
    writeFileSync(path.join(dir, 'repo.pass'), 'object lock\n', { mode: 0o600 });
    const config = path.join(dir, 'cli.yaml');
    writeFileSync(
      config,
      `version: 1\nrepositories:\n  vault: { url: "s3://locked/repo", endpoint: "${proxy.endpoint}", region: us-east-1, path_style: true, credentials_file: "${s3.credentialsFile}", password_file: repo.pass, object_lock: { mode: compliance, days: ${DAYS} } }\n`,
    );
    const env = cliEnvFor(path.join(dir, 'cli-cache'), undefined, {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    });
    const lb = (...args: string[]) => runCli(['--config', config, ...args], { env, timeoutMs: 180_000 });
    const held = await lb('forget', '--repo', 'vault', '--keep-last', '1');
    expect(held.code, held.stderr).toBe(0);
    expect(held.stderr).toMatch(
      /1 snapshot\(s\) are still under their Object Lock retention and stay listed \([0-9a-f]{8}\); a later forget removes them once the retention ends/,
    );
    expect(held.stdout + held.stderr).toContain('0 snapshot(s) removed');

    clockOffset = (DAYS + 1) * DAY_MS;
    expect((await lb('forget', '--repo', 'vault', '--keep-last', '1')).code).toBe(0);
    clockOffset = 0;
    const pruned = await lb('prune', '--repo', 'vault', '--grace', '0');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stderr).toMatch(
      /\d+ packs \(.+\) are still under their Object Lock retention and were not deleted; they are out of the index and marked again, and a later prune deletes them once the retention ends/,
    );
  }, 300_000);

  it('`config validate` (the built CLI) refuses days shorter than the policy keeps plus the grace, exit 2, with the days needed', async () => {
    const config = path.join(dir, 'lifeboat.yaml');
    const yaml = (days: number) =>
      `version: 1\nrepositories:\n  vault:\n    url: s3://locked/repo\n    password_file: repo.pass\n    object_lock: { mode: compliance, days: ${days} }\n    retention: { keep_daily: 14, keep_weekly: 8 }\n`;
    writeFileSync(config, yaml(30));
    const refused = await runCli(['--config', config, 'config', 'validate']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "object_lock.days is 30 but the retention policy keeps snapshots up to 56 days; with prune's 24h grace the objects must stay locked at least 57 days",
    );
    expect(refused.stderr).toContain('set object_lock.days to 57 or more');
    writeFileSync(config, yaml(57));
    const accepted = await runCli(['--config', config, 'config', 'validate']);
    expect(accepted.code, accepted.stderr).toBe(0);
  });
});
