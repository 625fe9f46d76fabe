import { retag } from './retag.js';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { ErrorCode } from '../errors/index.js';
import { Repository } from '../repository/repository.js';
import type { Snapshot } from '../repository/format/index.js';
import { openStorage } from '../storage/registry.js';
import { expectCode } from '../storage/testing/conformance.js';
import { hasTombstone } from '../repository/tombstone.js';
import { FaultyStorage } from '../storage/middleware/index.js';
import { readAudit } from './audit.js';
import { forget } from './forget.js';

const NOW = new Date('2026-11-22T12:00:00Z');

describe('forget', () => {
  let work: string;
  let repo: Repository;
  let template: Snapshot;

  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-forget-'));
    await mkdir(path.join(work, 'data'));
    await writeFile(path.join(work, 'data', 'a.txt'), 'hello');
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
    const { snapshot } = await backup(repo, { paths: [path.join(work, 'data')], source: 'app', host: 'web1' });
    const { id: _id, ...rest } = snapshot;
    template = rest;
    await repo.storage.remove(`snapshots/${snapshot.id}`);
  });
  afterEach(async () => {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Snapshots of the one real tree, `daysAgo` each. */
  async function snapshotsAt(daysAgo: number[], extra: Partial<Snapshot> = {}): Promise<string[]> {
    const ids: string[] = [];
    for (const d of daysAgo)
      ids.push(
        await repo.saveSnapshot({
          ...template,
          time: new Date(NOW.getTime() - d * 86_400_000).toISOString(),
          ...extra,
        }),
      );
    return ids;
  }
  const remaining = async () => (await repo.listSnapshots()).snapshots.map((s) => s.id);

  it('removes what no rule keeps and writes the audit log first, in the repository and locally', async () => {
    const ids = await snapshotsAt([5, 4, 3, 2, 1]);
    const state = path.join(work, 'state');
    const result = await forget(repo, { policy: { keepLast: 3 }, now: NOW, stateDir: state });
    expect(result.removed.map((r) => r.snapshot).sort()).toEqual([ids[0], ids[1]].sort());
    expect((await remaining()).sort()).toEqual(ids.slice(2).sort());
    const [record] = await readAudit(repo);
    expect(record).toMatchObject({ type: 'forget', policy: 'last 3', repository: repo.id });
    expect(record!.removed.map((r) => [r.snapshot, r.rule, r.source])).toContainEqual([
      ids[0],
      'no rule keeps it',
      'app',
    ]);
    expect(record!.by).toMatch(/@/);
    const local = (await readFile(path.join(state, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { object: string });
    expect(local).toHaveLength(1);
    expect(local[0]!.object).toBe(`audit/${result.audit}`);
  });

  it('writes a tombstone for each removed snapshot before removing it', async () => {
    const ids = await snapshotsAt([5, 4, 3, 2, 1]);
    await forget(repo, { policy: { keepLast: 3 }, now: NOW });
    for (const id of ids) expect(await hasTombstone(repo, id), id.slice(0, 8)).toBe(ids.indexOf(id) < 2);
  });

  it('refuses, removing nothing, when two listings of snapshots/ disagree', async () => {
    const ids = await snapshotsAt([5, 4, 3, 2, 1]);
    let lists = 0;
    const flaky = new FaultyStorage(await openStorage(path.join(work, 'repo')), (op, name) =>
      op === 'list' && name === 'snapshots/' && ++lists === 2
        ? { kind: 'filter-list', keep: (o) => !o.name.endsWith(ids[4]!) }
        : undefined,
    );
    const other = await Repository.open(flaky, { kind: 'password', password: Buffer.from('pw'), source: 'test' });
    try {
      await expectCode(forget(other, { policy: { keepLast: 3 }, now: NOW }), ErrorCode.Refused);
    } finally {
      await other.close();
    }
    expect((await remaining()).sort()).toEqual([...ids].sort());
  });

  it('changes nothing on a dry run', async () => {
    const ids = await snapshotsAt([3, 2, 1]);
    const result = await forget(repo, { policy: { keepLast: 1 }, now: NOW, dryRun: true, force: true });
    expect(result.removed).toHaveLength(2);
    expect((await remaining()).sort()).toEqual([...ids].sort());
    expect(await readAudit(repo)).toEqual([]);
  });

  it('never removes the last snapshot of a source', async () => {
    const [only] = await snapshotsAt([900]);
    const result = await forget(repo, { policy: { keepLast: 1, maxAgeSeconds: 86_400 }, now: NOW });
    expect(result.removed).toEqual([]);
    expect(await remaining()).toEqual([only]);
  });

  it('removes nothing while no newer snapshot of the source passes its check', async () => {
    const ids = await snapshotsAt([3, 2]);
    // The newest snapshot points at a tree that is not in the repository.
    const broken = await repo.saveSnapshot({
      ...template,
      time: new Date(NOW.getTime() - 86_400_000).toISOString(),
      tree: 'ab'.repeat(32),
    });
    const result = await forget(repo, { policy: { keepLast: 1 }, now: NOW, force: true });
    expect(result.removed).toEqual([]);
    const reasons = result.plan[0]!.decisions.map((d) => d.reasons.join('; '));
    expect(reasons.filter((r) => r.includes('passed its check'))).toHaveLength(2);
    expect((await remaining()).sort()).toEqual([...ids, broken].sort());
  });

  it('aborts when a snapshot cannot be read, removing nothing', async () => {
    const ids = await snapshotsAt([3, 2, 1]);
    await repo.storage.put(`snapshots/${'cd'.repeat(32)}`, Buffer.from('not a sealed snapshot'));
    await expectCode(forget(repo, { policy: { keepLast: 1 }, now: NOW, force: true }), ErrorCode.Failure);
    expect((await remaining()).sort()).toEqual([...ids].sort());
  });

  it("refuses to remove more than half of a source's snapshots without --force", async () => {
    await snapshotsAt([4, 3, 2, 1]);
    await expectCode(forget(repo, { policy: { keepLast: 1 }, now: NOW }), ErrorCode.Refused);
    expect(await remaining()).toHaveLength(4);
    const forced = await forget(repo, { policy: { keepLast: 1 }, now: NOW, force: true });
    expect(forced.removed).toHaveLength(3);
  });

  it('refuses to act on a listing much shorter than the one seen last time', async () => {
    const ids = await snapshotsAt([6, 5, 4, 3, 2, 1]);
    const state = path.join(work, 'state');
    await forget(repo, { policy: { keepLast: 6 }, now: NOW, stateDir: state });
    for (const id of ids.slice(0, 4)) await repo.storage.remove(`snapshots/${id}`); // a storage that suddenly lists less
    await expectCode(forget(repo, { policy: { keepLast: 1 }, now: NOW, stateDir: state }), ErrorCode.Refused);
    expect(await remaining()).toHaveLength(2);
  });

  it('does not count snapshots removed on purpose elsewhere (tombstoned, e.g. retagged) as missing', async () => {
    await snapshotsAt([6, 5, 4, 3, 2, 1]);
    const state = path.join(work, 'state');
    await forget(repo, { policy: { keepLast: 6 }, now: NOW, stateDir: state });
    // `tag` replaces four of the six: new ids, the old ones tombstoned.
    const listed = (await repo.listSnapshots()).snapshots;
    await retag(repo, listed.slice(0, 4), { add: ['audit'] }, { now: NOW });
    const result = await forget(repo, { policy: { keepLast: 5 }, now: NOW, stateDir: state });
    expect(result.removed).toHaveLength(1);
    expect(await remaining()).toHaveLength(5);
  });

  it('does not let a snapshot dated in the future push real ones out', async () => {
    const real = await snapshotsAt([3, 2, 1]);
    const [future] = await snapshotsAt([-3650]);
    const result = await forget(repo, { policy: { keepLast: 2 }, now: NOW });
    expect(result.removed.map((r) => r.snapshot)).toEqual([real[0]]);
    expect((await remaining()).sort()).toEqual([real[1], real[2], future].sort());
  });

  it('needs a policy that keeps something', async () => {
    await expectCode(forget(repo, { policy: {}, now: NOW }), ErrorCode.Usage);
  });
});
