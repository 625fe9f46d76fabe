import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Repository } from '../../../repository/repository.js';
import { spooledFiles, syncDir } from './spool.js';
import { pushWal, type PushResult } from './wal-archive.js';

/** What draining the local WAL spool into the repository archived. */
export interface DrainResult extends PushResult {
  /** Files still in the spool afterwards (more than one batch, or a failure). */
  left: number;
}

/**
 * Move spooled WAL into the repository: one snapshot per batch of up to
 * `batch` files, then remove exactly those files from the spool. A failure
 * (a conflict, the repository unreachable) leaves the spool as it was.
 */
export async function drainSpool(
  repo: Repository,
  source: string,
  spoolDir: string,
  options: { batch?: number; host?: string; signal?: AbortSignal; binDir?: string } = {},
): Promise<DrainResult> {
  const all = await spooledFiles(spoolDir);
  const batch = all.slice(0, options.batch ?? 512);
  if (batch.length === 0) return { stored: [], alreadyArchived: [], left: 0 };
  const files = await Promise.all(
    batch.map(async (name) => {
      const file = path.join(spoolDir, name);
      return { file, name, archivedAt: (await stat(file)).mtime.toISOString() };
    }),
  );
  const result = await pushWal(repo, source, files, {
    host: options.host,
    signal: options.signal,
    binDir: options.binDir,
  });
  for (const f of files) await rm(f.file, { force: true });
  await syncDir(spoolDir);
  return { ...result, left: all.length - batch.length };
}
