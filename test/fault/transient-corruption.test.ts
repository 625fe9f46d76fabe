import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/archiver/backup.js';
import { check } from '../../src/checker/check.js';
import { copy } from '../../src/copier/copy.js';
import { Repository } from '../../src/repository/repository.js';
import { restore } from '../../src/restorer/restore.js';
import { readSnapshotFile, snapshotFileNode } from '../../src/sources/snapshot-file.js';
import { FaultyStorage, type FaultPlan } from '../../src/storage/middleware/index.js';
import { openStorage } from '../../src/storage/registry.js';
import { MemoryStorage } from '../../src/storage/drivers/memory/index.js';
import { tempDir } from '../helpers/cli.js';
import { contentSha256 } from '../helpers/repo-lib.js';
import { prng, seededBytes } from '../helpers/e2e.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * A read from remote storage that arrives damaged once (a flipped byte on the
 * way) is not damage in storage: every reader reads once more before it
 * declares damage — restore, dump, check --read-data, copy, and the reads of
 * snapshots, index files and tree packs. Damage that stays is still fatal and
 * never turns into wrong bytes. The storage is the real S3 test server, with
 * the fault-injecting middleware in front of its driver.
 */

const PW = Buffer.from('transient corruption password');
const creds = { kind: 'password' as const, password: PW, source: 'test' };

let server: S3Server;
let dir: string;
let cleanup: () => Promise<void>;
let data: string;
let snapshotPath: (file: string) => string;
const location = 's3://lifeboat-transient/repo';

const remote = () => ({
  endpoint: server.endpoint,
  region: 'us-east-1',
  pathStyle: true,
  credentialsFile: server.credentialsFile,
});

/** A plan that flips a byte in the first read of every object (or of those `which` picks), and reads normally after. */
function everyFirstReadDamaged(which: (op: 'get' | 'getRange', name: string) => boolean = () => true): FaultPlan {
  const seen = new Set<string>();
  return (op, name) => {
    if ((op !== 'get' && op !== 'getRange') || !which(op, name)) return undefined;
    const first = !seen.has(name);
    seen.add(name);
    return first ? { kind: 'corrupt-read' } : undefined;
  };
}

/** A plan that damages every read of objects under `prefix` (damage in storage). */
function alwaysDamaged(prefix: string): FaultPlan {
  return (op, name) =>
    (op === 'get' || op === 'getRange') && name.startsWith(prefix) ? { kind: 'corrupt-read' } : undefined;
}

async function openFaulty(plan: FaultPlan): Promise<{ repo: Repository; faulty: FaultyStorage }> {
  const faulty = new FaultyStorage(await openStorage(location, { remote: remote() }), plan);
  return { repo: await Repository.open(faulty, creds), faulty };
}

beforeAll(async () => {
  server = await startS3Server();
  ({ dir, cleanup } = await tempDir('lifeboat-transient-'));
  data = path.join(dir, 'data');
  mkdirSync(data);
  const rng = prng(5);
  writeFileSync(path.join(data, 'big.bin'), seededBytes(rng, 3 * 1024 * 1024)); // many chunks: the chunked path
  for (let i = 0; i < 5; i++) writeFileSync(path.join(data, `small-${i}.txt`), `small file ${i}\n`.repeat(50)); // one blob each
  const repo = await Repository.init(await openStorage(location, { create: true, remote: remote() }), PW, {
    packSize: 512 * 1024,
  });
  try {
    await backup(repo, { paths: [data], host: 'test' });
  } finally {
    await repo.close();
  }
  snapshotPath = (file) => path.join(data, file);
}, 120_000);

afterAll(async () => {
  await cleanup?.();
  await server?.stop();
});

