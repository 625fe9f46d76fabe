/**
 * A local copy of immutable, content-addressed repository objects (index files,
 * snapshots, packs of directory trees). It is only a cache: every entry is
 * checked against its name (the SHA-256 of its bytes) on read, a bad or missing
 * entry is fetched again, and deleting the whole directory is always safe.
 *
 * @module
 */

import { readFile, rename, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { sha256Hex } from './ids.js';
import { makeDirectories } from '../util/make-dirs.js';

/** The local cache directory: `$LIFEBOAT_CACHE_DIR`, else `$XDG_CACHE_HOME/lifeboat`, else `~/.cache/lifeboat`. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIFEBOAT_CACHE_DIR) return env.LIFEBOAT_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'lifeboat');
}

export class ObjectCache {
  /** This repository's cache directory (also holds small local state such as `known-damage.ts`'s list). */
  readonly dir: string;

  constructor(root: string, repositoryId: string) {
    this.dir = path.join(root, repositoryId);
  }

  private file(name: string): string {
    return path.join(this.dir, ...name.split('/'));
  }

  /** The cached bytes if present and intact; otherwise undefined. */
  async get(name: string): Promise<Buffer | undefined> {
    const expected = name.slice(name.lastIndexOf('/') + 1);
    try {
      const data = await readFile(this.file(name));
      if (sha256Hex(data) === expected) return data;
      await rm(this.file(name), { force: true });
    } catch {
      // absent or unreadable: treated as a miss
    }
    return undefined;
  }

  /** Best effort: a cache that cannot be written only costs speed. */
  async put(name: string, data: Uint8Array): Promise<void> {
    const target = this.file(name);
    const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await makeDirectories(path.dirname(target), 0o700);
      await writeFile(tmp, data, { mode: 0o600 });
      await rename(tmp, target);
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

/** How a read treats the local cache. */
export type CacheUse =
  /** Serve a cached copy (it matches its name, so its bytes are right), else fetch and keep a copy. */
  | 'trust'
  /**
   * Always fetch from storage, and refresh the cached copy from what storage
   * holds: for readers whose answer is about storage (`check`, `verify`,
   * drills, the check of a copy), to which an intact cached copy of an object
   * damaged or gone in storage would lie.
   */
  | 'storage';

/**
 * Read a content-addressed object (named by the SHA-256 of its bytes) through
 * the cache: serve a cached copy (checked by `get`) when `use` is 'trust', or
 * fetch, check the bytes against the name, and only then keep a copy. Bytes
 * from storage that do not match their name are fetched once more (a transfer
 * damaged on the way is not damage in storage); a second mismatch is damage.
 * Either way the bytes returned match their name.
 */
export async function readThrough(
  cache: ObjectCache | undefined,
  name: string,
  fetch: () => Promise<Buffer>,
  use: CacheUse = 'trust',
): Promise<Buffer> {
  if (use === 'trust') {
    const cached = await cache?.get(name);
    if (cached) return cached;
  }
  const expected = name.slice(name.lastIndexOf('/') + 1);
  let data = await fetch();
  if (sha256Hex(data) !== expected) data = await fetch();
  if (sha256Hex(data) !== expected) {
    throw new LifeboatError(ErrorCode.Corrupt, `${name} does not match its content hash (damaged in storage)`, {
      context: { object: name },
    });
  }
  await cache?.put(name, data);
  return data;
}
