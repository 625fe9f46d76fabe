import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { listForgetRequests } from '../repository/forget-request.js';
import type { Snapshot } from '../repository/format/index.js';
import { Repository } from '../repository/repository.js';
import { hasTombstone } from '../repository/tombstone.js';
import { openStorage } from '../storage/registry.js';
import { readAudit } from './audit.js';
import { forget } from './forget.js';
import { applyForgetRequests } from './forget-requests.js';

const NOW = new Date('2026-11-22T12:00:00Z');

/**
 * Forget with an append key writes requests and removes nothing; an admin
 * applies them, except those that would leave a source without a good copy.
 */
describe('forget requests', () => {
  let work: string;
  let admin: Repository;
  let append: Repository;
  let template: Snapshot;

  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-forget-requests-'));
    await mkdir(path.join(work, 'data'));
    await writeFile(path.join(work, 'data', 'a.txt'), 'hello');
    const url = path.join(work, 'repo');
    admin = await Repository.init(await openStorage(url, { create: true }), Buffer.from('admin pw'));
    await admin.addKey(Buffer.from('append pw'), 'web-1', 'append');
    const { snapshot } = await backup(admin, { paths: [path.join(work, 'data')], source: 'app', host: 'web1' });
    const { id: _id, ...rest } = snapshot;
    template = rest;
    await admin.storage.remove(`snapshots/${snapshot.id}`);
    append = await Repository.open(await openStorage(url), {
      kind: 'password',
      password: Buffer.from('append pw'),
      source: 'test',
    });
    expect(append.role).toBe('append');
  });
  afterEach(async () => {
    await append.close();
    await admin.close();
    await rm(work, { recursive: true, force: true });
  });

  const at = (daysAgo: number[], extra: Partial<Snapshot> = {}) =>
    Promise.all(
      daysAgo.map((d) =>
        admin.saveSnapshot({ ...template, time: new Date(NOW.getTime() - d * 86_400_000).toISOString(), ...extra }),
      ),
    );
  const remaining = async () => (await admin.listSnapshots()).snapshots.map((s) => s.id).sort();

  it('an append key records requests naming the requester and removes nothing; a second run adds none', async () => {
    const ids = await at([4, 3, 2, 1]);
    const result = await forget(append, { policy: { keepLast: 2 }, now: NOW });
    expect(result.removed).toEqual([]);
    expect(result.requested!.map((r) => [r.snapshot, r.written]).sort()).toEqual(
      [
        [ids[0], true],
        [ids[1], true],
      ].sort(),
    );
    expect(await remaining()).toEqual([...ids].sort());
    const { requests } = await listForgetRequests(admin);
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      source: 'app',
      host: 'web1',
      policy: 'last 2',
      requestedAt: NOW.toISOString(),
    });
    expect(requests[0]!.requestedBy.key).toBe(append.keyName);
    expect(requests[0]!.requestedBy.by).toContain(`@${os.hostname()}`);
    const again = await forget(append, { policy: { keepLast: 2 }, now: NOW });
    expect(again.requested!.every((r) => !r.written)).toBe(true);
    expect(again.pending.sort()).toEqual([ids[0], ids[1]].sort());
  });

  it('an admin applies them: tombstone, snapshot removed, request removed, audited', async () => {
    const ids = await at([4, 3, 2, 1]);
    await forget(append, { policy: { keepLast: 2 }, now: NOW });
    const dry = await applyForgetRequests(admin, (await admin.listSnapshots()).snapshots, { dryRun: true, now: NOW });
    expect(dry.applied).toHaveLength(2);
    expect(await remaining()).toEqual([...ids].sort());
    const done = await applyForgetRequests(admin, (await admin.listSnapshots()).snapshots, { now: NOW });
    expect(done.applied.map((a) => a.snapshot).sort()).toEqual([ids[0], ids[1]].sort());
    expect(done.declined).toEqual([]);
    expect(await remaining()).toEqual([ids[2], ids[3]].sort());
    expect(await hasTombstone(admin, ids[0]!)).toBe(true);
    expect((await listForgetRequests(admin)).requests).toEqual([]);
    const audit = await readAudit(admin);
    expect(audit.at(-1)!.policy).toBe('forget requests of append keys');
    expect(audit.at(-1)!.removed[0]!.rule).toContain('forget request of');
  });

  it('declines a request for the last snapshot of a source, and one that would leave no complete copy', async () => {
    const [only] = await at([2], { source: 'lonely' });
    const [broken, good] = await Promise.all([
      admin.saveSnapshot({
        ...template,
        time: new Date(NOW.getTime() - 86_400_000).toISOString(),
        summary: { ...template.summary, errors: 3 },
      }),
      admin.saveSnapshot({ ...template, time: new Date(NOW.getTime() - 3 * 86_400_000).toISOString() }),
    ]);
    // The append host asks for everything but its newest (which has input errors) to go.
    await forget(append, { policy: { keepLast: 1 }, now: NOW, source: 'app' });
    // A modified client may ask for anything: the last snapshot of "lonely" too.
    const { writeForgetRequest } = await import('../repository/forget-request.js');
    await writeForgetRequest(append, {
      snapshot: only!,
      time: NOW.toISOString(),
      source: 'lonely',
      host: 'web1',
      requestedAt: NOW.toISOString(),
      requestedBy: { key: append.keyName ?? null, by: 'x@y' },
      policy: 'everything',
      reason: 'everything',
    });
    const result = await applyForgetRequests(admin, (await admin.listSnapshots()).snapshots, { now: NOW });
    expect(result.applied).toEqual([]);
    const why = Object.fromEntries(result.declined.map((d) => [d.snapshot, d.why]));
    expect(why[only!]).toMatch(/last snapshot of source "lonely" on web1.*never removes the last good copy/);
    expect(why[good!]).toMatch(/no other snapshot of source "app" on web1 is a complete copy/);
    expect(await remaining()).toEqual([only, broken, good].sort());
    // Declined requests stay pending, visible to the next run.
    expect((await listForgetRequests(admin)).requests.map((r) => r.snapshot).sort()).toEqual([only, good].sort());
  });
});
