import { describe, expect, it } from 'vitest';
import { compileExcludes } from './excludes.js';

describe('compileExcludes', () => {
  it('no patterns exclude nothing', () => {
    const m = compileExcludes([]);
    for (const p of ['/', '/etc', '/a/b/c.key', '/node_modules']) expect(m(p)).toBe(false);
  });

  describe('patterns without "/" match a name anywhere', () => {
    const m = compileExcludes(['*.key', 'node_modules', '.cache', 'core.[0-9]*']);

    it.each([
      '/srv/app/secret.key',
      '/secret.key',
      '/a/b/c/d/e/.key',
      '/srv/app/node_modules',
      '/node_modules',
      '/home/u/.cache',
      '/var/crash/core.1234',
    ])('excludes %s', (p) => {
      expect(m(p)).toBe(true);
    });

    it.each([
      '/srv/app/secret.keys',
      '/srv/app/key',
      '/srv/app/node_modules_backup',
      '/srv/app/my-node_modules',
      '/home/u/.cache2',
      '/var/crash/core.x',
      '/srv/app',
    ])('keeps %s', (p) => {
      expect(m(p)).toBe(false);
    });

    it('only the last component is matched (a directory name higher up does not match)', () => {
      // The walker stops at an excluded directory, so its content is never asked about.
      expect(m('/srv/node_modules/pkg/index.js')).toBe(false);
      expect(m('/srv/x.key/inner')).toBe(false);
    });

    it('wildcards match dot files (dot: true)', () => {
      const star = compileExcludes(['*']);
      expect(star('/home/u/.bashrc')).toBe(true);
      expect(compileExcludes(['.*'])('/home/u/.bashrc')).toBe(true);
      expect(compileExcludes(['*rc'])('/home/u/.bashrc')).toBe(true);
    });

    it('a trailing slash is ignored (still a name pattern)', () => {
      const d = compileExcludes(['build/']);
      expect(d('/srv/app/build')).toBe(true);
      expect(d('/build')).toBe(true);
      expect(d('/srv/app/builds')).toBe(false);
    });

    it('matching is case-sensitive', () => {
      expect(compileExcludes(['*.KEY'])('/a/b.key')).toBe(false);
      expect(compileExcludes(['Thumbs.db'])('/a/thumbs.db')).toBe(false);
    });
  });

  describe('patterns with "/" match the absolute path', () => {
    const m = compileExcludes(['/etc/app/secrets.yaml', '/var/cache/**', '/home/*/tmp', '/srv/app/logs/']);

    it.each([
      '/etc/app/secrets.yaml',
      '/var/cache/apt',
      '/var/cache/apt/archives/x.deb',
      '/home/alice/tmp',
      '/home/bob/tmp',
      '/srv/app/logs',
    ])('excludes %s', (p) => {
      expect(m(p)).toBe(true);
    });

    it.each([
      '/srv/etc/app/secrets.yaml',
      '/etc/app/secrets.yaml.bak',
      '/etc/app',
      '/etc/app/secrets',
      '/var/cached',
      '/home/alice/sub/tmp',
      '/home/alice/tmp2',
      '/srv/app/logs2',
      '/x/srv/app/logs',
    ])('keeps %s', (p) => {
      expect(m(p)).toBe(false);
    });

    it('a path pattern is not applied to names', () => {
      const only = compileExcludes(['/secrets.yaml']);
      expect(only('/secrets.yaml')).toBe(true);
      expect(only('/etc/secrets.yaml')).toBe(false);
    });

    it('"**" inside a path pattern spans directories', () => {
      const deep = compileExcludes(['/srv/**/*.tmp']);
      expect(deep('/srv/a.tmp')).toBe(true);
      expect(deep('/srv/x/y/z/a.tmp')).toBe(true);
      expect(deep('/etc/a.tmp')).toBe(false);
    });

    it('path wildcards match dot files too', () => {
      expect(compileExcludes(['/home/*/.ssh'])('/home/u/.ssh')).toBe(true);
      expect(compileExcludes(['/var/cache/**'])('/var/cache/.hidden/x')).toBe(true);
    });
  });

  it('name and path patterns combine (either excludes)', () => {
    const m = compileExcludes(['*.log', '/opt/big']);
    expect(m('/var/x.log')).toBe(true);
    expect(m('/opt/big')).toBe(true);
    expect(m('/opt/small')).toBe(false);
    expect(m('/opt/big.txt')).toBe(false);
  });
});
