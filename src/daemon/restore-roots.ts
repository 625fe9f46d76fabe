/**
 * Where the API may restore (it runs as the daemon's user, often root): only
 * below the system temp directory and the configured `server.restore_roots`,
 * never inside a repository, never through a symlink at the target itself.
 * The target is resolved (its existing part with realpath) before any check,
 * and the resolved path is what the restore then uses, so a symlinked parent
 * cannot send it elsewhere than where it was checked.
 *
 * @module
 */

import { lstat, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LifeboatConfig } from '../config/schema.js';
import { describeLocation } from '../storage/location.js';

export interface TargetDecision {
  target?: string;
  problem?: string;
}

/** The roots a restore may write below: the temp base and the configured ones, resolved. */
export async function restoreRoots(config: LifeboatConfig | undefined): Promise<string[]> {
  const given = [os.tmpdir(), ...(config?.server?.restore_roots ?? [])];
  const roots: string[] = [];
  for (const r of given) {
    const real = await realpath(r).catch(() => undefined);
    if (real) roots.push(real);
  }
  return roots;
}

/** Local repositories of the config, resolved (a target inside one is refused). */
async function localRepositories(config: LifeboatConfig | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const repo of Object.values(config?.repositories ?? {})) {
    const where = describeLocation(repo.url);
    if (!where.startsWith('/')) continue;
    out.push((await realpath(where).catch(() => undefined)) ?? path.resolve(where));
  }
  return out;
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir === '/' ? '/' : dir + '/');

/** Whether `dir` holds a repository (its `config` object beside `keys/` and `data/`). */
async function looksLikeRepository(dir: string): Promise<boolean> {
  const isFile = (await stat(path.join(dir, 'config')).catch(() => undefined))?.isFile();
  if (!isFile) return false;
  const keys = (await stat(path.join(dir, 'keys')).catch(() => undefined))?.isDirectory();
  const data = (await stat(path.join(dir, 'data')).catch(() => undefined))?.isDirectory();
  return Boolean(keys && data);
}

export async function decideTarget(raw: string, config: LifeboatConfig | undefined): Promise<TargetDecision> {
  if (!path.isAbsolute(raw) || raw.includes('\0')) return { problem: 'target must be an absolute path on the server' };
  const asked = path.resolve(raw);
  const own = await lstat(asked).catch(() => undefined);
  if (own?.isSymbolicLink()) return { problem: `${asked} is a symlink; give the real directory to restore into` };
  // The existing part resolved, the rest (to be created) appended.
  let existing = asked;
  const rest: string[] = [];
  while (!(await lstat(existing).catch(() => undefined)) && existing !== '/') {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  const target = path.join(await realpath(existing), ...rest);
  const roots = await restoreRoots(config);
  if (!roots.some((r) => inside(target, r))) {
    return {
      problem: `${target} is not below a directory the API may restore into (${roots.join(', ')}); add it to server.restore_roots in lifeboat.yaml`,
    };
  }
  for (const repo of await localRepositories(config)) {
    if (inside(target, repo))
      return { problem: `${target} is inside the repository at ${repo}; restore somewhere else` };
  }
  for (let d = target; ; d = path.dirname(d)) {
    if (await looksLikeRepository(d))
      return { problem: `${target} is inside a repository (${d}); restore somewhere else` };
    if (d === '/') break;
  }
  return { target };
}
