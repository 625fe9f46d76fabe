import { rm, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { check } from '../checker/check.js';
import { blobIdFromHex, type TreeNode } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import { snapshotNodes } from '../../test/helpers/repo-lib.js';
import { copy } from './copy.js';
import { describeTree, makeTree, newRepo, noise, restoredTree } from './testing/fixture.js';

/** Bytes of the distinct contents of a snapshot's files: what a full copy reads from the source. */
async function distinctContentBytes(repo: Repository, tree: string): Promise<number> {
  const seen = new Map<string, number>();
  for (const n of (await snapshotNodes(repo, { tree })).values())
    if (n.type === 'file' || n.type === 'stream') seen.set(`${n.size}:${(n.content ?? []).join(',')}`, n.size ?? 0);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

const files = (nodes: Map<string, TreeNode>) => [...nodes.values()].filter((n) => n.type === 'file');

/**
 * `copy` against the destination's copy of an earlier snapshot of the same
 * source: only what changed is read from the source, the result restores byte
 * for byte, and a base that is damaged, made from another repository, or
 * missing costs a full read, never a snapshot naming data the destination lacks.
 */
describe('incremental copy', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-copy-incr-'));
  const repos: Repository[] = [];
  const repo = async (name: string) => {
    const r = await newRepo(path.join(work, name), `pw-${name}`);
    repos.push(r);
    return r;
  };
  afterAll(async () => {
    for (const r of repos) await r.close();
    await rm(work, { recursive: true, force: true });
  });

  it('reads only the changed files from the source; the copy restores byte-identical', async () => {
    const data = path.join(work, 'files');
    makeTree(data, 3);
    const a = await repo('a');
    const b = await repo('b');
    const one = await backup(a, { paths: [data], tags: ['one'] });
    const first = await copy(a, b);
    expect(first.copied[0]!.base).toBeUndefined();
    expect(first.bytesRead).toBe(await distinctContentBytes(a, one.snapshot.tree));

    await writeFile(path.join(data, 'docs', 'readme.md'), 'changed\n'.repeat(1000));
    await writeFile(path.join(data, 'new.txt'), 'new\n');
    const two = await backup(a, { paths: [data], tags: ['two'] });
    const second = await copy(a, b);
    const copied = second.copied[0]!;
    expect(copied.from.id).toBe(two.snapshot.id);
    expect(copied.base).toBe(first.copied[0]!.to.id);
    expect(copied.to.parent).toBe(first.copied[0]!.to.id);
    // Only the changed and the new file are read; every other file is taken from the first copy.
    expect(second.bytesRead).toBe(8000 + 4);
    const nodes = await snapshotNodes(a, two.snapshot);
    expect(second.filesReused).toBe(files(nodes).length - 2);
    expect(second.bytesReused).toBe(files(nodes).reduce((sum, n) => sum + (n.size ?? 0), 0) - 8000 - 4);
    expect(await restoredTree(b, copied.to, path.join(work, 'restored-two'), data)).toEqual(describeTree(data));
    expect((await check(b)).ok).toBe(true);

    // Unchanged directories are the first copy's trees as they are.
    const firstTop = await b.loadTree(first.copied[0]!.to.tree);
    const secondTop = await b.loadTree(copied.to.tree);
    const subtree = async (top: typeof firstTop, at: string[]) => {
      let t = top;
      let id = '';
      for (const name of at) {
        id = t.nodes.find((n) => n.name === name)!.subtree!;
        t = await b.loadTree(id);
      }
      return id;
    };
    const below = data.split('/').filter(Boolean);
    expect(await subtree(secondTop, [...below, 'private'])).toBe(await subtree(firstTop, [...below, 'private']));
    expect(await subtree(secondTop, [...below, 'docs', 'deep'])).toBe(
      await subtree(firstTop, [...below, 'docs', 'deep']),
    );
  });

  it('reads again what a lost pack of the earlier copy held, and the copy restores', async () => {
    const data = path.join(work, 'lost');
    makeTree(data, 5);
    const a = await repo('la');
    const b = await repo('lb');
    await backup(a, { paths: [data] });
    const first = await copy(a, b);
    const big = (await snapshotNodes(b, first.copied[0]!.to)).get(path.posix.join(data, 'docs/deep/big.bin'))!;
    const lostPack = b.index.lookup(blobIdFromHex(big.content![0]!))!.packId;
    const [object] = (await b.storage.list('data/')).filter((o) => o.name.endsWith(lostPack));
    await b.storage.remove(object!.name);

    await writeFile(path.join(data, 'small.txt'), 'changed\n');
    await backup(a, { paths: [data] });
    const second = await copy(a, b);
    const copied = second.copied[0]!;
    expect(copied.base).toBe(first.copied[0]!.to.id);
    // big.bin is read from the source again (its content is no longer all held); small.txt changed.
    expect(second.bytesRead).toBeGreaterThanOrEqual(big.size! + 8);
    expect(await restoredTree(b, copied.to, path.join(work, 'restored-lost'), data)).toEqual(describeTree(data));
    for (const node of (await snapshotNodes(b, copied.to)).values())
      for (const id of node.content ?? []) expect(b.index.lookup(blobIdFromHex(id))?.packId).not.toBe(lostPack);
  });

  it('does not copy against a copy made from another repository', async () => {
    const data = path.join(work, 'other');
    makeTree(data, 7);
    const a = await repo('oa');
    const b = await repo('ob');
    const c = await repo('oc');
    await backup(a, { paths: [data] });
    await copy(a, b);
    const viaB = await copy(b, c); // c's copy of the first snapshot comes from b, not from a
    await writeFile(path.join(data, 'small.txt'), 'changed\n');
    const two = await backup(a, { paths: [data] });
    const second = await copy(a, c);
    expect(second.copied.map((x) => x.from.id)).toEqual([two.snapshot.id]);
    const copied = second.copied[0]!;
    expect(copied.base).toBeUndefined();
    expect(copied.to.parent).toBe(viaB.copied[0]!.to.id);
    expect(second.bytesRead).toBe(await distinctContentBytes(a, two.snapshot.tree));
    expect(await restoredTree(c, copied.to, path.join(work, 'restored-other'), data)).toEqual(describeTree(data));
  });

  it('reads everything when no earlier snapshot has a copy; else copies against the latest earlier one', async () => {
    const data = path.join(work, 'none');
    makeTree(data, 9);
    const a = await repo('na');
    const b = await repo('nb');
    const one = await backup(a, { paths: [data], tags: ['one'] });
    await writeFile(path.join(data, 'a.bin'), noise(10, 50_000));
    await backup(a, { paths: [data], tags: ['two'] });
    await writeFile(path.join(data, 'b.bin'), noise(11, 60_000));
    const three = await backup(a, { paths: [data], tags: ['three'] });

    const onlyThree = await copy(a, b, { tags: ['three'] });
    expect(onlyThree.copied[0]!.base).toBeUndefined();
    expect(onlyThree.bytesRead).toBe(await distinctContentBytes(a, three.snapshot.tree));

    // The first snapshot is older than the only copy: nothing earlier to copy against.
    const onlyOne = await copy(a, b, { tags: ['one'] });
    expect(onlyOne.copied[0]!.base).toBeUndefined();
    expect(onlyOne.bytesRead).toBe(await distinctContentBytes(a, one.snapshot.tree));

    // The second's parent (the first) has a copy: only a.bin is read.
    const rest = await copy(a, b);
    expect(rest.copied[0]!.base).toBe(onlyOne.copied[0]!.to.id);
    expect(rest.bytesRead).toBe(50_000);
    expect((await check(b)).ok).toBe(true);
  });
});
