/**
 * The snapshot mirrors absolute paths: backing up /srv/app and /etc/app gives a
 * root with `srv/app/…` and `etc/app/…`. The directories above each given path
 * are "virtual": recorded with their metadata but not walked.
 *
 * @module
 */

import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { StreamChunking } from '../repository/chunking/index.js';

export interface VirtualDir {
  /** Absolute path of this directory (`/` for the root). */
  path: string;
  children: Map<string, VirtualDir | RealEntry | StreamEntry>;
}

export interface RealEntry {
  kind: 'real';
  /** Where the data is read from. */
  path: string;
}

/** A real directory or file stored under another path in the snapshot (a database's snapshot directory under a stable name). */
export interface Mount {
  from: string;
  at: string;
}

/** A file of a snapshot whose content comes from a stream (a database dump) rather than the file system. */
export interface StreamEntry {
  kind: 'stream';
  /** Path of the entry inside the snapshot, absolute (`/postgres/app.dump`). */
  path: string;
  /** `signal` aborts when the backup stops (interrupted, or another input failed): a producer must end then. */
  open: (signal: AbortSignal) => AsyncIterable<Uint8Array>;
  mode?: number;
  /** How the stream is cut into chunks when its producer knows its layout (a base backup's tar); by content if absent. */
  chunking?: StreamChunking;
}

export function isVirtualDir(x: VirtualDir | RealEntry | StreamEntry): x is VirtualDir {
  return 'children' in x;
}

export function normalisePaths(paths: readonly string[], cwd = process.cwd()): string[] {
  const abs = [...new Set(paths.map((p) => path.resolve(cwd, p)))].sort();
  // A path inside another given path is already covered by it.
  return abs.filter((p) => !abs.some((q) => q !== p && (q === '/' || p.startsWith(q + '/'))));
}

export function buildVirtualRoot(
  paths: readonly string[],
  streams: readonly StreamEntry[] = [],
  mounts: readonly Mount[] = [],
): VirtualDir {
  const root: VirtualDir = { path: '/', children: new Map() };
  const place = (target: string, leaf: RealEntry | StreamEntry) => {
    const parts = target.split('/').filter(Boolean);
    if (parts.length === 0)
      throw new LifeboatError(ErrorCode.Usage, 'the root directory is walked as a whole, not placed in the tree');
    let dir = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!;
      let next = dir.children.get(name);
      if (!next) {
        next = { path: path.posix.join(dir.path, name), children: new Map() };
        dir.children.set(name, next);
      }
      if (!isVirtualDir(next))
        throw new LifeboatError(ErrorCode.Usage, `${target} lies inside ${next.path}, which is also backed up`);
      dir = next;
    }
    const last = parts[parts.length - 1]!;
    if (dir.children.has(last)) throw new LifeboatError(ErrorCode.Usage, `${target} is given twice`);
    dir.children.set(last, leaf);
  };
  for (const p of paths) place(p, { kind: 'real', path: p });
  for (const m of mounts) place(m.at, { kind: 'real', path: m.from });
  for (const s of streams) place(s.path, s);
  return root;
}
