import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { check } from '../checker/check.js';
import { ErrorCode } from '../errors/index.js';
import { decodePackHeader } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import { expectRejectsCode } from '../repository/testing/helpers.js';
import { backupSource, restoreSource, sourceMetadata } from '../sources/run-source.js';
import { RunHistory } from '../state/history.js';
import { rebuildHistory } from '../state/rebuild.js';
import { snapshotNodes } from '../../test/helpers/repo-lib.js';
import { copy } from './copy.js';
import { copiedFromOf } from './lineage.js';
import { describeTree, makeTree, newRepo, noise, restoredTree } from './testing/fixture.js';

/**
 * `copy` between real repositories in a temp dir, each with its own master
 * secret (so its own chunker and blob-id keys): what arrives restores byte for
 * byte, keeps the snapshot's facts, is stored with the destination's keys,
 * and repeated runs copy nothing.
 */
describe('copy', () => {
  let work: string;
  const repos: Repository[] = [];
  const repo = async (name: string, password = `pw-${name}`) => {
    const r = await newRepo(path.join(work, name), password);
    repos.push(r);
    return r;
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-copy-'));
  });
  afterAll(async () => {
    for (const r of repos) await r.close();
    await rm(work, { recursive: true, force: true });
  });

  it('copies a file snapshot that restores byte-identical, with its facts and origin; a second run copies nothing', async () => {
    const data = path.join(work, 'files');
    makeTree(data);
    const a = await repo('a');
    const b = await repo('b');
    const { snapshot } = await backup(a, {
      paths: [data],
      tags: ['daily', 'app'],
      reason: 'before upgrade',
      host: 'web-1',
    });

    const copied: string[] = [];
    const first = await copy(a, b, { onCopied: (c) => copied.push(c.from.id) });
    expect(copied).toEqual([snapshot.id]);
    expect(first.copied).toHaveLength(1);
    // Both start empty: the copy adds what the backup added (the second name of the linked file adds nothing).
    expect(first.addedBytes).toBe(snapshot.summary.addedBytes);
    expect(first.addedBytes).toBe(snapshot.summary.bytes - 200 * 1024);
    const [held] = (await b.listSnapshots()).snapshots;
    expect(held!.id).toBe(first.copied[0]!.to.id);
    for (const field of ['time', 'host', 'username', 'paths', 'tags', 'reason'] as const)
      expect(held![field]).toEqual(snapshot[field]);
    expect(held!.summary.files).toBe(snapshot.summary.files);
    expect(copiedFromOf(held!)).toEqual({
      repository: a.id,
      snapshot: snapshot.id,
      origin: { repository: a.id, snapshot: snapshot.id },
    });

    expect(await restoredTree(b, held!, path.join(work, 'restored-b'), data)).toEqual(describeTree(data));
    expect((await check(b)).ok).toBe(true);

    const again = await copy(a, b);
    expect(again.copied).toEqual([]);
    expect(again.skipped.map((s) => [s.snapshot.id, s.heldAs.id])).toEqual([[snapshot.id, held!.id]]);
    expect((await b.listSnapshots()).snapshots).toHaveLength(1);
  });

  it('stores the copy under the destination keys: other chunk ids, packs the source keys cannot open', async () => {
    const data = path.join(work, 'keys');
    makeTree(data, 7);
    const a = await repo('ka', 'same password');
    const b = await repo('kb', 'same password');
    const { snapshot } = await backup(a, { paths: [data] });
    const { copied } = await copy(a, b);
    const srcNodes = await snapshotNodes(a, snapshot);
    const destNodes = await snapshotNodes(b, copied[0]!.to);
    const big = path.posix.join(data, 'docs/deep/big.bin');
    expect(destNodes.get(big)!.size).toBe(srcNodes.get(big)!.size);
    const srcIds = new Set([...srcNodes.values()].flatMap((n) => n.content ?? []));
    const destIds = [...destNodes.values()].flatMap((n) => n.content ?? []);
    expect(destIds.length).toBeGreaterThan(3);
    expect(destIds.filter((id) => srcIds.has(id))).toEqual([]);

    const packs = await b.storage.list('data/');
    expect(packs.length).toBeGreaterThan(0);
    for (const p of packs) {
      const bytes = await b.storage.get(p.name);
      expect(decodePackHeader(b.keys.encryption, bytes).length).toBeGreaterThan(0);
      expect(() => decodePackHeader(a.keys.encryption, bytes)).toThrow();
    }
  });

  it('copies a SQLite source snapshot whose restore passes its recorded checks in the destination', async () => {
    const file = path.join(work, 'app.db');
    const db = new Database(file);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE tags (name TEXT);');
    const add = db.prepare('INSERT INTO notes (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) add.run(`note ${i} ${'x'.repeat(i % 200)}`);
    })();
    db.close();
    const a = await repo('sa');
    const b = await repo('sb');
    const { snapshot } = await backupSource(
      a,
      'app-db',
      { type: 'sqlite', path: file },
      { run: { job: 'nightly', runId: 'run-1' } },
    );
    const { copied } = await copy(a, b);
    const held = copied[0]!.to;
    expect(sourceMetadata(held)!.record).toEqual(sourceMetadata(snapshot)!.record);
    expect(sourceMetadata(held)!.source).toEqual(sourceMetadata(snapshot)!.source);
    expect(held.source).toBe('app-db');
    expect(held.metadata.run).toEqual({ job: 'nightly', runId: 'run-1' });
    // The run happened where the original was made: a rebuilt history does not count the copy as one of its steps.
    const history = RunHistory.open(path.join(work, 'history'));
    expect(await rebuildHistory(history, [{ name: 'copy', repo: b }])).toEqual({ runs: 0, steps: 0 });
    history.close();

    const restored = await restoreSource(b, held, { toFile: path.join(work, 'restored.db') });
    expect(restored.checks.length).toBeGreaterThan(0);
    expect(restored.checks.filter((c) => !c.ok)).toEqual([]);
    const rows = new Database(path.join(work, 'restored.db'), { readonly: true })
      .prepare('SELECT count(*) AS n FROM notes')
      .get() as { n: number };
    expect(rows.n).toBe(5000);
  });

  it('deduplicates: a second snapshot sharing most data adds little', async () => {
    const data = path.join(work, 'dedup');
    makeTree(data, 21);
    await writeFile(path.join(data, 'large.bin'), noise(22, 6 * 1024 * 1024));
    const a = await repo('da');
    const b = await repo('db');
    const one = await backup(a, { paths: [data], tags: ['one'] });
    // Change 4 KiB in the middle of the large file and add a small file.
    const large = noise(22, 6 * 1024 * 1024);
    noise(23, 4096).copy(large, 3 * 1024 * 1024);
    await writeFile(path.join(data, 'large.bin'), large);
    await writeFile(path.join(data, 'new.txt'), 'new\n');
    const two = await backup(a, { paths: [data], tags: ['two'] });

    const first = await copy(a, b, { tags: ['one'] });
    expect(first.copied.map((c) => c.from.id)).toEqual([one.snapshot.id]);
    const second = await copy(a, b);
    expect(second.copied.map((c) => c.from.id)).toEqual([two.snapshot.id]);
    expect(first.addedBytes).toBeGreaterThan(9 * 1024 * 1024);
    expect(second.addedBytes).toBeLessThan(3 * 1024 * 1024);
    expect(second.storedBytes).toBeLessThan(first.storedBytes / 4);
    // The copy of the parent is the copy's parent.
    expect(second.copied[0]!.to.parent).toBe(first.copied[0]!.to.id);
    expect(await restoredTree(b, second.copied[0]!.to, path.join(work, 'restored-dedup'), data)).toEqual(
      describeTree(data),
    );
  });

  it('a copy of a copy names the original, and no direction copies it again', async () => {
    const data = path.join(work, 'chain');
    makeTree(data, 31);
    const a = await repo('ca');
    const b = await repo('cb');
    const c = await repo('cc');
    const { snapshot } = await backup(a, { paths: [data] });
    const toB = await copy(a, b);
    const toC = await copy(b, c);
    const inC = toC.copied[0]!.to;
    expect(copiedFromOf(inC)).toEqual({
      repository: b.id,
      snapshot: toB.copied[0]!.to.id,
      origin: { repository: a.id, snapshot: snapshot.id },
    });
    expect((await copy(a, c)).copied).toEqual([]);
    expect((await copy(c, a)).copied).toEqual([]);
    expect((await copy(c, b)).copied).toEqual([]);
    expect(await restoredTree(c, inC, path.join(work, 'restored-chain'), data)).toEqual(describeTree(data));
  });

  it('selects by source, host and tag; a dry run writes nothing', async () => {
    const data = path.join(work, 'select');
    makeTree(data, 41);
    const a = await repo('fa');
    const b = await repo('fb');
    const x = await backup(a, { paths: [data], source: 'x', host: 'h1' });
    await backup(a, { paths: [data], source: 'y', host: 'h1' });
    const z = await backup(a, { paths: [data], source: 'x', host: 'h2', tags: ['t'] });

    const dry = await copy(a, b, { source: 'x', dryRun: true });
    expect(dry.pending.map((s) => s.id)).toEqual([x.snapshot.id, z.snapshot.id]);
    expect(dry.copied).toEqual([]);
    expect((await b.storage.list('')).map((o) => o.name.split('/')[0])).not.toContain('snapshots');
    expect(await b.storage.list('locks/')).toEqual([]);

    expect((await copy(a, b, { source: 'x', tags: ['t'] })).copied.map((c) => c.from.id)).toEqual([z.snapshot.id]);
    expect((await copy(a, b, { host: 'h1', source: 'x' })).copied.map((c) => c.from.id)).toEqual([x.snapshot.id]);
    expect((await copy(a, b, { dryRun: true })).pending.map((s) => s.source)).toEqual(['y']);
  });

  it('refuses to copy a repository into itself', async () => {
    const a = await repo('self');
    await expectRejectsCode(copy(a, a), ErrorCode.Usage);
  });
});
