import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from './drivers/memory/index.js';
import { LocalStorage } from './drivers/local/index.js';
import type { Storage, StorageOptions } from './contract.js';
import { openStorage, registerStorage, registeredSchemes } from './registry.js';
import { expectCode } from './testing/conformance.js';

describe('openStorage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-registry-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('opens absolute paths and file: URLs with the local driver', async () => {
    const a = await openStorage(dir);
    expect(a).toBeInstanceOf(LocalStorage);
    expect(a.location).toBe(dir);
    const b = await openStorage(pathToFileURL(dir).href);
    expect(b.location).toBe(dir);
  });

  it.each([(rel: string) => rel, (rel: string) => `./${rel}`])(
    'resolves relative paths against the cwd (%#)',
    async (form) => {
      const target = path.join(dir, 'rel-repo');
      const rel = path.relative(process.cwd(), target);
      const s = await openStorage(form(rel), { create: true });
      expect(s.location).toBe(target);
      await s.put('config', Buffer.from('x'));
      expect((await fs.readFile(path.join(target, 'config'))).toString()).toBe('x');
    },
  );

  it('passes create through: missing without it is repository_not_found', async () => {
    await expectCode(openStorage(path.join(dir, 'missing')), 'repository_not_found');
    const s = await openStorage(path.join(dir, 'missing'), { create: true });
    expect(s.location).toBe(path.join(dir, 'missing'));
  });

  it('opens memory: URLs with the memory driver, sharing by name', async () => {
    const a = await openStorage('memory://registry-test');
    const b = await openStorage('memory://registry-test');
    expect(a).toBeInstanceOf(MemoryStorage);
    await a.put('config', Buffer.from('m'));
    expect((await b.get('config')).toString()).toBe('m');
  });

  it('rejects unknown schemes with a usage error naming the supported ones', async () => {
    const err = await expectCode(openStorage('gopher://user:hunter2@host/repo'), 'usage');
    expect(err.message).toContain('gopher');
    expect(err.message).not.toContain('hunter2');
    expect(err.hint).toContain('file');
    expect(err.hint).toContain('memory');
  });

  it('rejects an empty location with a usage error', async () => {
    await expectCode(openStorage(''), 'usage');
  });

  it('uses registered factories, given the parsed URL and options', async () => {
    let seen: { url: URL; options: StorageOptions } | undefined;
    const made: Storage = new MemoryStorage();
    registerStorage('test-scheme:', async (url, options) => {
      seen = { url, options };
      return made;
    });
    expect(registeredSchemes()).toEqual(expect.arrayContaining(['file', 'memory', 'test-scheme']));
    expect(await openStorage('TEST-SCHEME://bucket/prefix', { create: true })).toBe(made);
    expect(seen?.url.host).toBe('bucket');
    expect(seen?.url.pathname).toBe('/prefix');
    expect(seen?.options).toEqual({ create: true });
  });

  it('rejects invalid scheme names at registration', () => {
    expect(() => registerStorage('1bad', async () => new MemoryStorage())).toThrow();
  });
});
