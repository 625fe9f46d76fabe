import type { FastifyReply } from 'fastify';
import { openConfiguredRepository } from '../../config/repository-access.js';
import type { Repository } from '../../repository/repository.js';
import type { SnapshotEntry } from '../../repository/format/index.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';

/**
 * One snapshot of one configured repository, for the browsing, download,
 * compare and restore routes: looked up in the daemon's snapshot catalog by
 * its full id, then the repository is opened (index loaded) for the caller,
 * who must `close()` it. Unknown names answer 404 and nothing is opened.
 */
export interface OpenSnapshot {
  repo: Repository;
  snapshot: SnapshotEntry;
  close: () => Promise<void>;
}

export async function findSnapshot(d: DaemonContext, repository: string, id: string): Promise<SnapshotEntry | string> {
  if (!d.loaded.config.repositories?.[repository]) return `no repository named "${repository}"`;
  const entry = (await d.snapshots.get()).find((r) => r.name === repository);
  const snapshot = entry?.snapshots.find((s) => s.id === id);
  return snapshot ?? `no snapshot ${id.slice(0, 16)} in repository "${repository}"`;
}

export async function openSnapshot(
  d: DaemonContext,
  repository: string,
  id: string,
  reply: FastifyReply,
): Promise<OpenSnapshot | undefined> {
  const snapshot = await findSnapshot(d, repository, id);
  if (typeof snapshot === 'string') {
    sendError(reply, 404, 'not_found', snapshot);
    return undefined;
  }
  const repo = await openConfiguredRepository(repository, d.loaded.config.repositories![repository]!);
  try {
    if (repo.index.packCount === 0) await repo.prepareRead();
  } catch (err) {
    await repo.close();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return { repo, snapshot, close: () => (closed ??= repo.close()) };
}

/** A snapshot path from a query string: absolute, no `.`/`..` segments, no NUL. */
export function snapshotPathOf(raw: string | undefined): string | undefined {
  const p = raw === undefined || raw === '' ? '/' : raw;
  if (!p.startsWith('/') || p.includes('\0')) return undefined;
  const parts = p.split('/').filter(Boolean);
  if (parts.some((x) => x === '.' || x === '..')) return undefined;
  return `/${parts.join('/')}`;
}
