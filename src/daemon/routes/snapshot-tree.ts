import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { nodeAt } from '../../repository/snapshot-tree/index.js';
import type { TreeNode } from '../../repository/format/index.js';
import { readSnapshotFile } from '../../sources/snapshot-file.js';
import type { SnapshotDetail, TreeEntry, TreeListing } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendClientError, sendError } from '../http-errors.js';
import { openSnapshot, snapshotPathOf } from './snapshot-access.js';

type Params = { repository: string; id: string };

/** A tree node as the API shows it: no chunk ids, owners by name when known. */
export function nodeView(n: TreeNode, parent: string): TreeEntry {
  return {
    name: n.name,
    path: parent === '/' ? `/${n.name}` : `${parent}/${n.name}`,
    type: n.type,
    size: n.size ?? null,
    mode: n.mode,
    user: n.user ?? null,
    group: n.group ?? null,
    mtime: new Date(Number(BigInt(n.mtimeNs) / 1_000_000n)).toISOString(),
  };
}

/**
 * One snapshot: `GET /api/v1/snapshots/{repository}/{id}` (everything it
 * records: reason, parent, summary, the source's metadata such as row
 * counts), `…/tree?path=` (one directory, entries sorted by name) and
 * `…/file?path=` (the content of one file, streamed and checked against its
 * recorded hash; a mismatch ends the download with an error).
 */
export function snapshotTreeRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get<{ Params: Params }>('/api/v1/snapshots/:repository/:id', async (req, reply) => {
    const open = await openSnapshot(d, req.params.repository, req.params.id, reply);
    if (!open) return reply;
    await open.close();
    const s = open.snapshot;
    const answer: SnapshotDetail = {
      id: s.id,
      repository: req.params.repository,
      source: s.source ?? null,
      time: s.time,
      host: s.host,
      username: s.username,
      paths: s.paths,
      tags: s.tags,
      reason: s.reason ?? null,
      parent: s.parent ?? null,
      program: s.program,
      summary: {
        files: s.summary.files,
        dirs: s.summary.dirs,
        bytes: s.summary.bytes,
        files_read: s.summary.filesRead,
        added_bytes: s.summary.addedBytes,
        added_stored_bytes: s.summary.addedStoredBytes,
        duration_seconds: s.summary.durationMs / 1000,
        errors: s.summary.errors,
      },
      metadata: JSON.parse(d.redact(JSON.stringify(s.metadata))) as unknown,
    };
    return answer;
  });

  app.get<{ Params: Params; Querystring: { path?: string } }>(
    '/api/v1/snapshots/:repository/:id/tree',
    async (req, reply) => {
      const dir = snapshotPathOf(req.query.path);
      if (!dir)
        return sendError(reply, 400, 'bad_request', 'path must be an absolute snapshot path without . or .. segments');
      const open = await openSnapshot(d, req.params.repository, req.params.id, reply);
      if (!open) return reply;
      try {
        const node = await nodeAt(open.repo, open.snapshot.tree, dir);
        if (node.type !== 'dir' || !node.subtree)
          return sendError(reply, 400, 'bad_request', `${dir} is a ${node.type}, not a directory`);
        const tree = await open.repo.loadTree(node.subtree);
        const entries = [...tree.nodes]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((n) => nodeView(n, dir));
        const answer: TreeListing = { path: dir, entries };
        return answer;
      } catch (err) {
        return sendClientError(reply, err);
      } finally {
        await open.close();
      }
    },
  );

  app.get<{ Params: Params; Querystring: { path?: string } }>(
    '/api/v1/snapshots/:repository/:id/file',
    async (req, reply) => {
      const file = snapshotPathOf(req.query.path);
      if (!file || file === '/')
        return sendError(reply, 400, 'bad_request', 'path must be the absolute snapshot path of a file');
      const open = await openSnapshot(d, req.params.repository, req.params.id, reply);
      if (!open) return reply;
      let node: TreeNode;
      try {
        node = await nodeAt(open.repo, open.snapshot.tree, file);
        if (node.type !== 'file' && node.type !== 'stream') {
          await open.close();
          return sendError(reply, 400, 'bad_request', `${file} is a ${node.type}, not a file`);
        }
      } catch (err) {
        await open.close();
        return sendClientError(reply, err);
      }
      const content = readSnapshotFile(open.repo, node, file);
      const body = Readable.from(
        (async function* () {
          try {
            yield* content;
          } finally {
            await open.close();
          }
        })(),
      );
      const name = node.name.replace(/[^\w.+-]/g, '_') || 'file';
      reply.header(
        'content-disposition',
        `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(node.name)}`,
      );
      if (node.size !== undefined) reply.header('content-length', String(node.size));
      return reply.type('application/octet-stream').send(body);
    },
  );
}
