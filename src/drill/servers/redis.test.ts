import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepo } from '../../../test/helpers/repo-lib.js';
import { startRedis, type RedisServer } from '../../../test/helpers/servers/redis.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import type { Repository } from '../../repository/repository.js';
import { backupSource } from '../../sources/run-source.js';
import { runDrill } from '../drill.js';

/** Redis drills: the RDB restored to a scratch directory and loaded by a throwaway server; none is left running. */
describe('restore drills (redis)', () => {
  let server: RedisServer;
  let dir: string;
  let repo: Repository;

  beforeAll(async () => {
    server = await startRedis({ password: 'redis-drill-pass' });
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-redis-'));
    const client = server.client();
    for (let i = 0; i < 100; i++) await client.set(`key:${i}`, `value ${i}`);
    await client.quit();
    repo = await initRepo(path.join(dir, 'repo'), 'repo-password');
  }, 120_000);

  afterAll(async () => {
    await repo?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('passes: key counts and RDB checksum from a throwaway server, and the smoke command sees the RDB', async () => {
    const passwordFile = path.join(dir, 'redis.pass');
    await writeFile(passwordFile, 'redis-drill-pass\n', { mode: 0o600 });
    const scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    const config: SourceConfigOf<'redis'> = {
      type: 'redis',
      url: server.url,
      password_file: passwordFile,
      rpo: '1d',
      smoke: 'head -c 5 "$LIFEBOAT_DRILL_FILE" | grep -q REDIS',
    };
    await backupSource(repo, 'cache', config);
    const { report } = await runDrill(repo, { source: 'cache', config, tempBase: scratch });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('PASS');
    expect(report.checks.map((c) => c.name)).toEqual(['restore', 'keys', 'expiringKeys', 'rdbChecksum']);
    expect(report.checks[1]).toMatchObject({ expected: { db0: 100 }, actual: { db0: 100 } });
    expect(readdirSync(scratch)).toEqual([]);
    expect(
      spawnSync('pgrep', ['-f', scratch], { encoding: 'utf8' }).stdout.trim(),
      'no throwaway redis-server left',
    ).toBe('');
  }, 120_000);
});
