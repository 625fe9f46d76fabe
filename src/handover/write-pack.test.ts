import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { expectRejectsCode } from '../repository/testing/helpers.js';
import { checksums, preparePackDir, writePack } from './write-pack.js';

describe('the pack directory', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pack-'));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it('writes private files, an executable script, and SHA256SUMS over every other file', async () => {
    const dir = path.join(base, 'new', 'pack');
    expect(await preparePackDir(dir, ['a.md'], false)).toEqual([]);
    const written = await writePack(dir, [
      { name: 'a.md', content: '# a\n' },
      { name: 'run.sh', content: '#!/bin/sh\n', executable: true },
      { name: 'recovery-key-x.txt', content: 'KEY\n', secret: true },
    ]);
    expect(((await stat(dir)).mode & 0o777).toString(8)).toBe('700');
    const modes = Object.fromEntries(
      await Promise.all(written.map(async (f) => [f.name, ((await stat(f.path)).mode & 0o777).toString(8)])),
    );
    expect(modes).toEqual({ 'a.md': '600', 'run.sh': '700', 'recovery-key-x.txt': '600', SHA256SUMS: '600' });
    const sums = await readFile(path.join(dir, 'SHA256SUMS'), 'utf8');
    for (const name of ['a.md', 'run.sh', 'recovery-key-x.txt']) {
      const hash = createHash('sha256')
        .update(await readFile(path.join(dir, name)))
        .digest('hex');
      expect(sums).toContain(`${hash}  ${name}\n`);
    }
    expect(sums.split('\n').filter(Boolean)).toHaveLength(3);
    expect(written.find((f) => f.name === 'recovery-key-x.txt')!.secret).toBe(true);
  });

  it('refuses a directory that holds anything, and a path that is a file', async () => {
    await mkdir(path.join(base, 'used'));
    await writeFile(path.join(base, 'used', 'notes.txt'), 'mine');
    const err = await expectRejectsCode(preparePackDir(path.join(base, 'used'), ['a.md'], false), ErrorCode.Usage);
    expect(err.hint).toContain('--force');
    await expectRejectsCode(preparePackDir(path.join(base, 'used', 'notes.txt'), ['a.md'], true), ErrorCode.Usage);
    expect(await readdir(path.join(base, 'used'))).toEqual(['notes.txt']);
  });

  it('with force, removes an earlier pack (its recovery keys too) and reports what else is there', async () => {
    const dir = path.join(base, 'old');
    await mkdir(dir);
    for (const name of ['a.md', 'SHA256SUMS', 'recovery-key-local.txt', 'notes.txt'])
      await writeFile(path.join(dir, name), 'x');
    expect(await preparePackDir(dir, ['a.md'], true)).toEqual(['notes.txt']);
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });

  it('sorts SHA256SUMS lines by name', () => {
    expect(
      checksums([
        { name: 'b', sha256: '2' },
        { name: 'a', sha256: '1' },
      ]),
    ).toBe('1  a\n2  b\n');
  });
});
