/**
 * Test-only helpers for the copy tests: repositories in a temp dir, a varied
 * input tree, and a byte-for-byte comparison of restored trees. Never import
 * from production code.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { restore } from '../../restorer/restore.js';
import { Repository, type InitOptions } from '../../repository/repository.js';
import type { SnapshotEntry } from '../../repository/format/index.js';
import type { Storage } from '../../storage/contract.js';
import { openStorage } from '../../storage/registry.js';

export async function newRepo(
  dir: string,
  password: string,
  options: InitOptions = {},
  wrap: (s: Storage) => Storage = (s) => s,
): Promise<Repository> {
  return Repository.init(wrap(await openStorage(dir, { create: true })), Buffer.from(password), {
    packSize: 256 * 1024,
    ...options,
  });
}

/** Bytes that neither compress nor repeat, from a seed. */
export function noise(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let block = createHash('sha256').update(`seed ${seed}`).digest();
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Files of every kind and size class: empty, small, several chunks, modes, a symlink, two names of one file. */
export function makeTree(root: string, seed = 1): void {
  mkdirSync(path.join(root, 'docs', 'deep'), { recursive: true });
  mkdirSync(path.join(root, 'private'), { mode: 0o700 });
  writeFileSync(path.join(root, 'empty'), '');
  writeFileSync(path.join(root, 'small.txt'), 'hello, copy\n');
  writeFileSync(path.join(root, 'docs', 'readme.md'), '# readme\n'.repeat(500));
  writeFileSync(path.join(root, 'docs', 'deep', 'big.bin'), noise(seed, 3 * 1024 * 1024 + 17));
  writeFileSync(path.join(root, 'private', 'key.pem'), noise(seed + 1, 700), { mode: 0o600 });
  writeFileSync(path.join(root, 'docs', 'mid.bin'), noise(seed + 2, 200 * 1024), { mode: 0o640 });
  symlinkSync('docs/readme.md', path.join(root, 'link'));
  linkSync(path.join(root, 'docs', 'mid.bin'), path.join(root, 'mid-again.bin'));
  utimesSync(path.join(root, 'small.txt'), new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
}

/** Every entry under `root` by relative path: type, mode, mtime, content hash or link target, and which names share an inode. */
export function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(full);
      } else if (st.isSymbolicLink()) out[rel] = `symlink -> ${readlinkSync(full)}`;
      else {
        const first = st.nlink > 1 ? inodes.get(st.ino) : undefined;
        if (st.nlink > 1 && !first) inodes.set(st.ino, rel);
        out[rel] =
          `file ${mode} ${Math.floor(st.mtimeMs)} ${createHash('sha256').update(readFileSync(full)).digest('hex')}${first ? ` linked to ${first}` : ''}`;
      }
    }
  };
  walk(root);
  return out;
}

/** Restore `snapshot` into `target` and describe what came back under the snapshot path `at`. */
export async function restoredTree(
  repo: Repository,
  snapshot: SnapshotEntry,
  target: string,
  at: string,
): Promise<Record<string, string>> {
  const result = await restore(repo, snapshot, { target });
  if (result.errors.length) throw new Error(`restore failed: ${JSON.stringify(result.errors)}`);
  return describeTree(path.join(target, at));
}
