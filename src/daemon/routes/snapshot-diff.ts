import type { FastifyInstance } from 'fastify';
import { diffTrees, type TreeSource } from '../../repository/snapshot-tree/index.js';
import type { DiffChange, SnapshotDiff } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';
import { findSnapshot, openSnapshot } from './snapshot-access.js';

/** At most this many changed paths are listed; the counts are always complete. */
export const DIFF_LIMIT = 1000;

/**
 * The changes from one tree to another as the API lists them: every change of the snapshot-tree
 * toolkit except `metadata` (owner or mtime only), the first {@link DIFF_LIMIT} with complete counts.
 */
export async function diffForApi(
  repo: TreeSource,
  before: string,
  after: string,
): Promise<Pick<SnapshotDiff, 'changes' | 'counts' | 'truncated'>> {
  const changes: DiffChange[] = [];
  const counts = { added: 0, removed: 0, modified: 0, type: 0 };
  for await (const c of diffTrees(repo, before, after)) {
    if (c.change === 'metadata') continue;
    counts[c.change]++;
    if (changes.length >= DIFF_LIMIT) continue;
    changes.push({
      path: c.path,
      change: c.change,
      type: (c.after ?? c.before)!.type,
      size_before: c.before?.size ?? null,
      size_after: c.after?.size ?? null,
    });
  }
  return { changes, counts, truncated: changes.length < counts.added + counts.removed + counts.modified + counts.type };
}

/** `GET /api/v1/snapshots/{repository}/{id}/diff?with={other id}`: what changed from `id` to `with` (same repository). */
export function snapshotDiffRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get<{ Params: { repository: string; id: string }; Querystring: { with?: string } }>(
    '/api/v1/snapshots/:repository/:id/diff',
    async (req, reply) => {
      if (!req.query.with) return sendError(reply, 400, 'bad_request', 'give the snapshot to compare with as ?with=ID');
      const other = await findSnapshot(d, req.params.repository, req.query.with);
      if (typeof other === 'string') return sendError(reply, 404, 'not_found', other);
      const open = await openSnapshot(d, req.params.repository, req.params.id, reply);
      if (!open) return reply;
      try {
        const result = await diffForApi(open.repo, open.snapshot.tree, other.tree);
        const answer: SnapshotDiff = {
          repository: req.params.repository,
          before: open.snapshot.id,
          after: other.id,
          limit: DIFF_LIMIT,
          ...result,
        };
        return answer;
      } finally {
        await open.close();
      }
    },
  );
}
