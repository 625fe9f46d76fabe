import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { check } from '../checker/check.js';
import { ErrorCode } from '../errors/index.js';
import { Repository } from '../repository/repository.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { FaultyStorage } from '../storage/middleware/index.js';
import { backup } from './backup.js';

/**
 * A backup whose lock is lost (another host judged it stale, took the
 * exclusive lock and swept the backup's packs, not yet indexed, as garbage)
 * must not index those packs on its way out: check finds no error afterwards.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-lost-lock-'));
  for (let i = 0; i < 4; i++)
    await writeFile(
      path.join(dir, `f${i}.bin`),
      Buffer.alloc(20_000, i + 1).map((b, j) => (b * 31 + j * 7) & 0xff),
    );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

it('an aborted run after a lost lock leaves nothing check calls an error', async () => {
  const objects = new Map<string, Buffer>();
  const init = await Repository.init(new MemoryStorage(objects), Buffer.from('lost lock'), {
    packSize: 8192,
    chunker: { min: 256, avg: 1024, max: 4096 },
  });
  await init.close();
  let swept = false;
  // Before the backup writes its index or checks its lock, "another host" removes the lock and the unindexed packs.
  const sweepOnce = () => {
    if (swept || ![...objects.keys()].some((n) => n.startsWith('data/'))) return;
    swept = true;
    for (const name of [...objects.keys()])
      if (name.startsWith('locks/') || name.startsWith('data/')) objects.delete(name);
  };
  const storage = new FaultyStorage(new MemoryStorage(objects), (op, name) => {
    if ((op === 'put' && name.startsWith('index/')) || (op === 'stat' && name.startsWith('locks/'))) sweepOnce();
    return undefined;
  });
  const repo = await Repository.open(storage, { kind: 'password', password: Buffer.from('lost lock'), source: 'test' });
  try {
    await expect(backup(repo, { paths: [dir] })).rejects.toMatchObject({ code: ErrorCode.LockLost });
  } finally {
    await repo.close();
  }
  expect(swept).toBe(true);
  const after = await Repository.open(new MemoryStorage(objects), {
    kind: 'password',
    password: Buffer.from('lost lock'),
    source: 'test',
  });
  try {
    const report = await check(after, {});
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
  } finally {
    await after.close();
  }
});
