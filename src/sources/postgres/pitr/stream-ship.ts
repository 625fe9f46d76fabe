/**
 * Stream mode's shipping: what pg_receivewal wrote into its directory goes
 * into the repository through `pushWal`, the same path as a pushed segment
 * (same names, same never-overwrite rule). Completed segments and history
 * files are shipped once and then removed, except the newest segment, which
 * stays so that a restarted pg_receivewal resumes right after it. The
 * segment being written (`X.partial`) is copied and shipped whenever it
 * changed since the last round, as a newer copy that supersedes the stored
 * one: that is what makes the RPO the shipping interval rather than a segment.
 *
 * @module
 */

import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Repository } from '../../../repository/repository.js';
import { pushWal, type WalFileToPush } from './wal-archive.js';

/** Where the shipper remembers, between rounds, what it already shipped (name → size and mtime). */
export type ShippedFiles = Map<string, string>;

export interface ShipResult {
  /** Completed segments and history files stored (or found stored with the same content). */
  completed: string[];
  /** Partial segments whose newer copy was stored. */
  partials: string[];
}

const COMPLETE = /^([0-9A-F]{24}|[0-9A-F]{8}\.history)$/;
const PARTIAL = /^[0-9A-F]{24}\.partial$/;
/** Copies of partial segments are taken here (pg_receivewal ignores names it did not write). */
const COPIES = '.shipping';

const fingerprint = (s: { size: number; mtimeMs: number }) => `${s.size}:${s.mtimeMs}`;

/** One shipping round over pg_receivewal's directory. */
export async function shipStreamed(
  repo: Repository,
  source: string,
  dir: string,
  shipped: ShippedFiles,
  options: { binDir?: string; host?: string; signal?: AbortSignal } = {},
): Promise<ShipResult> {
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  const complete: Array<WalFileToPush & { name: string; print: string }> = [];
  for (const name of names.filter((n) => COMPLETE.test(n))) {
    const s = await stat(path.join(dir, name)).catch(() => undefined);
    if (!s || shipped.get(name) === fingerprint(s)) continue;
    complete.push({ file: path.join(dir, name), name, archivedAt: s.mtime.toISOString(), print: fingerprint(s) });
  }
  const push = { binDir: options.binDir, host: options.host, signal: options.signal };
  if (complete.length) {
    await pushWal(repo, source, complete, push);
    for (const f of complete) shipped.set(f.name, f.print);
  }
  // Keep only the newest completed segment: pg_receivewal resumes after the newest segment it finds.
  const segments = names.filter((n) => /^[0-9A-F]{24}$/.test(n));
  const keep = segments[segments.length - 1];
  for (const name of names.filter((n) => COMPLETE.test(n) && n !== keep && shipped.has(n))) {
    await rm(path.join(dir, name), { force: true });
    shipped.delete(name);
  }

  const partials: string[] = [];
  for (const name of names.filter((n) => PARTIAL.test(n))) {
    const file = path.join(dir, name);
    const before = await stat(file).catch(() => undefined);
    if (!before || shipped.get(name) === fingerprint(before)) continue;
    // A copy, so that the bytes hashed are the bytes stored while pg_receivewal keeps writing. A copy torn
    // mid-record ends in a record whose checksum fails: replay treats that as the end of the WAL.
    const copies = path.join(dir, COPIES);
    await mkdir(copies, { recursive: true, mode: 0o700 });
    const copy = path.join(copies, name);
    try {
      await copyFile(file, copy);
    } catch (err) {
      // Completed and renamed meanwhile: the next round ships the segment itself.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      await pushWal(repo, source, [{ file: copy, name, archivedAt: before.mtime.toISOString() }], push);
    } finally {
      await rm(copy, { force: true });
    }
    shipped.set(name, fingerprint(before));
    partials.push(name);
  }
  for (const name of shipped.keys()) if (!names.includes(name)) shipped.delete(name);
  return { completed: complete.map((f) => f.name), partials };
}
