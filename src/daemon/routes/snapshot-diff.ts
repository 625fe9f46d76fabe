import type { FastifyInstance } from 'fastify';
import type { Repository } from '../../repository/repository.js';
import type { TreeNode } from '../../repository/format/index.js';
import type { DiffChange, SnapshotDiff } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';
import { findSnapshot, openSnapshot } from './snapshot-access.js';

/** At most this many changed paths are listed; the counts are always complete. */
export const DIFF_LIMIT = 1000;

function sameContent(a: TreeNode, b: TreeNode): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'dir') return a.subtree === b.subtree;
  return (a.content ?? []).join() === (b.content ?? []).join() && a.size === b.size && a.target === b.target && a.mode === b.mode;
}

/**
 * The differences between two trees of one repository, walking only subtrees
 * whose ids differ (unchanged directories cost nothing).
 */
export async function diffTrees(repo: Repository, before: string, after: string): Promise<Pick<SnapshotDiff, 'changes' | 'counts' | 'truncated'>> {
  const changes: DiffChange[] = [];
  const counts = { added: 0, removed: 0, modified: 0, type: 0 };
  const note = (c: DiffChange) => {
    counts[c.change]++;
    if (changes.length < DIFF_LIMIT) changes.push(c);
  };
  const all = async (treeId: string | undefined, prefix: string, change: 'added' | 'removed') => {
    if (!treeId) return;
    for (const n of (await repo.loadTree(treeId)).nodes) {
      const p = `${prefix}/${n.name}`;
      note({ path: p, change, type: n.type, size_before: change === 'removed' ? (n.size ?? null) : null, size_after: change === 'added' ? (n.size ?? null) : null });
      if (n.type === 'dir') await all(n.subtree, p, change);
    }
  };
  const walk = async (a: string, b: string, prefix: string): Promise<void> => {
    if (a === b) return;
    const left = new Map((await repo.loadTree(a)).nodes.map((n) => [n.name, n]));
    const right = new Map((await repo.loadTree(b)).nodes.map((n) => [n.name, n]));
    const names = [...new Set([...left.keys(), ...right.keys()])].sort();
    for (const name of names) {
      const x = left.get(name);
      const y = right.get(name);
      const p = `${prefix}/${name}`;
      if (!x && y) {
        note({ path: p, change: 'added', type: y.type, size_before: null, size_after: y.size ?? null });
        if (y.type === 'dir') await all(y.subtree, p, 'added');
      } else if (x && !y) {
        note({ path: p, change: 'removed', type: x.type, size_before: x.size ?? null, size_after: null });
        if (x.type === 'dir') await all(x.subtree, p, 'removed');
      } else if (x && y && !sameContent(x, y)) {
        if (x.type !== y.type) {
          note({ path: p, change: 'type', type: y.type, size_before: x.size ?? null, size_after: y.size ?? null });
        } else if (x.type === 'dir') {
          await walk(x.subtree!, y.subtree!, p);
        } else {
          note({ path: p, change: 'modified', type: y.type, size_before: x.size ?? null, size_after: y.size ?? null });
        }
      }
    }
  };
  await walk(before, after, '');
  return { changes, counts, truncated: changes.length < counts.added + counts.removed + counts.modified + counts.type };
}

/** `GET /api/v1/snapshots/{repository}/{id}/diff?with={other id}`: what changed from `id` to `with` (same repository). */
export function snapshotDiffRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get<{ Params: { repository: string; id: string }; Querystring: { with?: string } }>('/api/v1/snapshots/:repository/:id/diff', async (req, reply) => {
    if (!req.query.with) return sendError(reply, 400, 'bad_request', 'give the snapshot to compare with as ?with=ID');
    const other = await findSnapshot(d, req.params.repository, req.query.with);
    if (typeof other === 'string') return sendError(reply, 404, 'not_found', other);
    const open = await openSnapshot(d, req.params.repository, req.params.id, reply);
    if (!open) return reply;
    try {
      const result = await diffTrees(open.repo, open.snapshot.tree, other.tree);
      const answer: SnapshotDiff = { repository: req.params.repository, before: open.snapshot.id, after: other.id, limit: DIFF_LIMIT, ...result };
      return answer;
    } finally {
      await open.close();
    }
  });
}
