import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { expectThrowsCode } from '../repository/testing/helpers.js';
import {
  buildVirtualRoot,
  isVirtualDir,
  normalisePaths,
  type RealEntry,
  type StreamEntry,
  type VirtualDir,
} from './virtual-root.js';

const stream = (p: string): StreamEntry => ({ kind: 'stream', path: p, open: async function* () {} });

/** A plain-object view of a virtual root for easy comparison. */
function shape(dir: VirtualDir): unknown {
  const out: Record<string, unknown> = {};
  for (const [name, child] of [...dir.children].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out[name] = isVirtualDir(child) ? { dir: child.path, children: shape(child) } : `${child.kind}:${child.path}`;
  }
  return out;
}

describe('normalisePaths', () => {
  it('resolves relative paths against cwd and sorts', () => {
    expect(normalisePaths(['b', './a', '/abs', 'c/../d/'], '/home/user')).toEqual([
      '/abs',
      '/home/user/a',
      '/home/user/b',
      '/home/user/d',
    ]);
  });

  it('removes exact duplicates (also when spelled differently)', () => {
    expect(normalisePaths(['/srv/app', '/srv/app/', '/srv//app', '/srv/./app', 'app'], '/srv')).toEqual(['/srv/app']);
  });

  it('drops paths nested inside another given path', () => {
    expect(normalisePaths(['/srv/app/data', '/srv/app', '/srv/app/data/x', '/etc/app'], '/')).toEqual([
      '/etc/app',
      '/srv/app',
    ]);
    expect(normalisePaths(['/a/b/c', '/a'], '/')).toEqual(['/a']);
  });

  it('keeps siblings that merely share a prefix', () => {
    expect(normalisePaths(['/srv/app', '/srv/app2', '/srv/app-old', '/srv/ap'], '/')).toEqual([
      '/srv/ap',
      '/srv/app',
      '/srv/app-old',
      '/srv/app2',
    ]);
  });

  it('"/" covers everything', () => {
    expect(normalisePaths(['/etc', '/', '/srv/app'], '/')).toEqual(['/']);
  });

  it('empty input gives an empty list', () => {
    expect(normalisePaths([], '/')).toEqual([]);
  });
});

describe('buildVirtualRoot', () => {
  it('mirrors absolute paths under virtual directories', () => {
    const root = buildVirtualRoot(['/srv/app', '/etc/app', '/etc/other.conf']);
    expect(root.path).toBe('/');
    expect(shape(root)).toEqual({
      etc: { dir: '/etc', children: { app: 'real:/etc/app', 'other.conf': 'real:/etc/other.conf' } },
      srv: { dir: '/srv', children: { app: 'real:/srv/app' } },
    });
  });

  it('places a top-level path directly under the root', () => {
    const root = buildVirtualRoot(['/data']);
    const leaf = root.children.get('data') as RealEntry;
    expect(leaf).toEqual({ kind: 'real', path: '/data' });
  });

  it('builds nested virtual directories with their absolute paths', () => {
    const root = buildVirtualRoot(['/a/b/c/d']);
    const a = root.children.get('a') as VirtualDir;
    const b = a.children.get('b') as VirtualDir;
    const c = b.children.get('c') as VirtualDir;
    expect([a.path, b.path, c.path]).toEqual(['/a', '/a/b', '/a/b/c']);
    expect(c.children.get('d')).toEqual({ kind: 'real', path: '/a/b/c/d' });
  });

  it('places streams beside real paths', () => {
    const s = stream('/postgres/app.dump');
    const root = buildVirtualRoot(['/srv/app'], [s, stream('/srv/db.sql')]);
    expect(shape(root)).toEqual({
      postgres: { dir: '/postgres', children: { 'app.dump': 'stream:/postgres/app.dump' } },
      srv: { dir: '/srv', children: { app: 'real:/srv/app', 'db.sql': 'stream:/srv/db.sql' } },
    });
    expect((root.children.get('postgres') as VirtualDir).children.get('app.dump')).toBe(s);
  });

  it('the root itself cannot be placed', () => {
    expectThrowsCode(() => buildVirtualRoot(['/']), ErrorCode.Usage);
    expectThrowsCode(() => buildVirtualRoot([], [stream('/')]), ErrorCode.Usage);
  });

  it('a path given twice → usage', () => {
    expectThrowsCode(() => buildVirtualRoot(['/srv/app', '/srv/app']), ErrorCode.Usage);
    expectThrowsCode(() => buildVirtualRoot(['/srv/app'], [stream('/srv/app')]), ErrorCode.Usage);
  });

  it('a path inside another backed-up path → usage, in either order', () => {
    expectThrowsCode(() => buildVirtualRoot(['/srv/app', '/srv/app/data']), ErrorCode.Usage);
    expectThrowsCode(() => buildVirtualRoot(['/srv/app'], [stream('/srv/app/db.sql')]), ErrorCode.Usage);
    // Parent after child: the parent's name is already a virtual directory.
    expectThrowsCode(() => buildVirtualRoot(['/srv/app/data', '/srv/app']), ErrorCode.Usage);
  });

  it('works with normalisePaths output', () => {
    const root = buildVirtualRoot(normalisePaths(['/srv/app/data', '/srv/app', '/etc/app'], '/'));
    expect(shape(root)).toEqual({
      etc: { dir: '/etc', children: { app: 'real:/etc/app' } },
      srv: { dir: '/srv', children: { app: 'real:/srv/app' } },
    });
  });
});
