import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealCompressed, BlobType, BlobCompressor, type TreeNode } from '../../src/repository/format/index.js';
import { Packer } from '../../src/repository/packer.js';
import type { Repository } from '../../src/repository/repository.js';
import { restore } from '../../src/restorer/restore.js';
import { tempDir } from '../helpers/cli.js';
import { initRepo, openRepo } from '../helpers/repo-lib.js';

/**
 * A blob whose envelope authenticates (sealed with the repository's key) but
 * whose content is not the content of its id — what a writer bug would store.
 * Restore checks every blob against its id: such a file is reported and not
 * left behind, on both restore paths (single-blob files written by workers,
 * multi-blob files written by the main thread).
 */
const PW = 'mislabelled-password';
const MTIME = '1704067200000000000';
let dir: string;
let cleanup: () => Promise<void>;
let snapshotTree: string;

async function sealAs(repo: Repository, packer: Packer, content: Buffer, claimedContent: Buffer): Promise<string> {
  const id = repo.blobIdOf(claimedContent);
  const sealed = sealCompressed(repo.keys.encryption, id, new BlobCompressor(1).compress(content));
  await packer.add(BlobType.Data, id, sealed, content.length);
  return id.toString('hex');
}

async function sealHonest(repo: Repository, packer: Packer, content: Buffer): Promise<string> {
  const s = repo.sealOnMain(content);
  await packer.add(BlobType.Data, s.id, s.sealed, s.rawLength);
  return s.id.toString('hex');
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-mislabelled-'));
  const repo = await initRepo(path.join(dir, 'repo'), PW);
  try {
    const packer = new Packer({
      storage: repo.storage,
      encryptionKey: repo.keys.encryption,
      index: repo.index,
      packSize: repo.config.packSize,
    });
    const file = (name: string, content: string[], size: number): TreeNode => ({
      name,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtimeNs: MTIME,
      size,
      content,
    });
    const good = Buffer.from('good content\n'.repeat(100));
    const evil = Buffer.from('EVIL content\n'.repeat(100)); // same length as `good`
    const part = Buffer.from('a second part\n'.repeat(100));
    const single = await sealAs(repo, packer, evil, Buffer.from('claimed single\n'.repeat(100)));
    const first = await sealHonest(repo, packer, good);
    const bad = await sealAs(repo, packer, evil, Buffer.from('claimed part\n'.repeat(100)));
    const nodes = [
      file('good.txt', [await sealHonest(repo, packer, part)], part.length),
      file('single.txt', [single], evil.length),
      file('chunked.txt', [first, bad], good.length + evil.length),
    ];
    const tree = repo.sealOnMain(repo.encodeTree({ nodes }));
    await packer.add(BlobType.Tree, tree.id, tree.sealed, tree.rawLength);
    await packer.flush();
    await repo.saveIndex(packer.takeStoredPacks());
    snapshotTree = tree.id.toString('hex');
  } finally {
    await repo.close();
  }
});

afterAll(async () => cleanup());

describe('a blob stored under the id of other content', () => {
  it('is refused by restore on both paths; intact files are restored', async () => {
    const repo = await openRepo(path.join(dir, 'repo'), PW);
    const target = path.join(dir, 'target');
    try {
      const result = await restore(repo, { id: 'x', tree: snapshotTree } as never, { target });
      const failed = result.errors.map((e) => e.path).sort();
      expect(failed).toEqual(['/chunked.txt', '/single.txt']);
      for (const e of result.errors) expect(e.message).toMatch(/content of another id/);
      expect(existsSync(path.join(target, 'single.txt'))).toBe(false);
      expect(existsSync(path.join(target, 'chunked.txt'))).toBe(false);
      expect(readFileSync(path.join(target, 'good.txt'), 'utf8')).toBe('a second part\n'.repeat(100));
    } finally {
      await repo.close();
    }
  });
});
