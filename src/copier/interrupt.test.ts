import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { ErrorCode } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { expectRejectsCode } from '../repository/testing/helpers.js';
import { FaultyStorage } from '../storage/middleware/index.js';
import { copy } from './copy.js';
import { describeTree, makeTree, newRepo, noise, restoredTree } from './testing/fixture.js';

/**
 * An interrupted copy — the user stops it, or the destination fails — leaves
 * no snapshot in the destination, and the next run completes, reusing the
 * packs the first one stored.
 */
describe('interrupted copy', () => {
  let work: string;
  let data: string;
  let src: Repository;
  const opened: Repository[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-copy-int-'));
    data = path.join(work, 'data');
    makeTree(data, 51);
    await writeFile(path.join(data, 'large.bin'), noise(52, 4 * 1024 * 1024));
    src = await newRepo(path.join(work, 'src'), 'pw');
    opened.push(src);
    await backup(src, { paths: [data] });
    await backup(src, { paths: [data], tags: ['second'] });
  });
  afterAll(async () => {
    for (const r of opened) await r.close();
    await rm(work, { recursive: true, force: true });
  });

  const destination = async (name: string) => {
    let faulty!: FaultyStorage;
    const dest = await newRepo(
      path.join(work, name),
      'dest pw',
      { packSize: 64 * 1024 },
      (s) => (faulty = new FaultyStorage(s)),
    );
    opened.push(dest);
    return { dest, faulty };
  };

  const dataPackBytes = async (repo: Repository) => (await repo.storage.list('data/')).reduce((n, o) => n + o.size, 0);

  it('stopped by the abort signal mid-way: no snapshot, and the rerun reuses what was stored', async () => {
    const { dest, faulty } = await destination('aborted');
    const controller = new AbortController();
    let puts = 0;
    faulty.setPlan((op, name) => {
      if (op === 'put' && name.startsWith('data/') && ++puts === 20) controller.abort();
      return undefined;
    });
    await expectRejectsCode(copy(src, dest, { signal: controller.signal }), ErrorCode.Interrupted);
    expect(await dest.storage.list('snapshots/')).toEqual([]);
    expect(await dest.storage.list('locks/')).toEqual([]);
    const storedBefore = await dataPackBytes(dest);
    expect(storedBefore).toBeGreaterThan(0);
    expect((await dest.storage.list('index/')).length).toBeGreaterThan(0);

    const rerun = await copy(src, dest);
    expect(rerun.copied).toHaveLength(2);
    expect(rerun.storedBytes).toBeLessThanOrEqual((await dataPackBytes(dest)) - storedBefore);
    expect(rerun.storedBytes).toBeLessThan(storedBefore);
    const latest = rerun.copied[1]!.to;
    expect(await restoredTree(dest, latest, path.join(work, 'restored-aborted'), data)).toEqual(describeTree(data));
  });

  it('a storage fault in the destination fails the copy without a snapshot; the rerun completes', async () => {
    const { dest, faulty } = await destination('faulty');
    let puts = 0;
    faulty.setPlan((op, name) =>
      op === 'put' && name.startsWith('data/') && ++puts === 10 ? { kind: 'error' } : undefined,
    );
    await expectRejectsCode(copy(src, dest), ErrorCode.Storage);
    expect(await dest.storage.list('snapshots/')).toEqual([]);
    expect(await dataPackBytes(dest)).toBeGreaterThan(0);

    faulty.setPlan(() => undefined);
    const rerun = await copy(src, dest);
    expect(rerun.copied.map((c) => c.to.tags)).toEqual([[], ['second']]);
    expect(await restoredTree(dest, rerun.copied[0]!.to, path.join(work, 'restored-faulty'), data)).toEqual(
      describeTree(data),
    );
  });

  it('a pack cut short by the destination is caught by verification before the snapshot is saved', async () => {
    const { dest, faulty } = await destination('truncating');
    let puts = 0;
    faulty.setPlan((op, name) =>
      op === 'put' && name.startsWith('data/') && ++puts === 3 ? { kind: 'truncate', bytes: 100 } : undefined,
    );
    const err = await expectRejectsCode(copy(src, dest), ErrorCode.Corrupt);
    expect(err.message).toContain('verification of the copy failed');
    expect(await dest.storage.list('snapshots/')).toEqual([]);

    faulty.setPlan(() => undefined);
    const rerun = await copy(src, dest);
    expect(rerun.copied).toHaveLength(2);
    expect(await restoredTree(dest, rerun.copied[1]!.to, path.join(work, 'restored-truncated'), data)).toEqual(
      describeTree(data),
    );
  });
});
