/**
 * A directory as a blob: its entries sorted by name. Identical directories
 * encode to identical bytes and so deduplicate like file content.
 *
 * @module
 */

import { z } from 'zod';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { describeIssues } from './schema-issues.js';

/** The kind of a directory entry. */
export type NodeType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'stream';

/** One entry of a directory: type, metadata, and its content blobs or subtree. */
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

/** One directory of a snapshot: its entries, sorted by name. */
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
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\0')
  );
}

const hex = z.string().regex(/^[0-9a-f]{64}$/, 'not a blob id');
const whole = z.number().int().nonnegative();

/**
 * What every node must hold before anything reads it. The name is only
 * required to be a string here: whether it is safe to restore (`..`, `/`, NUL,
 * duplicates) is judged by restore, which names the entry it refuses.
 * Unknown fields are kept.
 */
const nodeSchema = z.looseObject({
  name: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'hardlink', 'stream']),
  mode: whole,
  uid: whole,
  gid: whole,
  user: z.string().optional(),
  group: z.string().optional(),
  mtimeNs: z.string().regex(/^-?\d+$/, 'not a whole number of nanoseconds'),
  ctimeNs: z
    .string()
    .regex(/^-?\d+$/, 'not a whole number of nanoseconds')
    .optional(),
  inode: whole.optional(),
  dev: whole.optional(),
  size: whole.optional(),
  content: z.array(hex).optional(),
  target: z.string().optional(),
  subtree: hex.optional(),
  links: whole.optional(),
});

export function decodeTree(data: Buffer, id: string): Tree {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `tree ${id.slice(0, 8)} is not valid JSON`, { cause });
  }
  const nodes = (parsed as { nodes?: unknown } | null)?.nodes;
  if (!parsed || typeof parsed !== 'object' || !Array.isArray(nodes))
    throw new LifeboatError(ErrorCode.Corrupt, `tree ${id.slice(0, 8)} has no node list`);
  const checked = z.array(nodeSchema).safeParse(nodes);
  if (!checked.success)
    throw new LifeboatError(
      ErrorCode.Corrupt,
      `tree ${id.slice(0, 8)} has a malformed node: ${describeIssues(checked.error)}`,
    );
  return { nodes: checked.data as TreeNode[] };
}
