/**
 * Another local user who owns a directory inside the target swaps a directory
 * the restore made in it for a symlink to somewhere outside, in a tight loop,
 * while a root restore writes thousands of files there. Every entry is made
 * and opened through descriptors, so nothing may land outside the target.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { Repository } from '../repository/repository.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { restore } from './restore.js';

const NOBODY = 65534;
const FILES = 3000;

/**
 * The swapping loop, run as `nobody`: whenever `dir` is a real directory, move it aside and put a symlink
 * to `outside` in its place. Bounded in swaps and time (60 s: generous, the restore it races takes seconds).
 */
const SWAPPER = `
const fs = require('node:fs');
const [dir, outside] = process.argv.slice(1);
const end = Date.now() + 60000;
let swaps = 0;
for (let i = 0; i < 5e6 && swaps < 2000 && Date.now() < end; i++) {
  if (fs.existsSync(dir + '.stop')) break;
  try {
    if (!fs.lstatSync(dir).isDirectory()) continue;
    fs.renameSync(dir, dir + '.moved' + swaps);
    fs.symlinkSync(outside, dir);
    swaps++;
  } catch {}
}
process.stdout.write(String(swaps));
`;

let base: string;
let repo: Repository;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-race-'));
  await chmod(base, 0o755); // nobody must reach the directory it owns
  repo = await Repository.init(new MemoryStorage(), Buffer.from('race-test-password'));
}, 60_000);

afterAll(async () => {
  await repo.close();
  await rm(base, { recursive: true, force: true });
});

describe('a root restore racing a symlink swap by another user', () => {
  it('writes nothing outside the target while a directory inside it is swapped for a symlink', async () => {
    expect(process.getuid?.(), 'this test runs as root (the restore) and spawns the swapper as nobody').toBe(0);
    const src = path.join(base, 'src');
    await mkdir(path.join(src, 'home', 'shared', 'data'), { recursive: true });
    for (let i = 0; i < FILES; i++)
      await writeFile(path.join(src, 'home', 'shared', 'data', `f${i}.txt`), `file ${i}\n`);
    const snap = (await backup(repo, { paths: [src], host: 'test' })).snapshot;

    const target = path.join(base, 'target');
    const outside = path.join(base, 'outside');
    await mkdir(outside, { mode: 0o777 });
    await chmod(outside, 0o777);
    // The directory the other user owns inside the target, as a restore with --force into a live tree meets it.
    const shared = path.join(target, src, 'home', 'shared');
    await mkdir(shared, { recursive: true, mode: 0o755 });
    for (let d = shared; d !== base; d = path.dirname(d)) await chmod(d, 0o755);
    await chown(shared, NOBODY, NOBODY);

    const victim = path.join(shared, 'data');
    const swapper = spawn(process.execPath, ['-e', SWAPPER, victim, outside], {
      uid: NOBODY,
      gid: NOBODY,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let swaps = '';
    swapper.stdout!.setEncoding('utf8').on('data', (d: string) => (swaps += d));
    const exited = new Promise<void>((resolve) => swapper.on('close', () => resolve()));
    try {
      await restore(repo, snap, { target });
    } finally {
      await writeFile(victim + '.stop', '');
      await exited;
    }

    expect(
      Number(swaps),
      'the swap must have happened during the restore for this test to prove anything',
    ).toBeGreaterThan(0);
    expect(await readdir(outside)).toEqual([]);
    // Every file went into the directory the restore made (wherever the other user moved it inside the target).
    let inside = 0;
    for (const name of await readdir(shared))
      if (name.startsWith('data.moved')) inside += (await readdir(path.join(shared, name))).length;
    expect(inside).toBe(FILES);
  }, 180_000);
});
