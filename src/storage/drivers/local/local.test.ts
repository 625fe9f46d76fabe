import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../../errors/index.js';
import { describeStorageConformance, expectCode, temporariesOnDisk } from '../../testing/conformance.js';
import { LocalStorage, createLocalStorage, fsError } from './local.js';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-local-'));
}

/** Every path under `dir`, relative, recursively. */
async function walk(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.map(String);
}

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

describeStorageConformance(
  'local',
  async () => {
    const dir = await tempDir();
    const storage = await createLocalStorage(pathToFileURL(path.join(dir, 'repo')), { create: true });
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        await fs.rm(dir, { recursive: true, force: true });
      },
      temporaries: temporariesOnDisk(path.join(dir, 'repo')),
    };
  },
  { writesTemporaries: true },
);

describe('LocalStorage specifics', () => {
  let dir: string;
  let root: string;
  let s: LocalStorage;

  beforeEach(async () => {
    dir = await tempDir();
    root = path.join(dir, 'repo');
    s = (await createLocalStorage(pathToFileURL(root), { create: true })) as LocalStorage;
  });
  afterEach(async () => {
    await s.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates the root 0700, objects 0600 and directories 0700', async () => {
    expect(s).toBeInstanceOf(LocalStorage);
    expect(s.location).toBe(root);
    await s.put('data/ab/obj', Buffer.from('x'));
    await s.put('config', Buffer.from('y'));
    expect(await mode(root)).toBe(0o700);
    expect(await mode(path.join(root, 'data'))).toBe(0o700);
    expect(await mode(path.join(root, 'data', 'ab'))).toBe(0o700);
    expect(await mode(path.join(root, 'data', 'ab', 'obj'))).toBe(0o600);
    expect(await mode(path.join(root, 'config'))).toBe(0o600);
  });

  it('leaves no temp file after a put or an overwrite', async () => {
    await s.put('data/ab/obj', Buffer.from('one'));
    await s.put('data/ab/obj', Buffer.from('two'));
    await s.put('config', Buffer.alloc(0));
    expect((await walk(root)).sort()).toEqual([
      'config',
      'data',
      path.join('data', 'ab'),
      path.join('data', 'ab', 'obj'),
    ]);
  });

  it('rejects with storage when the parent path is a regular file, leaving no temp file', async () => {
    await s.put('keys/k', Buffer.from('key'));
    await expectCode(s.put('keys/k/sub', Buffer.from('x')), 'storage');
    expect((await walk(root)).sort()).toEqual(['keys', path.join('keys', 'k')]);
    expect((await s.get('keys/k')).toString()).toBe('key');
  });

  it('removes the temp file when the final rename fails (name is a directory)', async () => {
    await s.put('index/sub/x', Buffer.from('x'));
    const err = await expectCode(s.put('index/sub', Buffer.from('y')), 'storage');
    expect(err.context).toMatchObject({ op: 'put', name: 'index/sub' });
    expect((await walk(root)).some((p) => path.basename(p).startsWith('.tmp-'))).toBe(false);
  });

  it('does not list stray temp files or foreign names', async () => {
    await s.put('data/ab/obj', Buffer.from('x'));
    await fs.writeFile(path.join(root, 'data', 'ab', '.tmp-deadbeef'), 'partial');
    await fs.writeFile(path.join(root, 'data', 'ab', 'has space'), 'foreign');
    expect(await s.list('data/')).toEqual([{ name: 'data/ab/obj', size: 1 }]);
  });

  it('lists a prefix whose path is an object file as empty', async () => {
    await s.put('locks', Buffer.from('x'));
    expect(await s.list('locks/')).toEqual([]);
  });

  it('getRange rejects with storage when the file is shorter than the range', async () => {
    await s.put('data/ab/pack', Buffer.alloc(10));
    const err = await expectCode(s.getRange('data/ab/pack', 5, 6), 'storage');
    expect(err.retryable).toBe(false);
  });

  it('reports space from statfs and the object sizes', async () => {
    await s.put('data/ab/x', Buffer.alloc(1234));
    await s.put('config', Buffer.alloc(10));
    const space = await s.space();
    expect(space.usedBytes).toBe(1244);
    expect(space.totalBytes).toBeGreaterThan(0);
    expect(space.availableBytes).toBeGreaterThanOrEqual(0);
  });

  it('rejects calls after close', async () => {
    await s.close();
    await expectCode(s.get('config'), 'storage');
    await expectCode(s.list(''), 'storage');
  });
});

describe('createLocalStorage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('rejects a missing root without create with repository_not_found and a hint', async () => {
    const err = await expectCode(createLocalStorage(pathToFileURL(path.join(dir, 'nope')), {}), 'repository_not_found');
    expect(err.hint).toBe('run `lifeboat init` first or check --repo');
    await expect(fs.stat(path.join(dir, 'nope'))).rejects.toThrow();
  });

  it('rejects a root that is a regular file', async () => {
    await fs.writeFile(path.join(dir, 'file'), 'x');
    await expectCode(createLocalStorage(pathToFileURL(path.join(dir, 'file')), {}), 'repository_not_found');
  });

  it('opens an existing root without create', async () => {
    const s = await createLocalStorage(pathToFileURL(dir), {});
    await s.put('config', Buffer.from('c'));
    expect((await fs.readFile(path.join(dir, 'config'))).toString()).toBe('c');
  });

  it('creates nested roots with create', async () => {
    const root = path.join(dir, 'a', 'b', 'repo');
    const s = await createLocalStorage(pathToFileURL(root), { create: true });
    expect(s.location).toBe(root);
    expect((await fs.stat(root)).isDirectory()).toBe(true);
  });

  it('refuses non-file URLs', async () => {
    await expectCode(createLocalStorage(new URL('memory://x'), {}), 'usage');
  });
});

describe('fsError', () => {
  const sysErr = (code: string) => Object.assign(new Error(`${code}: boom`), { code });

  it.each(['ENOSPC', 'EDQUOT'])('maps %s to a non-retryable storage error with the disk-full hint', (code) => {
    const err = fsError('put', 'data/ab/x', sysErr(code));
    expect(err).toBeInstanceOf(LifeboatError);
    expect(err.code).toBe('storage');
    expect(err.retryable).toBe(false);
    expect(err.hint).toBe('the disk holding the repository is full');
    expect(err.context).toMatchObject({ op: 'put', name: 'data/ab/x', errno: code });
  });

  it('marks transient errors retryable and others not', () => {
    expect(fsError('get', 'x', sysErr('EMFILE')).retryable).toBe(true);
    expect(fsError('get', 'x', sysErr('EIO')).retryable).toBe(false);
    expect(fsError('get', 'x', new Error('odd')).code).toBe('storage');
  });

  it('passes LifeboatErrors through unchanged', () => {
    const original = new LifeboatError('not_found', 'gone');
    expect(fsError('get', 'x', original)).toBe(original);
  });
});
