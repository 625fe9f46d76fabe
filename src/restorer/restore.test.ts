import { createCipheriv } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { Repository } from '../repository/repository.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { restore } from './restore.js';

/** Deterministic pseudo-random bytes (AES-CTR keystream). */
function bytes(seed: number, n: number): Buffer {
  return createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16)).update(Buffer.alloc(n));
}

let dir: string;
let repo: Repository;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-restore-'));
  repo = await Repository.init(new MemoryStorage(), Buffer.from('restore-test-password'), {
    chunker: { min: 4096, avg: 16384, max: 65536 },
  });
}, 60_000);

afterAll(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

describe('restore of files made of several blobs (written by the workers at their offsets)', () => {
  it('restores files across batch boundaries, repeated chunks and many files exactly', async () => {
    const src = path.join(dir, 'src');
    await mkdir(path.join(src, 'many'), { recursive: true });
    const expected = new Map<string, Buffer>();
    const put = async (rel: string, data: Buffer) => {
      await writeFile(path.join(src, rel), data);
      expected.set(rel, data);
    };
    // 40 MiB with a repeated segment: spans two batches and repeats chunks within the file.
    const seg = bytes(1, 5 * 1024 * 1024);
    await put(
      'big.bin',
      Buffer.concat([
        seg,
        bytes(2, 12 * 1024 * 1024),
        seg,
        Buffer.alloc(9 * 1024 * 1024, 7),
        seg,
        bytes(3, 4 * 1024 * 1024 + 1),
      ]),
    );
    // More multi-blob files than one batch opens, several sharing content with each other.
    for (let i = 0; i < 300; i++)
      await put(`many/f${i}.bin`, i % 3 === 0 ? bytes(100, 20_000 + 4096) : bytes(200 + i, 20_000 + i * 97));
    await put('empty', Buffer.alloc(0));
    await put('small.txt', Buffer.from('one blob\n'));

    const result = await backup(repo, { paths: [src], host: 'test' });
    const target = path.join(dir, 'target');
    const restored = await restore(repo, result.snapshot, { target });
    expect(restored.errors).toEqual([]);
    expect(restored.files).toBe(expected.size);
    const root = path.join(target, src);
    for (const [rel, data] of expected) expect((await readFile(path.join(root, rel))).equals(data), rel).toBe(true);
    expect((await readdir(path.join(root, 'many'))).length).toBe(300);
  }, 120_000);
});

describe('restored times', () => {
  it('restores the modification time of files, directories and symlinks to the nanosecond', async () => {
    const src = path.join(dir, 'times');
    await mkdir(path.join(src, 'sub'), { recursive: true });
    await writeFile(path.join(src, 'sub', 'one-blob.txt'), 'small\n');
    await writeFile(path.join(src, 'sub', 'many-blobs.bin'), bytes(9, 300_000));
    await symlink('one-blob.txt', path.join(src, 'sub', 'link'));
    // Nanosecond times a double of seconds cannot carry (Node's utimes rounds them to about a microsecond).
    const times: Record<string, string> = {
      'sub/one-blob.txt': '1700000000.123456789',
      'sub/many-blobs.bin': '1600000000.987654321',
      'sub/link': '1500000000.000000001',
      sub: '1650000000.555555555',
    };
    for (const [rel, t] of Object.entries(times))
      execFileSync('touch', ['-h', '-m', '-d', `@${t}`, path.join(src, rel)]);
    const result = await backup(repo, { paths: [src], host: 'test' });
    const target = path.join(dir, 'times-target');
    const restored = await restore(repo, result.snapshot, { target });
    expect(restored.errors).toEqual([]);
    for (const [rel, t] of Object.entries(times)) {
      const st = await lstat(path.join(target, src, rel), { bigint: true });
      expect(st.mtimeNs, rel).toBe(BigInt(t.replace('.', '')));
    }
    expect((await stat(path.join(target, src, 'sub', 'link'))).isFile()).toBe(true);
  }, 60_000);
});

describe('many directories', () => {
  // Beyond the directories whose descriptor is held, each is reached again from a held ancestor, checked step by step.
  it('restores a tree of more directories than it keeps open, with their modes and files', async () => {
    const src = path.join(dir, 'wide');
    for (let i = 0; i < 600; i++) {
      await mkdir(path.join(src, `d${i}`, 'inner'), { recursive: true, mode: 0o750 });
      await writeFile(path.join(src, `d${i}`, 'inner', 'f.txt'), `file ${i}\n`);
    }
    const result = await backup(repo, { paths: [src], host: 'test' });
    const target = path.join(dir, 'wide-target');
    const restored = await restore(repo, result.snapshot, { target });
    expect(restored.errors).toEqual([]);
    expect(restored.files).toBe(600);
    for (const i of [0, 311, 599]) {
      expect(await readFile(path.join(target, src, `d${i}`, 'inner', 'f.txt'), 'utf8')).toBe(`file ${i}\n`);
      expect((await stat(path.join(target, src, `d${i}`, 'inner'))).mode & 0o777).toBe(0o750);
    }
  }, 120_000);
});
