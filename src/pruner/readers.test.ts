import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { nodeAt } from '../repository/snapshot-tree/index.js';
import { packObjectName } from '../repository/ids.js';
import { renderRecoveryKey } from '../repository/crypto/index.js';
import { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { restore } from '../restorer/restore.js';
import { readSnapshotFile, snapshotFileNode } from '../sources/snapshot-file.js';
import { LocalStorage } from '../storage/drivers/local/index.js';
import { FaultyStorage, type FaultPlan } from '../storage/middleware/index.js';
import { prune } from './prune.js';
import { randomish } from './testing/fixture.js';

/**
 * Readers take no lock (restore, dump, ls, diff): one that loaded the index
 * before a prune sweep deleted repacked packs follows their blobs to the new
 * packs, after one reload of the index that all its reads share. A blob that is
 * really gone is still reported missing, and a damaged pack still as damage.
 *
 * The repository is on local disk. Snapshot `kept` backs up `half/sub`; the
 * forgotten snapshots put its data blobs in packs mixed with unused blobs
 * (the even files of `all/`), its small files in a pack with unused small
 * files, and its `sub` tree in a tree pack with unused trees — so a prune
 * with no grace repacks and deletes every pack the kept snapshot was read from.
 */
const T0 = Date.parse('2030-01-01T00:00:00Z');

let dir: string;
let repoDir: string;
let keyFile: string;
let kept: SnapshotEntry;
let sub: string;
const content = new Map<string, Buffer>();

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-readers-'));
  repoDir = path.join(dir, 'repo');
  keyFile = path.join(dir, 'recovery.txt');
  await mkdir(repoDir);
  const init = await Repository.init(new LocalStorage(repoDir), Buffer.from('readers test'), {
    packSize: 8192,
    chunker: { min: 256, avg: 1024, max: 4096 },
  });
  await writeFile(keyFile, renderRecoveryKey(init.id, init.keys.master));
  await init.close();

  const all = path.join(dir, 'all');
  const half = path.join(dir, 'half');
  sub = path.join(half, 'sub');
  await mkdir(all);
  await mkdir(sub, { recursive: true });
  content.clear();
  for (let i = 0; i < 12; i++) {
    const data = randomish(700 + i, 3000);
    await writeFile(path.join(all, `f${i}.bin`), data);
    if (i % 2 === 0) {
      await writeFile(path.join(sub, `f${i}.bin`), data);
      content.set(`f${i}.bin`, data);
    }
  }
  for (let i = 0; i < 4; i++) {
    const small = randomish(800 + i, 100);
    await writeFile(path.join(sub, `s${i}.txt`), small);
    content.set(`s${i}.txt`, small);
    await writeFile(path.join(half, `t${i}.txt`), randomish(900 + i, 100));
  }
  const repo = await open();
  try {
    const a = await backup(repo, { paths: [all], force: true });
    const b = await backup(repo, { paths: [half], force: true });
    kept = (await backup(repo, { paths: [sub], force: true })).snapshot;
    await rm(path.join(repoDir, 'snapshots', a.snapshot.id));
    await rm(path.join(repoDir, 'snapshots', b.snapshot.id));
  } finally {
    await repo.close();
  }
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

function open(plan?: FaultPlan): Promise<Repository> {
  const storage = new LocalStorage(repoDir);
  return Repository.open(plan ? new FaultyStorage(storage, plan) : storage, { kind: 'key-file', path: keyFile });
}

/** A reader whose index loads (listings of `index/`) are counted. */
async function reader(plan: FaultPlan = () => undefined): Promise<{ repo: Repository; loads: () => number }> {
  let loads = 0;
  const repo = await open((op, name) => {
    if (op === 'list' && name === 'index/') loads++;
    return plan(op, name);
  });
  return { repo, loads: () => loads };
}

async function runPrune(): Promise<void> {
  const repo = await open();
  try {
    const result = await prune(repo, { graceMs: 0, now: () => T0 });
    expect(result.mark.plan.repack.length).toBeGreaterThan(0);
    expect(result.sweep!.consolidated).toBe(true);
  } finally {
    await repo.close();
  }
}

/** The packs a reader reads the kept snapshot from: its `sub` tree's, and each file's. */
async function packsInUse(): Promise<{ tree: string; files: Map<string, string[]> }> {
  const repo = await open();
  try {
    await repo.prepareRead();
    const packOf = (id: string) => repo.index.lookup(Buffer.from(id, 'hex'))!.packId;
    const files = new Map<string, string[]>();
    for (const name of content.keys())
      files.set(name, (await nodeAt(repo, kept.tree, `${sub}/${name}`)).content!.map(packOf));
    return { tree: packOf((await nodeAt(repo, kept.tree, sub)).subtree!), files };
  } finally {
    await repo.close();
  }
}

const exists = (packId: string) =>
  readFile(path.join(repoDir, packObjectName(packId))).then(
    () => true,
    () => false,
  );

async function restoredFiles(repo: Repository): Promise<{ errors: string[]; files: Map<string, Buffer> }> {
  const target = await mkdtemp(path.join(dir, 'restore-'));
  const result = await restore(repo, kept, { target });
  const files = new Map<string, Buffer>();
  for (const name of content.keys()) {
    const data = await readFile(path.join(target, sub, name)).catch(() => undefined);
    if (data) files.set(name, data);
  }
  return { errors: result.errors.map((e) => `${path.basename(e.path)}: ${e.message}`), files };
}

async function dump(repo: Repository, name: string): Promise<Buffer> {
  const node = await snapshotFileNode(repo, kept, `${sub}/${name}`);
  const parts: Buffer[] = [];
  for await (const part of readSnapshotFile(repo, node, name)) parts.push(part);
  return Buffer.concat(parts);
}

describe('a reader that loaded the index before a prune sweep', () => {
  it('restores and dumps byte-identical content from the repacked packs, after one reload of the index', async () => {
    const restorer = await reader();
    const dumper = await reader();
    try {
      await restorer.repo.prepareRead();
      await dumper.repo.prepareRead();
      const used = await packsInUse();
      await runPrune();
      // What makes this test mean something: the reader's tree pack, small-file packs and some of its chunk packs are gone.
      const gone = new Set<string>();
      for (const id of [used.tree, ...[...used.files.values()].flat()]) if (!(await exists(id))) gone.add(id);
      expect(gone.has(used.tree)).toBe(true);
      const moved = [...used.files].filter(([, packs]) => packs.some((id) => gone.has(id))).map(([name]) => name);
      expect(moved).toContain('s0.txt');
      expect(moved.filter((n) => n.endsWith('.bin')).length).toBeGreaterThan(0);
      const before = [restorer.loads(), dumper.loads()];

      const restored = await restoredFiles(restorer.repo);
      expect(restored.errors).toEqual([]);
      expect(restored.files).toEqual(content);
      expect(restorer.loads() - before[0]!).toBe(1);

      for (const name of moved) expect((await dump(dumper.repo, name)).equals(content.get(name)!), name).toBe(true);
      expect(dumper.loads() - before[1]!).toBe(1);
    } finally {
      await restorer.repo.close();
      await dumper.repo.close();
    }
  });

  it('restores when the sweep ran between loading the index and checking the packs', async () => {
    const r = await reader();
    try {
      await r.repo.loadIndex();
      await runPrune();
      await r.repo.prepareRead(); // finds packs missing: loads the index again
      const restored = await restoredFiles(r.repo);
      expect(restored.errors).toEqual([]);
      expect(restored.files).toEqual(content);
      expect(r.loads()).toBe(2);
    } finally {
      await r.repo.close();
    }
  });

  it('restores when the sweep runs while the restore is reading', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    // The restore's first read of a pack waits until the prune has finished.
    const r = await reader((op, name) =>
      (op === 'get' || op === 'getRange') && name.startsWith('data/') && !held
        ? ((held = true), { kind: 'wait', until: gate })
        : undefined,
    );
    try {
      await r.repo.prepareRead();
      const restoring = restoredFiles(r.repo);
      await runPrune();
      release();
      const restored = await restoring;
      expect(held).toBe(true);
      expect(restored.errors).toEqual([]);
      expect(restored.files).toEqual(content);
    } finally {
      await r.repo.close();
    }
  });
});

