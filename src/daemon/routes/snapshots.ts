import type { FastifyInstance } from 'fastify';
import type { SnapshotItem, SnapshotPage } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';
import { decodeCursor, encodeCursor, limitOf } from './paging.js';

/**
 * `GET /api/v1/snapshots?repository=&source=&host=&tag=&limit=&cursor=`: newest first,
 * across repositories, in pages (limit 1–1000, default 100). `next_cursor`
 * continues after the last item and stays valid while snapshots are added.
 */
export function snapshotRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get<{
    Querystring: { repository?: string; source?: string; host?: string; tag?: string; limit?: string; cursor?: string };
  }>('/api/v1/snapshots', async (req, reply) => {
    const q = req.query;
    const limit = limitOf(q.limit, 100, 1000);
    if (limit === undefined) return sendError(reply, 400, 'bad_request', 'limit must be a whole number from 1 to 1000');
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (q.cursor && !after) return sendError(reply, 400, 'bad_request', 'cursor is not one this server handed out');
    if (q.repository && !d.loaded.config.repositories?.[q.repository])
      return sendError(reply, 404, 'not_found', `no repository named "${q.repository}"`);

    const repos = await d.snapshots.get();
    type Item = { key: string[]; view: SnapshotItem };
    const items: Item[] = [];
    for (const r of repos) {
      if (q.repository && r.name !== q.repository) continue;
      for (const s of r.snapshots) {
        if (q.source && s.source !== q.source) continue;
        if ((q.host && s.host !== q.host) || (q.tag && !s.tags.includes(q.tag))) continue;
        const run = (s.metadata as { run?: { job?: unknown; runId?: unknown } }).run;
        items.push({
          key: [s.time, r.name, s.id],
          view: {
            id: s.id,
            repository: r.name,
            source: s.source ?? null,
            time: s.time,
            host: s.host,
            tags: s.tags,
            paths: s.paths,
            job: typeof run?.job === 'string' ? run.job : null,
            run_id: typeof run?.runId === 'string' ? run.runId : null,
            summary: {
              files: s.summary.files,
              bytes: s.summary.bytes,
              added_bytes: s.summary.addedBytes,
              duration_seconds: s.summary.durationMs / 1000,
              errors: s.summary.errors,
            },
          },
        });
      }
    }
    // newest first; ties broken by repository and id so the order is total and cursors are exact
    const cmp = (a: string[], b: string[]) =>
      a[0]! !== b[0]!
        ? a[0]! < b[0]!
          ? 1
          : -1
        : a[1]! !== b[1]!
          ? a[1]! < b[1]!
            ? -1
            : 1
          : a[2]! < b[2]!
            ? -1
            : a[2]! > b[2]!
              ? 1
              : 0;
    items.sort((a, b) => cmp(a.key, b.key));
    const start = after ? items.findIndex((i) => cmp(i.key, after) > 0) : 0;
    const page = start < 0 ? [] : items.slice(start, start + limit);
    const more = start >= 0 && start + limit < items.length;
    const answer: SnapshotPage = {
      snapshots: page.map((i) => i.view),
      next_cursor: more ? encodeCursor(page[page.length - 1]!.key) : null,
      unreachable: repos
        .filter((r) => !r.reachable)
        .map((r) => ({ repository: r.name, error: d.redact(r.error ?? '') })),
      unreadable: repos
        .filter((r) => !q.repository || r.name === q.repository)
        .flatMap((r) => r.problems.map((p) => ({ repository: r.name, object: p.object, error: d.redact(p.error) }))),
    };
    return answer;
  });
}
