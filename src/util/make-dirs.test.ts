import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDirectories, makeDirectoriesSync } from './make-dirs.js';

describe('makeDirectories', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates the missing components with the mode and returns the first one', async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'lb-mkdirs-'));
    dirs.push(base);
    expect(await makeDirectories(path.join(base, 'a', 'b'), 0o700)).toBe(path.join(base, 'a'));
    expect(statSync(path.join(base, 'a', 'b')).mode & 0o777).toBe(0o700);
    expect(await makeDirectories(path.join(base, 'a', 'b'))).toBeUndefined();
    expect(makeDirectoriesSync(path.join(base, 'c', 'd'))).toBe(path.join(base, 'c'));
    expect(existsSync(path.join(base, 'c', 'd'))).toBe(true);
  });

  // Node's recursive mkdir never returns for these (it retries ENOENT below an existing /proc for ever).
  it('fails at once under /proc instead of looping', async () => {
    await expect(makeDirectories('/proc/lifeboat-test/x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => makeDirectoriesSync('/proc/lifeboat-test/x')).toThrow(
      /cannot create the directory \/proc\/lifeboat-test/,
    );
  });
});
