import { ErrorCode, LifeboatError } from '../errors/index.js';

/**
 * A directory as a blob: its entries sorted by name. Identical directories
 * encode to identical bytes and so deduplicate like file content.
 */
export type NodeType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'stream';

export interface TreeNode {
  name: string;
  type: NodeType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  /** Nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  mtimeNs: string;
  ctimeNs?: string;
  inode?: number;
  dev?: number;
  /** Content size in bytes (files and streams). */
  size?: number;
  /** Content chunk ids in order (hex). */
  content?: string[];
  /** Symlink target as stored in the link; for `hardlink` nodes (written by no current version, still restored), the snapshot path of the linked file. */
  target?: string;
  /** Tree blob id of a directory (hex). */
  subtree?: string;
  /** Link count of a file with several names; names sharing `dev` and `inode` are re-linked on restore. */
  links?: number;
}

export interface Tree {
  nodes: TreeNode[];
}

/** Whether two file or stream nodes have the same content (the same blobs in the same order). */
export function sameContent(a: TreeNode, b: TreeNode): boolean {
  const x = a.content ?? [];
  const y = b.content ?? [];
  return (a.size ?? 0) === (b.size ?? 0) && x.length === y.length && x.every((id, i) => id === y[i]);
}

export function encodeTree(tree: Tree): Buffer {
  const nodes = [...tree.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Buffer.from(JSON.stringify({ nodes }), 'utf8');
}

/**
 * A name is one path component: never empty, `.` or `..`, and free of `/` and
 * NUL. Trees from the repository are untrusted input to restore.
 */
export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

const TYPES: ReadonlySet<string> = new Set(['file', 'dir', 'symlink', 'hardlink', 'stream']);

export function decodeTree(data: Buffer, id: string): Tree {
  let parsed: Tree;
  try {
    parsed = JSON.parse(data.toString('utf8')) as Tree;
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `tree ${id.slice(0, 8)} is not valid JSON`, { cause });
  }
  if (!parsed || !Array.isArray(parsed.nodes)) throw new LifeboatError(ErrorCode.Corrupt, `tree ${id.slice(0, 8)} has no node list`);
  for (const n of parsed.nodes) {
    if (!n || typeof n !== 'object' || !TYPES.has(n.type)) {
      throw new LifeboatError(ErrorCode.Corrupt, `tree ${id.slice(0, 8)} has a node of unknown type`);
    }
  }
  return parsed;
}
