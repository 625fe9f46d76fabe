import { appendFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../repository/repository.js';
import { restore } from '../restorer/restore.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { pseudoRandomBytes } from '../repository/testing/helpers.js';
import { backup } from './backup.js';

/**
 * A file written while it is read would be stored as a mix of two versions.
 * The walker compares size, mtime, ctime and inode before and after the read,
 * reads a changed file once more, and reports it when it changed again. The
 * `afterRead` hook changes the file at a fixed point, deterministically; the
 * detection is the walker's own.
 */
let dir: string;
let repo: Repository;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-torn-'));
  repo = await Repository.init(new MemoryStorage(), Buffer.from('torn-test-password'), {
    chunker: { min: 4096, avg: 16384, max: 65536 },
  });
}, 60_000);

afterAll(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

async function restored(snapshot: Parameters<typeof restore>[1], file: string): Promise<Buffer> {
  const target = await mkdtemp(path.join(dir, 'restore-'));
  await restore(repo, snapshot, { target });
  return readFile(path.join(target, file));
}

describe.each([
  ['a small file (read by a worker in one piece)', 1000],
  ['a large file (chunked by a worker)', 600_000],
])('%s changed while it is read', (_label, size) => {
  let n = 0;
  const fresh = async () => {
    const data = path.join(dir, `data-${size}-${++n}`);
    await mkdir(data);
    const file = path.join(data, 'db.bin');
    await writeFile(file, pseudoRandomBytes(n, size));
    return { data, file };
  };

  it('is read again when it changed once, and the second, consistent read is stored', async () => {
    const { data, file } = await fresh();
    const rewritten = pseudoRandomBytes(`rewritten-${size}`, size + 10);
    let reads = 0;
    const result = await backup(repo, {
      paths: [data],
      afterRead: async (p) => {
        if (p === file && reads++ === 0) await writeFile(file, rewritten);
      },
    });
    expect(reads).toBe(2);
    expect(result.errors).toEqual([]);
    expect((await restored(result.snapshot, file)).equals(rewritten)).toBe(true);
  });

  it('is reported as an input error naming it when it changes at every read (rewritten, then truncated)', async () => {
    const { data, file } = await fresh();
    let reads = 0;
    const result = await backup(repo, {
      paths: [data],
      afterRead: async (p) => {
        if (p !== file) return;
        if (reads++ === 0) await appendFile(file, 'more');
        else await truncate(file, 10);
      },
    });
    expect(reads).toBe(2);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.path).toBe(file);
    expect(result.errors[0]!.message).toContain('changed while it was read');
    expect(result.snapshot.summary.errors).toBe(1);
  });
});

it('an unchanged file is read once', async () => {
  const data = path.join(dir, 'calm');
  await mkdir(data);
  await writeFile(path.join(data, 'a'), 'still');
  let reads = 0;
  const result = await backup(repo, { paths: [data], afterRead: async () => void reads++ });
  expect(reads).toBe(1);
  expect(result.errors).toEqual([]);
});

it('bounds the files in flight: a directory of many files is not read all at once', async () => {
  const data = path.join(dir, 'many');
  await mkdir(data);
  for (let i = 0; i < 1500; i++) await writeFile(path.join(data, `f${i}`), `file ${i}`);
  let waiting = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const running = backup(repo, {
    paths: [data],
    afterRead: async () => {
      waiting++;
      await gate;
    },
  });
  // Wait until no more reads finish while the gate is closed (files past the bound wait for a slot).
  let last = -1;
  let stable = 0;
  while (stable < 5) {
    await new Promise((r) => setTimeout(r, 100));
    stable = waiting === last && waiting > 0 ? stable + 1 : 0;
    last = waiting;
  }
  expect(waiting).toBeLessThanOrEqual(1024);
  open();
  const result = await running;
  expect(result.snapshot.summary.files).toBe(1500);
  expect(result.errors).toEqual([]);
}, 120_000);
