import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { escape } from 'minimatch';
import { restore, type RestoreProgress } from '../../restorer/restore.js';
import type { RestorePlan, RestoreRequest, RestoreStarted, RestoreStatus } from '../api-types.js';
import type { DaemonContext } from '../context.js';
import { sendError } from '../http-errors.js';
import { decideTarget } from '../restore-roots.js';
import { openSnapshot, snapshotPathOf } from './snapshot-access.js';

/** A request body as it arrives: the fields of a `RestoreRequest`, not checked yet. */
type RestoreBody = { [K in keyof RestoreRequest]?: unknown };

/** A target a restore may write into: absolute, and either absent or an empty directory (nothing is ever overwritten). */
export async function targetProblem(target: string): Promise<string | undefined> {
  if (!path.isAbsolute(target) || target.includes('\0')) return 'target must be an absolute path on the server';
  try {
    const s = await stat(target);
    if (!s.isDirectory()) return `${target} exists and is not a directory`;
    if ((await readdir(target)).length > 0) return `${target} is not empty; restore into a new or empty directory`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `${target}: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * Restores started from the API: `POST /api/v1/restores/plan` answers
 * exactly what a restore would write where (nothing is written);
 * `POST /api/v1/restores` starts it (202) into an absent or empty directory,
 * with progress as `restore.progress` events and the outcome at
 * `GET /api/v1/restores/{id}`. `path` picks one file or directory of the
 * snapshot (default: all of it). The daemon's shutdown aborts running restores.
 */
export function restoreRoutes(app: FastifyInstance, d: DaemonContext): void {
  const states = new Map<string, RestoreStatus>();
  const running = new Set<Promise<void>>();
  const stop = new AbortController();
  app.addHook('onClose', async () => {
    stop.abort();
    await Promise.all([...running]);
  });

  const parse = async (body: RestoreBody | undefined) => {
    const b = body ?? {};
    if (typeof b.repository !== 'string' || typeof b.snapshot !== 'string' || typeof b.target !== 'string')
      return 'give repository, snapshot and target as strings';
    if (b.path !== undefined && typeof b.path !== 'string') return 'path must be a string: a path in the snapshot';
    const selected = snapshotPathOf(b.path);
    if (!selected) return 'path must be an absolute snapshot path without . or .. segments';
    // a relative target would land wherever the daemon was started
    if (!path.isAbsolute(b.target)) return 'target must be an absolute path on the server';
    const decided = await decideTarget(b.target, d.loaded.config);
    if (!decided.target) return decided.problem!;
    const target = decided.target;
    const problem = await targetProblem(target);
    if (problem) return problem;
    return { repository: b.repository, snapshot: b.snapshot, target, selected };
  };

  app.post<{ Body: RestoreBody }>('/api/v1/restores/plan', async (req, reply) => {
    const p = await parse(req.body);
    if (typeof p === 'string') return sendError(reply, 400, 'bad_request', p);
    const open = await openSnapshot(d, p.repository, p.snapshot, reply);
    if (!open) return reply;
    try {
      const r = await restore(open.repo, open.snapshot, {
        target: p.target,
        dryRun: true,
        ...(p.selected === '/' ? {} : { include: [escape(p.selected)] }),
      });
      const answer: RestorePlan = {
        repository: p.repository,
        snapshot: p.snapshot,
        path: p.selected,
        target: p.target,
        files: r.plan.files.length,
        dirs: r.plan.dirs.length,
        symlinks: r.plan.symlinks.length,
        bytes: r.plan.bytes,
        refused: r.plan.refused.map((x) => ({ path: x.path, message: d.redact(x.message) })),
      };
      return answer;
    } finally {
      await open.close();
    }
  });

  app.post<{ Body: RestoreBody }>('/api/v1/restores', async (req, reply) => {
    const p = await parse(req.body);
    if (typeof p === 'string') return sendError(reply, 400, 'bad_request', p);
    if ([...states.values()].some((s) => s.status === 'running' && s.target === p.target))
      return sendError(reply, 409, 'conflict', `a restore into ${p.target} is running`);
    const open = await openSnapshot(d, p.repository, p.snapshot, reply);
    if (!open) return reply;
    const id = randomBytes(6).toString('hex');
    const state: RestoreStatus = {
      id,
      repository: p.repository,
      snapshot: p.snapshot,
      path: p.selected,
      target: p.target,
      status: 'running',
      started_at: new Date().toISOString(),
      finished_at: null,
      files: 0,
      bytes: 0,
      total_files: 0,
      total_bytes: 0,
      errors: [],
    };
    states.set(id, state);
    const progress: RestoreProgress = { filesDone: 0, bytesDone: 0, totalFiles: 0, totalBytes: 0 };
    const tick = () => {
      Object.assign(state, {
        files: progress.filesDone,
        bytes: progress.bytesDone,
        total_files: progress.totalFiles,
        total_bytes: progress.totalBytes,
      });
      d.events.publish('restore.progress', {
        restore_id: id,
        files: state.files,
        bytes: state.bytes,
        total_files: state.total_files,
        total_bytes: state.total_bytes,
      });
    };
    const timer = setInterval(tick, 500);
    d.events.publish('restore.started', {
      restore_id: id,
      repository: p.repository,
      snapshot: p.snapshot,
      path: p.selected,
      target: p.target,
    });
    const done = restore(open.repo, open.snapshot, {
      target: p.target,
      progress,
      signal: stop.signal,
      ...(p.selected === '/' ? {} : { include: [escape(p.selected)] }),
    })
      .then(
        (r) => {
          state.errors = r.errors.map((e) => ({ path: e.path, message: d.redact(e.message) }));
          state.status = r.errors.length ? 'partial' : 'ok';
        },
        (err: unknown) => {
          state.errors.push({ path: p.selected, message: d.redact((err as Error).message) });
          state.status = 'failed';
        },
      )
      .finally(async () => {
        clearInterval(timer);
        tick();
        state.finished_at = new Date().toISOString();
        await open.close();
        d.events.publish('restore.finished', {
          restore_id: id,
          status: state.status,
          files: state.files,
          bytes: state.bytes,
          errors: state.errors.length,
        });
      });
    running.add(done);
    void done.finally(() => running.delete(done));
    const answer: RestoreStarted = {
      restore_id: id,
      status: 'started',
      target: p.target,
      status_url: `/api/v1/restores/${id}`,
    };
    return reply.code(202).send(answer);
  });

  app.get<{ Params: { id: string } }>('/api/v1/restores/:id', async (req, reply) => {
    const s = states.get(req.params.id);
    if (!s) return sendError(reply, 404, 'not_found', `no restore ${req.params.id}`);
    return s;
  });
}
