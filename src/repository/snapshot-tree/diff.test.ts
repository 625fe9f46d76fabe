import { describe, expect, it } from 'vitest';
import type { Tree, TreeNode } from '../format/index.js';
import { diffTrees, nodeChange } from './diff.js';

const file = (over: Partial<TreeNode> = {}): TreeNode => ({
  name: 'f',
  type: 'file',
  mode: 0o644,
  uid: 1,
  gid: 1,
  mtimeNs: '1',
  size: 3,
  content: ['aa'],
  ...over,
});

describe('what counts as a change between two entries', () => {
  it('nothing for identical entries', () => expect(nodeChange(file(), file())).toBeUndefined());
  it('content, size, mode and link target are modifications', () => {
    expect(nodeChange(file(), file({ content: ['bb'] }))).toBe('modified');
    expect(nodeChange(file(), file({ size: 4 }))).toBe('modified');
    expect(nodeChange(file(), file({ mode: 0o600 }))).toBe('modified');
    const link = file({ type: 'symlink', content: undefined, size: undefined, target: 'a' });
    expect(nodeChange(link, { ...link, target: 'b' })).toBe('modified');
  });
  it('another kind of entry is a type change', () =>
    expect(nodeChange(file(), file({ type: 'symlink' }))).toBe('type'));
  it('owner or mtime alone is metadata', () => {
    expect(nodeChange(file(), file({ uid: 2 }))).toBe('metadata');
    expect(nodeChange(file(), file({ mtimeNs: '2' }))).toBe('metadata');
  });
  it('a directory counts for its mode, not its mtime or subtree', () => {
    const dir = file({ type: 'dir', content: undefined, size: undefined, subtree: 't1' });
    expect(nodeChange(dir, { ...dir, mtimeNs: '9', subtree: 't2' })).toBeUndefined();
    expect(nodeChange(dir, { ...dir, mode: 0o700 })).toBe('modified');
  });
});

describe('diffTrees', () => {
  const trees = new Map<string, Tree>([
    ['root1', { nodes: [file({ name: 'a' }), { ...file({ name: 'd' }), type: 'dir', subtree: 'sub1' }] }],
    ['sub1', { nodes: [file({ name: 'x' })] }],
    ['root2', { nodes: [file({ name: 'a', mode: 0o600 }), file({ name: 'd' }), file({ name: 'n' })] }],
  ]);
  const repo = { loadTree: async (id: string) => trees.get(id)! };

  it('lists each change depth first, a directory turned file with its former contents removed', async () => {
    const changes = [];
    for await (const c of diffTrees(repo, 'root1', 'root2')) changes.push([c.path, c.change]);
    expect(changes).toEqual([
      ['/a', 'modified'],
      ['/d', 'type'],
      ['/d/x', 'removed'],
      ['/n', 'added'],
    ]);
  });

  it('skips identical trees without reading them', async () => {
    const changes = [];
    for await (const c of diffTrees({ loadTree: () => Promise.reject(new Error('read')) }, 'same', 'same'))
      changes.push(c);
    expect(changes).toEqual([]);
  });
});
