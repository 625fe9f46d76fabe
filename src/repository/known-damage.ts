/**
 * Blob copies that `check --read-data` found damaged, kept in the local cache
 * directory (`known-damage.json`) so that later runs on this machine neither
 * read them nor deduplicate against them: a backup stores such a blob again in
 * a new pack, and readers use that intact copy. Losing the file (a cleared
 * cache) only loses this knowledge until the next `check --read-data`.
 *
 * @module
 */

import { blobIdFromHex } from './format/index.js';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectCache } from './cache.js';
import type { MasterIndex } from './index/index.js';

export interface DamagedCopy {
  /** Blob id (hex). */
  blob: string;
  /** Pack holding the damaged copy. */
  pack: string;
  /** When a check found it (ISO-8601). */
  found: string;
}

const FILE = 'known-damage.json';

export async function readKnownDamage(cache: ObjectCache | undefined): Promise<DamagedCopy[]> {
  if (!cache) return [];
  try {
    const parsed = JSON.parse(await readFile(path.join(cache.dir, FILE), 'utf8')) as {
      version?: number;
      copies?: unknown;
    };
    if (parsed.version !== 1 || !Array.isArray(parsed.copies)) return [];
    return parsed.copies.filter(
      (c): c is DamagedCopy =>
        !!c &&
        typeof c === 'object' &&
        /^[0-9a-f]{64}$/.test(String((c as DamagedCopy).blob)) &&
        /^[0-9a-f]{64}$/.test(String((c as DamagedCopy).pack)),
    );
  } catch {
    return []; // absent or unreadable: nothing known
  }
}

/** Set every known damaged copy aside in the index. Returns how many were known. */
export async function applyKnownDamage(cache: ObjectCache | undefined, index: MasterIndex): Promise<number> {
  const copies = await readKnownDamage(cache);
  for (const c of copies) index.markDamaged(blobIdFromHex(c.blob), c.pack);
  return copies.length;
}

/**
 * Record what a read of `packsRead` found: the damaged copies found replace
 * whatever was known about those packs (a pack read whole and found intact is
 * forgotten); what is known about other packs is kept.
 */
export async function recordKnownDamage(
  cache: ObjectCache | undefined,
  packsRead: Iterable<string>,
  found: Array<{ blob: string; pack: string }>,
  now = new Date(),
): Promise<void> {
  if (!cache) return;
  const read = new Set(packsRead);
  const kept = (await readKnownDamage(cache)).filter((c) => !read.has(c.pack));
  const time = now.toISOString();
  const copies = [...kept, ...found.map((f) => ({ blob: f.blob, pack: f.pack, found: time }))];
  const target = path.join(cache.dir, FILE);
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    await mkdir(cache.dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, JSON.stringify({ version: 1, copies }), { mode: 0o600 });
    await rename(tmp, target);
  } catch {
    // best effort, like the rest of the cache
  }
}
