import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { decodeTree, encodeTree, isSafeName, type Tree, type TreeNode } from './tree.js';
import { expectThrowsCode, onlyLifeboatErrors } from '../testing/helpers.js';

const node = (name: string, extra: Partial<TreeNode> = {}): TreeNode => ({
  name,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtimeNs: '1700000000000000000',
  ...extra,
});
const id = 'cd'.repeat(32);

describe('isSafeName', () => {
  it.each([
    'a',
    'file.txt',
    '.hidden',
    '..hidden',
    '...',
    'a..b',
    'with space',
    'back\\slash',
    'ünïcödé',
    '-',
    ' ',
    'a'.repeat(255),
    'new\nline',
  ])('accepts %j', (name) => {
    expect(isSafeName(name)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['dot', '.'],
    ['dot dot', '..'],
    ['slash', '/'],
    ['leading slash', '/etc'],
    ['inner slash', 'a/b'],
    ['trailing slash', 'a/'],
    ['parent traversal', '../x'],
    ['NUL', 'a\0b'],
    ['only NUL', '\0'],
  ])('rejects %s', (_name, name) => {
    expect(isSafeName(name)).toBe(false);
  });

  it.each([undefined, null, 0, 1, true, {}, [], ['a'], Symbol('a'), new String('a')])(
    'rejects the non-string %s',
    (value) => {
      expect(isSafeName(value)).toBe(false);
    },
  );

  it('property: accepted names are exactly one path component', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12, unit: fc.constantFrom('a', '.', '/', '\0', 'b', '\\') }), (name) => {
        const safe = isSafeName(name);
        const expected = name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
        expect(safe).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodeTree / decodeTree', () => {
  it('encoding sorts by name and is canonical (same nodes, any order → same bytes)', () => {
    const nodes = [
      node('b'),
      node('a', { type: 'dir', subtree: 'ff'.repeat(32) }),
      node('B'),
      node('a.txt', { content: ['00'.repeat(32)], size: 3 }),
    ];
    const a = encodeTree({ nodes });
    const b = encodeTree({ nodes: [...nodes].reverse() });
    expect(a.equals(b)).toBe(true);
    expect(decodeTree(a, id).nodes.map((n) => n.name)).toEqual(['B', 'a', 'a.txt', 'b']);
    // encodeTree does not reorder the caller's array.
    expect(nodes.map((n) => n.name)).toEqual(['b', 'a', 'B', 'a.txt']);
  });

  it('round-trips', () => {
    const tree: Tree = {
      nodes: [node('x', { type: 'symlink', target: '../y' }), node('y', { type: 'stream', size: 10, content: [] })],
    };
    expect(decodeTree(encodeTree(tree), id)).toEqual(tree);
    expect(decodeTree(encodeTree({ nodes: [] }), id)).toEqual({ nodes: [] });
  });

  it('invalid JSON → corrupt', () => {
    for (const text of ['', '{', 'nodes', '\u00ff\u00fe']) {
      const err = expectThrowsCode(() => decodeTree(Buffer.from(text, 'latin1'), id), ErrorCode.Corrupt);
      expect(err.message).toContain(id.slice(0, 8));
    }
  });

  it.each([
    ['null', 'null'],
    ['a number', '1'],
    ['a string', '"tree"'],
    ['an array', '[]'],
    ['no nodes', '{}'],
    ['nodes not an array', '{"nodes":{}}'],
    ['nodes a string', '{"nodes":"abc"}'],
  ])('no node list → corrupt (%s)', (_name, text) => {
    expectThrowsCode(() => decodeTree(Buffer.from(text), id), ErrorCode.Corrupt);
  });

  it.each([
    ['null node', '{"nodes":[null]}'],
    ['number node', '{"nodes":[5]}'],
    ['string node', '{"nodes":["file"]}'],
    ['missing type', '{"nodes":[{"name":"a"}]}'],
    ['unknown type', '{"nodes":[{"name":"a","type":"socket"}]}'],
    ['type of another case', '{"nodes":[{"name":"a","type":"FILE"}]}'],
    ['prototype name as type', '{"nodes":[{"name":"a","type":"constructor"}]}'],
    ['type not a string', '{"nodes":[{"name":"a","type":["file"]}]}'],
    ['one bad node among good ones', '{"nodes":[{"name":"a","type":"file"},{"name":"b","type":"fifo"}]}'],
    ['content null', '{"nodes":[{"name":"a","type":"file","mode":420,"uid":0,"gid":0,"mtimeNs":"1","content":null}]}'],
    [
      'content not blob ids',
      '{"nodes":[{"name":"a","type":"file","mode":420,"uid":0,"gid":0,"mtimeNs":"1","content":[1]}]}',
    ],
    ['mode null', '{"nodes":[{"name":"a","type":"file","mode":null,"uid":0,"gid":0,"mtimeNs":"1"}]}'],
    ['name not a string', '{"nodes":[{"name":7,"type":"file","mode":420,"uid":0,"gid":0,"mtimeNs":"1"}]}'],
    ['mtime not a number string', '{"nodes":[{"name":"a","type":"file","mode":420,"uid":0,"gid":0,"mtimeNs":"soon"}]}'],
    [
      'subtree not a tree id',
      '{"nodes":[{"name":"a","type":"dir","mode":493,"uid":0,"gid":0,"mtimeNs":"1","subtree":{}}]}',
    ],
    ['size negative', '{"nodes":[{"name":"a","type":"file","mode":420,"uid":0,"gid":0,"mtimeNs":"1","size":-1}]}'],
  ])('bad nodes → corrupt (%s)', (_name, text) => {
    expectThrowsCode(() => decodeTree(Buffer.from(text), id), ErrorCode.Corrupt);
  });

  it('fuzz: arbitrary JSON values and bytes only throw corrupt', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify({ nodes: [v] })),
        ),
        (text) => {
          onlyLifeboatErrors(() => decodeTree(Buffer.from(text), id), [ErrorCode.Corrupt]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