describe('what a reload does not hide', () => {
  it('a pack deleted by hand (no copy anywhere) still fails its files with the missing-data error, after one reload', async () => {
    const r = await reader();
    try {
      await r.repo.prepareRead();
      const used = await packsInUse();
      const lost = used.files.get('f0.bin')![0]!;
      await rm(path.join(repoDir, packObjectName(lost)));
      const loaded = r.loads();
      const restored = await restoredFiles(r.repo);
      const hit = [...used.files].filter(([, packs]) => packs.includes(lost)).map(([name]) => name);
      expect(restored.errors.map((e) => e.split(':')[0]).sort()).toEqual(hit.sort());
      for (const e of restored.errors) expect(e).toMatch(/is not in any readable pack/);
      expect(r.loads() - loaded).toBe(1);

      // A tree whose pack is lost: its directory is named with the same error, after one reload
      // (damage stays local: the restore goes on with what it can read).
      const t = await reader();
      try {
        await t.repo.prepareRead();
        await rm(path.join(repoDir, packObjectName(used.tree)));
        const prepared = t.loads();
        const result = await restore(t.repo, kept, { target: path.join(dir, 'never') });
        const unreadable = result.plan.refused.map((e) => `${e.path}: ${e.message}`).join('\n');
        expect(unreadable).toMatch(/cannot be read.*is not in any readable pack/);
        expect(t.loads() - prepared).toBe(1);
      } finally {
        await t.repo.close();
      }
    } finally {
      await r.repo.close();
    }
  });

  it('a damaged pack is reported as damage, with no reload', async () => {
    const r = await reader();
    try {
      await r.repo.prepareRead();
      const used = await packsInUse();
      const flip = async (packId: string) => {
        const file = path.join(repoDir, packObjectName(packId));
        // Every byte inverted, the size kept: every blob in the pack fails authentication.
        await writeFile(
          file,
          (await readFile(file)).map((b) => b ^ 0xff),
        );
      };
      await flip(used.files.get('f0.bin')![0]!);
      const restored = await restoredFiles(r.repo);
      expect(restored.errors.some((e) => e.startsWith('f0.bin'))).toBe(true);
      expect(restored.errors.join('\n')).not.toMatch(/not in any readable pack/);
      expect(r.loads()).toBe(1);

      await flip(used.tree);
      const t = await reader();
      try {
        await t.repo.prepareRead();
        const result = await restore(t.repo, kept, { target: path.join(dir, 'never') });
        const unreadable = result.plan.refused.map((e) => `${e.path}: ${e.message}`).join('\n');
        expect(unreadable).toMatch(/cannot be read/);
        expect(unreadable).not.toMatch(/not in any readable pack/);
        expect(t.loads()).toBe(1);
      } finally {
        await t.repo.close();
      }
    } finally {
      await r.repo.close();
    }
  });
});