describe('a read damaged once on the way is read again', () => {
  it('restore: snapshots, index files, tree packs and data ranges each damaged on their first read; every file restores exactly', async () => {
    const { repo, faulty } = await openFaulty(everyFirstReadDamaged());
    try {
      const { snapshots, problems } = await repo.listSnapshots();
      expect(problems).toEqual([]);
      expect(await repo.prepareRead()).toMatchObject({ missing: [], wrongSize: [] });
      const target = path.join(dir, 'restored-once');
      const result = await restore(repo, snapshots[0]!, { target });
      expect(result.errors).toEqual([]);
      for (const f of ['big.bin', 'small-0.txt', 'small-4.txt']) {
        expect(readFileSync(path.join(target, snapshotPath(f))).equals(readFileSync(path.join(data, f))), f).toBe(true);
      }
      expect(faulty.calls.getRange).toBeGreaterThan(1);
    } finally {
      await repo.close();
    }
  }, 120_000);

  const readers: Array<[string, (op: 'get' | 'getRange', name: string) => boolean]> = [
    ['key slots', (_op, name) => name.startsWith('keys/')],
    ['the config', (_op, name) => name === 'config'],
    ['snapshots', (_op, name) => name.startsWith('snapshots/')],
    ['index files', (_op, name) => name.startsWith('index/')],
    ['tree packs (read whole)', (op, name) => op === 'get' && name.startsWith('data/')],
    ['data ranges', (op, name) => op === 'getRange' && name.startsWith('data/')],
  ];
  for (const [what, which] of readers) {
    it(`restore: only ${what} damaged on their first read; every file restores exactly`, async () => {
      const { repo } = await openFaulty(everyFirstReadDamaged(which));
      try {
        const { snapshots, problems } = await repo.listSnapshots();
        expect(problems).toEqual([]);
        const target = path.join(dir, `restored-${what.replace(/\W+/g, '-')}`);
        const result = await restore(repo, snapshots[0]!, { target });
        expect(result.errors).toEqual([]);
        for (const f of ['big.bin', 'small-0.txt'])
          expect(readFileSync(path.join(target, snapshotPath(f))).equals(readFileSync(path.join(data, f))), f).toBe(
            true,
          );
      } finally {
        await repo.close();
      }
    }, 120_000);
  }

  it('readBlob (blobs read one by one on the main thread): data ranges damaged on their first read give the exact content', async () => {
    const { repo } = await openFaulty(
      everyFirstReadDamaged((op, name) => op === 'getRange' && name.startsWith('data/')),
    );
    try {
      await repo.prepareRead();
      const [snapshot] = (await repo.listSnapshots()).snapshots;
      const node = await snapshotFileNode(repo, snapshot!, snapshotPath('big.bin'));
      const content = await contentSha256(repo, node);
      expect(content).toBe(
        createHash('sha256')
          .update(readFileSync(path.join(data, 'big.bin')))
          .digest('hex'),
      );
    } finally {
      await repo.close();
    }
  }, 120_000);

  it('dump: a file read through damaged first reads comes out exactly', async () => {
    const { repo } = await openFaulty(everyFirstReadDamaged());
    try {
      await repo.prepareRead();
      const [snapshot] = (await repo.listSnapshots()).snapshots;
      const node = await snapshotFileNode(repo, snapshot!, snapshotPath('big.bin'));
      const parts: Buffer[] = [];
      for await (const part of readSnapshotFile(repo, node, 'big.bin')) parts.push(part);
      expect(Buffer.concat(parts).equals(readFileSync(path.join(data, 'big.bin')))).toBe(true);
    } finally {
      await repo.close();
    }
  }, 120_000);

  it('check --read-data: every pack damaged on its first read; no errors found', async () => {
    const { repo } = await openFaulty(everyFirstReadDamaged());
    try {
      const report = await check(repo, { readDataPercent: 100 });
      expect(report.findings).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.packsRead).toBeGreaterThan(1);
    } finally {
      await repo.close();
    }
  }, 120_000);

  it('copy: the source read through damaged first reads; the copy is complete and checks clean', async () => {
    const { repo: src } = await openFaulty(everyFirstReadDamaged());
    const dest = await Repository.init(new MemoryStorage(), PW);
    try {
      const result = await copy(src, dest);
      expect(result.copied).toHaveLength(1);
      const report = await check(dest, { readDataPercent: 100 });
      expect(report.findings).toEqual([]);
    } finally {
      await src.close();
      await dest.close();
    }
  }, 120_000);
});

describe('damage that stays is fatal', () => {
  it('restore: every read of the data packs damaged; files fail, none is written with wrong bytes', async () => {
    const { repo, faulty } = await openFaulty(() => undefined);
    try {
      await repo.prepareRead();
      const [snapshot] = (await repo.listSnapshots()).snapshots;
      await repo.loadTree(snapshot!.tree); // trees read intact; only data reads are damaged from here
      faulty.setPlan((op, name) =>
        op === 'getRange' && name.startsWith('data/') ? { kind: 'corrupt-read' } : undefined,
      );
      const target = path.join(dir, 'restored-damaged');
      const result = await restore(repo, snapshot!, { target });
      expect(result.errors.length).toBeGreaterThan(0);
      expect(result.errors.map((e) => e.message).join('\n')).toMatch(/authentication|another id|corrupt/i);
      // A range holds several blobs and the fault flips one byte of it: the other blobs' files restore, exactly.
      expect(result.errors.some((e) => e.path.endsWith('big.bin'))).toBe(true);
      for (const f of ['big.bin', 'small-0.txt', 'small-1.txt', 'small-2.txt', 'small-3.txt', 'small-4.txt']) {
        let restored: Buffer;
        try {
          restored = readFileSync(path.join(target, snapshotPath(f)));
        } catch {
          continue; // not restored: failed loudly above
        }
        expect(restored.equals(readFileSync(path.join(data, f))), f).toBe(true);
      }
    } finally {
      await repo.close();
    }
  }, 120_000);

  it('check --read-data: packs damaged on every read are reported', async () => {
    const { repo } = await openFaulty(() => undefined);
    try {
      await repo.loadIndex();
      const packs = repo.index.packIds();
      const victim = packs[0]!;
      const { repo: damaged } = await openFaulty(alwaysDamaged(`data/${victim.slice(0, 2)}/${victim}`));
      try {
        const report = await check(damaged, { readDataPercent: 100 });
        expect(report.ok).toBe(false);
        expect(report.findings.some((f) => f.pack === victim && f.kind === 'corrupt-pack')).toBe(true);
      } finally {
        await damaged.close();
      }
    } finally {
      await repo.close();
    }
  }, 120_000);

  it('a snapshot damaged on every read is unreadable, not retried into wrong bytes', async () => {
    const { repo } = await openFaulty(alwaysDamaged('snapshots/'));
    try {
      const { snapshots, problems } = await repo.listSnapshots();
      expect(snapshots).toEqual([]);
      expect(problems).toHaveLength(1);
      expect(problems[0]!.error.message).toMatch(/content hash/);
    } finally {
      await repo.close();
    }
  }, 120_000);
});
