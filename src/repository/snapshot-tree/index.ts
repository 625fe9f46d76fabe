/**
 * Reading the directory trees of snapshots: the entry at a path, a walk below a directory, and
 * the changes between two trees with the one rule of what counts as a change. The CLI (`ls`,
 * `find`, `diff`), the daemon's API and the source drivers all read trees through here.
 */
export { sameContent } from '../format/index.js';
export { diffTrees, nodeChange, type TreeChange, type TreeChangeKind } from './diff.js';
export { nodeAt } from './node-at.js';
export type { TreeSource } from './tree-source.js';
export { walkTree } from './walk.js';
