import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { freePort } from '../../../test/helpers/servers/free-port.js';
import { startRedis, type RedisServer } from '../../../test/helpers/servers/redis.js';
import { backupSource, restoreSource } from '../run-source.js';
import { describeSourceConformance } from '../testing/source-suite.js';
import { tapRdb } from './rdb-tap.js';
import type { RdbSummary } from './rdb-parser.js';
import { redisTarget } from './redis-target.js';
import { startReplicationSync } from './replication-sync.js';
import { RespConnection } from './resp-connection.js';

const PASSWORD = 'redis-Pw-7d1e9c0b44a2';

async function passwordFile(dir: string, password = PASSWORD): Promise<string> {
  const file = path.join(dir, 'redis.pass');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return file;
}

/** Every type of value in two databases, a few with TTLs. */
async function seed(server: RedisServer): Promise<void> {
  const db0 = server.client(0);
  const db1 = server.client(1);
  try {
    await db0.set('greeting', 'hello');
    await db0.rpush('queue', ...Array.from({ length: 2000 }, (_, i) => `job-${i}`));
    await db0.sadd('ids', 1, 2, 3);
    await db0.zadd('scores', 1, 'a', 2, 'b');
    await db0.hset('user:1', 'name', 'ada', 'role', 'admin');
    await db0.xadd('events', '*', 'type', 'login');
    await db0.xgroup('CREATE', 'events', 'audit', '0');
    await db0.set('session', 'abc', 'EX', 3600);
    await db1.set('other-db', 'x');
    await db1.hset('big-hash', Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i}`, `v${i}`])));
  } finally {
    db0.disconnect();
    db1.disconnect();
  }
}

/** SET/INCR/HSET/LPUSH/ZADD on random keys in db0 and db1, a few hundred a second, some with short TTLs. */
function writer(server: RedisServer): () => Promise<void> {
  const clients = [server.client(0), server.client(1)];
  let running = true;
  const loops = clients.map(async (c) => {
    while (running) {
      const n = Math.floor(Math.random() * 500);
      await c
        .multi()
        .set(`s:${n}`, randomBytes(16).toString('hex'))
        .incr(`c:${n}`)
        .hset(`h:${n}`, `f${n % 7}`, String(Date.now()))
        .lpush(`l:${n}`, 'item')
        .ltrim(`l:${n}`, 0, 49)
        .zadd(`z:${n}`, Math.random(), `m${n % 11}`)
        .set(`t:${n}`, 'short-lived', 'PX', 400)
        .exec();
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
    for (const c of clients) c.disconnect();
  };
}

describeSourceConformance('redis', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-redis-suite-'));
  const server = await startRedis({ password: PASSWORD, appendonly: true });
  await seed(server);
  const password_file = await passwordFile(work);
  let n = 0;
  return {
    config: { type: 'redis', url: server.url, password_file },
    secrets: [PASSWORD],
    startWriter: async () => writer(server),
    // A fresh directory each time: the AOF directory is placed next to the RDB.
    restoreTarget: async () => ({ toFile: path.join(work, `restore-${++n}`, 'dump.rdb') }),
    unreachable: { type: 'redis', url: `redis://127.0.0.1:${await freePort()}`, password_file },
    recordedFields: ['keys', 'expiringKeys', 'rdbVersion', 'rdbChecksum', 'bytes', 'redisVersion', 'aof'],
    cleanup: async () => {
      await server.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
});

describe('redis source', () => {
  let work: string;
  let repo: Repository;
  let server: RedisServer;
  let config: SourceConfigOf<'redis'>;
  let admin: Redis;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-redis-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
    server = await startRedis({ password: PASSWORD, appendonly: true });
    await seed(server);
    config = { type: 'redis', url: server.url, password_file: await passwordFile(work) };
    admin = server.client(0);
  });
  afterAll(async () => {
    admin?.disconnect();
    await repo?.close();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const snapshotCount = async () => (await repo.listSnapshots()).snapshots.length;

  it('records keys per database as the server counts them, the RDB facts and the AOF files', async () => {
    const { record, snapshot } = await backupSource(repo, 'facts', config);
    const db1 = server.client(1);
    const sizes = { db0: await admin.dbsize(), db1: await db1.dbsize() };
    db1.disconnect();
    expect(record.keys).toEqual(sizes);
    expect(record.expiringKeys).toEqual({ db0: 1, db1: 0 });
    expect(record.hasExpiringKeys).toBe(true);
    expect(record.redisVersion).toBe((await admin.info('server')).match(/redis_version:(\S+)/)![1]);
    expect(record.rdbVersion).toBe(10);
    expect(record.rdbChecksum).toMatch(/^[0-9a-f]{16}$/);
    expect(record.rdbChecksum).not.toBe('0000000000000000');
    expect(record.transfer).toBe('disk');
    const aof = record.aof as { stored: boolean; layout: string; name: string; files: { name: string }[] };
    expect(aof).toMatchObject({ stored: true, layout: 'directory', name: 'appendonlydir' });
    expect(aof.files.map((f) => f.name).sort()).toEqual((await readdir(path.join(server.dir, 'appendonlydir'))).sort());
    expect(snapshot.paths).toEqual(expect.arrayContaining(['/redis/dump.rdb']));
  });

  it('places the RDB and the AOF directory in --target DIR, and a throwaway server loads them', async () => {
    const { snapshot, record } = await backupSource(repo, 'placed', config);
    const target = path.join(work, 'placed');
    const result = await restoreSource(repo, snapshot, { target, config });
    expect(result.checks.map((c) => c.field).sort()).toEqual(['expiringKeys', 'keys', 'rdbChecksum']);
    for (const check of result.checks) expect(check.ok, check.field).toBe(true);
    expect((await stat(path.join(target, 'dump.rdb'))).size).toBe(record.bytes);
    const aofFiles = (record.aof as { files: { name: string }[] }).files.map((f) => f.name);
    expect((await readdir(path.join(target, 'appendonlydir'))).sort()).toEqual(aofFiles.sort());
    const manifest = aofFiles.find((f) => f.endsWith('.manifest'))!;
    expect(await readFile(path.join(target, 'appendonlydir', manifest), 'utf8')).toContain('type b');
  });

  it('restores from the snapshot alone, and keys whose TTL passed since the backup still count', async () => {
    await admin.set('vanishing', 'soon', 'PX', 300);
    const { snapshot, record } = await backupSource(repo, 'ttl', config);
    await new Promise((r) => setTimeout(r, 600));
    expect(await admin.exists('vanishing')).toBe(0);
    const result = await restoreSource(repo, snapshot, { toFile: path.join(work, 'ttl', 'dump.rdb') });
    for (const check of result.checks) expect(check.ok, check.field).toBe(true);
    expect(result.measured!.keys).toEqual(record.keys);
    expect((record.expiringKeys as Record<string, number>).db0).toBe(2);
  });

  it('does not store the AOF when told not to', async () => {
    const { record, snapshot } = await backupSource(repo, 'no-aof', { ...config, aof: false });
    expect(record.aof).toMatchObject({ stored: false });
    expect(snapshot.paths.some((p) => p.startsWith('/redis/appendonly'))).toBe(false);
  });

  it("fails with the server's message on a wrong password, and saves nothing", async () => {
    const before = await snapshotCount();
    const err = await expectCode(
      backupSource(repo, 'wrong-pw', {
        ...config,
        password_file: await passwordFile(path.join(work, 'placed'), 'not-the-password'),
      }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toMatch(/refused the login: WRONGPASS/);
    expect(err.message).not.toContain('not-the-password');
    const noPassword = await expectCode(
      backupSource(repo, 'no-pw', { type: 'redis', url: server.url }),
      ErrorCode.SourceFailed,
    );
    expect(noPassword.message).toContain('NOAUTH');
    expect(await snapshotCount()).toBe(before);
  });

  it('accepts the password inside the url without showing it', async () => {
    const url = server.url.replace('redis://', `redis://default:${encodeURIComponent(PASSWORD)}@`);
    const logs: string[] = [];
    const { record } = await backupSource(
      repo,
      'url-pw',
      { type: 'redis', url, aof: false },
      { log: (l) => logs.push(l) },
    );
    expect(Object.keys(record.keys as object)).toContain('db0');
    expect(JSON.stringify({ record, logs })).not.toContain(PASSWORD);
  });

  it('reads the diskless form ($EOF:<mark>) the same as the disk form', async () => {
    const target = await redisTarget(config);
    const read = async (diskless: boolean) => {
      const connection = await RespConnection.open(target);
      let summary: RdbSummary | undefined;
      try {
        const transfer = await startReplicationSync(connection, { diskless });
        for await (const chunk of tapRdb(transfer.chunks, (s) => (summary = s))) void chunk;
        return { form: transfer.form, summary: summary! };
      } finally {
        connection.close();
      }
    };
    await admin.config('SET', 'repl-diskless-sync', 'yes');
    await admin.config('SET', 'repl-diskless-sync-delay', '0');
    try {
      const diskless = await read(true);
      const disk = await read(false);
      expect(diskless.form).toBe('diskless');
      expect(disk.form).toBe('disk');
      expect(diskless.summary.keys).toEqual(disk.summary.keys);
      expect(diskless.summary.checksumVerified).toBe(true);
    } finally {
      await admin.config('SET', 'repl-diskless-sync', 'no');
    }
  });

  it('refuses to place the RDB in the data directory of a running server unless forced', async () => {
    const { snapshot } = await backupSource(repo, 'live', { ...config, aof: false });
    const viaConfig = await expectCode(
      restoreSource(repo, snapshot, { toFile: path.join(server.dir, 'dump.rdb'), config, verify: false }),
      ErrorCode.Refused,
    );
    expect(viaConfig.message).toContain('running server');
    expect(viaConfig.hint).toMatch(/stop the server/);
    // Without the config, the server process running in that directory gives it away.
    const viaProcess = await expectCode(
      restoreSource(repo, snapshot, { target: server.dir, verify: false }),
      ErrorCode.Refused,
    );
    expect(viaProcess.message).toMatch(/redis-server \(pid \d+\)/);
  });

  describe('with 32 MB that does not compress (more than socket buffers hold)', () => {
    let big: RedisServer;
    beforeAll(async () => {
      big = await startRedis({ password: PASSWORD });
      const c = big.client();
      for (let i = 0; i < 32; i++) await c.set(`blob:${i}`, randomBytes(1 << 20));
      c.disconnect();
    });
    afterAll(async () => {
      await big?.stop();
    });

    it('stops reading from the server while the consumer does not ask for more', async () => {
      const connection = await RespConnection.open(
        await redisTarget({ url: big.url, password_file: config.password_file }),
      );
      try {
        const transfer = await startReplicationSync(connection);
        const chunks = tapRdb(transfer.chunks, () => {});
        await chunks.next();
        const before = process.memoryUsage().arrayBuffers;
        await new Promise((r) => setTimeout(r, 500)); // a stalled consumer
        const grown = process.memoryUsage().arrayBuffers - before;
        expect(grown, 'bytes buffered while nobody read').toBeLessThan(4 << 20);
        let total = 0;
        for await (const chunk of chunks) total += chunk.length;
        expect(total).toBeGreaterThan(30 << 20);
      } finally {
        connection.close();
      }
    });

    it('fails when the server dies in the middle of the transfer, and saves no snapshot', async () => {
      const before = await snapshotCount();
      const err = await backupSource(
        repo,
        'doomed',
        { type: 'redis', url: big.url, password_file: config.password_file, aof: false },
        {
          log: (line) => {
            if (line.startsWith('receiving the RDB')) process.kill(big.pid, 'SIGKILL');
          },
        },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LifeboatError);
      expect((err as LifeboatError).code).toBe(ErrorCode.SourceFailed);
      expect((err as LifeboatError).message).toMatch(/closed the connection after \d+ of \d+ RDB bytes/);
      expect(await snapshotCount()).toBe(before);
    });
  });
});
