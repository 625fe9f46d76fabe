import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LifeboatConfig } from '../config/schema.js';
import { decideTarget } from './restore-roots.js';

describe('where the API may restore', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-roots-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('allows the temp base by default and a configured root, and nothing else', async () => {
    expect(await decideTarget(path.join(base, 'new', 'dir'), undefined)).toEqual({
      target: path.join(base, 'new', 'dir'),
    });
    expect((await decideTarget('/opt/lifeboat-restores/a', undefined)).problem).toMatch(/server\.restore_roots/);
    mkdirSync('/opt/lifeboat-restores-test', { recursive: true });
    try {
      const config = {
        version: 1,
        server: { restore_roots: ['/opt/lifeboat-restores-test'] },
      } as unknown as LifeboatConfig;
      expect(await decideTarget('/opt/lifeboat-restores-test/a', config)).toEqual({
        target: '/opt/lifeboat-restores-test/a',
      });
      expect((await decideTarget('/opt/lifeboat-restores-test-other/a', config)).problem).toMatch(/not below/);
    } finally {
      rmSync('/opt/lifeboat-restores-test', { recursive: true, force: true });
    }
  });

  it('refuses a target inside a configured repository, even one not found by its layout', async () => {
    const repo = path.join(base, 'repo');
    mkdirSync(repo);
    const config = { version: 1, repositories: { local: { url: repo } } } as unknown as LifeboatConfig;
    expect((await decideTarget(path.join(repo, 'x'), config)).problem).toMatch(/inside the repository/);
  });
});
