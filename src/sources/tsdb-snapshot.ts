/**
 * What the snapshot-directory sources (VictoriaMetrics, Prometheus) share: the
 * server's snapshot directory turned into real pieces the archiver can read,
 * a hard-linked scratch copy of those pieces for measuring, and the restore of
 * the stored tree into a data directory a server can start on.
 *
 * @module
 */

import { copyFile, link, lstat, mkdir, readdir, readlink, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Mount } from '../archiver/virtual-root.js';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { ownedTempDir, type OwnedDir } from '../leftovers/temp-dir.js';
import { track } from '../leftovers/track.js';
import { restore } from '../restorer/restore.js';
import type { SourceType } from '../config/source-schemas.js';
import type { RestoreContext } from './contract.js';
import { displayUrl } from './tsdb-http.js';
import { makeDirectories } from '../util/make-dirs.js';

/** A piece of a snapshot tree: a real path on disk and where it sits in the tree (`''` is the root). */
export interface TreePart {
  from: string;
  rel: string;
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

/**
 * The snapshot directory as real pieces. The archiver records symlinks as
 * symlinks, but a VictoriaMetrics snapshot is made of relative symlinks into
 * the data directory (`data/small -> ../../../data/small/snapshots/NAME`), so
 * each symlink is replaced by its resolved target; a directory without any
 * symlink below it stays one piece. Targets must lie inside `within` (the
 * server's data directory), so a stray link never pulls in other files.
 */
export async function resolveSnapshotTree(dir: string, within: string): Promise<TreePart[]> {
  const root = await realpath(within);
  const entered = new Set<string>();
  const walk = async (real: string, rel: string): Promise<{ plain: boolean; parts: TreePart[] }> => {
    if (entered.has(real))
      throw new LifeboatError(ErrorCode.SourceFailed, `the snapshot directory ${dir} links to itself at ${rel}`);
    entered.add(real);
    const parts: TreePart[] = [];
    let plain = true;
    const entries = await readdir(real, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const from = path.join(real, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      let target = from;
      if (e.isSymbolicLink()) {
        plain = false;
        target = await realpath(from).catch((err: NodeJS.ErrnoException) => {
          throw new LifeboatError(
            ErrorCode.SourceFailed,
            `the snapshot's link ${from} is broken: ${err.code ?? err.message}`,
          );
        });
        if (!isWithin(target, root)) {
          throw new LifeboatError(
            ErrorCode.SourceFailed,
            `the snapshot's link ${from} points outside the data directory ${root}: ${target}`,
          );
        }
      }
      if ((await stat(target)).isDirectory()) {
        const inner = await walk(target, childRel);
        if (inner.plain) parts.push({ from: target, rel: childRel });
        else {
          plain = false;
          parts.push(...inner.parts);
        }
      } else parts.push({ from: target, rel: childRel });
    }
    return { plain, parts };
  };
  const top = await walk(await realpath(dir), '');
  return top.plain ? [{ from: await realpath(dir), rel: '' }] : top.parts;
}

/** The pieces as archiver mounts below `at` (`/victoriametrics/data`). */
export function mountsAt(parts: readonly TreePart[], at: string): Mount[] {
  return parts.map((p) => ({ from: p.from, at: p.rel ? `${at}/${p.rel}` : at }));
}

/**
 * Rebuild the pieces as one tree at `dest` from hard links, so a throwaway
 * server can be started on it without touching the original files (servers
 * write new files and rename, never rewrite parts in place). A file that
 * cannot be linked (another file system, a file owned by another user) is copied.
 */
export async function linkTree(parts: readonly TreePart[], dest: string): Promise<void> {
  const place = async (from: string, to: string): Promise<void> => {
    const st = await lstat(from);
    if (st.isDirectory()) {
      await makeDirectories(to, st.mode & 0o7777);
      for (const name of await readdir(from)) await place(path.join(from, name), path.join(to, name));
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(from), to);
    } else if (st.isFile()) {
      await link(from, to).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV' && err.code !== 'EPERM') throw err;
        await copyFile(from, to);
      });
    }
  };
  for (const part of parts) {
    const to = part.rel ? path.join(dest, ...part.rel.split('/')) : dest;
    await makeDirectories(path.dirname(to), 0o777);
    await place(part.from, to);
  }
}

/**
 * A private scratch directory for a hard-linked copy of `source`: inside the
 * first candidate on the same file system as `source`, so links work and
 * nothing is copied; the last candidate is used when none is.
 */
export async function scratchDirNear(source: string, candidates: readonly string[]): Promise<OwnedDir> {
  const dev = (await stat(source)).dev;
  let base = candidates[candidates.length - 1]!;
  for (const c of candidates) {
    if ((await stat(c).catch(() => undefined))?.dev === dev) {
      base = c;
      break;
    }
  }
  return ownedTempDir(base, '.lifeboat-measure-');
}

export interface ServerSnapshot {
  name: string;
  /** Delete it (`remove` says whether it is gone), then forget its record. */
  release(): Promise<void>;
}

/**
 * Have the server make a snapshot, recorded in the ledger before it is asked
 * (with no name yet) and updated with the name it answers, so the snapshot of
 * a killed backup is deleted by the next sweep. A request that got a refusal
 * made nothing and is forgotten; one that got no answer stays recorded, and
 * the sweep looks for what the server made around that time.
 */
export async function serverSnapshot(
  server: { engine: 'victoriametrics' | 'prometheus'; url: string; dataDir: string; source: string },
  create: () => Promise<string>,
  remove: (name: string) => Promise<boolean>,
): Promise<ServerSnapshot> {
  const requested = {
    kind: 'tsdb-snapshot',
    engine: server.engine,
    url: displayUrl(server.url),
    dataDir: path.resolve(server.dataDir),
    snapshot: null,
    requestedAt: new Date().toISOString(),
  } as const;
  const tracked = await track(requested, { source: server.source });
  let name: string;
  try {
    name = await create();
  } catch (err) {
    if (isLifeboatError(err) && !err.retryable && err.code !== ErrorCode.Interrupted) await tracked.done();
    throw err;
  }
  try {
    await tracked.update({ ...requested, snapshot: name });
  } catch (err) {
    if (await remove(name)) await tracked.done().catch(() => {});
    throw err;
  }
  return {
    name,
    release: async () => {
      if (await remove(name)) await tracked.done();
    },
  };
}

/** `name` is a plain snapshot name the server gave us (never a path). */
export function assertSnapshotName(name: unknown, server: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `${server} answered with an unexpected snapshot name: ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** The server's snapshot directory, which must exist on this host. */
export async function snapshotDirOnHost(dataDir: string, name: string, server: string, flag: string): Promise<string> {
  const dir = path.join(dataDir, 'snapshots', name);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `${server} made snapshot ${name}, but ${dir} does not exist on this host`,
      {
        hint: `data_dir must be the server's ${flag} as seen from this host (for a container, the host side of its volume)`,
      },
    );
  }
  return dir;
}

/**
 * Restore the tree stored at `snapshotPath` (`/prometheus/data`) into
 * `ctx.target` as a data directory. A non-empty target is refused unless
 * forced; with force its old content is replaced. The tree is first restored
 * into a private directory inside the target (same file system), so the old
 * content is removed only once the new one is complete.
 */
export async function restoreDataDir<T extends SourceType>(
  ctx: RestoreContext<T>,
  snapshotPath: string,
  server: { name: string; flag: string },
): Promise<string> {
  if (!ctx.target) {
    throw new LifeboatError(ErrorCode.Usage, `a ${server.name} snapshot is restored into a data directory`, {
      hint: `pass --target DIR (the new server's ${server.flag})`,
    });
  }
  const target = path.resolve(ctx.target);
  const st = await lstat(target).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new LifeboatError(ErrorCode.Refused, `${target} exists and is not a directory`, {
      hint: 'restore to a directory',
    });
  const old = st ? await readdir(target) : [];
  if (old.length > 0 && !ctx.force) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `${target} is not empty; a restore does not replace a data directory unless told to`,
      {
        hint: 'pass --force to replace its content, or restore to an empty directory',
      },
    );
  }
  await makeDirectories(target, 0o700);
  const stagingDir = await ownedTempDir(target, '.lifeboat-restore-');
  const staging = stagingDir.path;
  try {
    const result = await restore(ctx.repo, ctx.snapshot, {
      target: staging,
      include: [snapshotPath],
      signal: ctx.signal,
    });
    if (result.errors.length > 0) {
      const first = result.errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`);
      throw new LifeboatError(
        ErrorCode.Failure,
        `${result.errors.length} entries could not be restored: ${first.join('; ')}`,
      );
    }
    const restoredRoot = path.join(staging, ...snapshotPath.split('/').filter(Boolean));
    const fresh = await readdir(restoredRoot).catch(() => {
      throw new LifeboatError(
        ErrorCode.NotFound,
        `snapshot ${ctx.snapshot.id.slice(0, 8)} holds nothing at ${snapshotPath}`,
      );
    });
    for (const name of old) await rm(path.join(target, name), { recursive: true, force: true });
    for (const name of fresh) await rename(path.join(restoredRoot, name), path.join(target, name));
    return target;
  } finally {
    await stagingDir.dispose();
  }
}

/**
 * Run `measure` on a hard-linked copy of the pieces (made in a scratch
 * directory near them, see `scratchDirNear`), and remove the copy afterwards.
 * `measure` gets the copy and the scratch directory for its own small files.
 */
export async function onLinkedCopy<T>(
  parts: readonly TreePart[],
  candidates: readonly string[],
  measure: (copy: string, scratch: string) => Promise<T>,
): Promise<T> {
  const scratch = await scratchDirNear(parts[0]?.from ?? candidates[0]!, candidates);
  try {
    const copy = path.join(scratch.path, 'data');
    await mkdir(copy, { mode: 0o700 });
    await linkTree(parts, copy);
    return await measure(copy, scratch.path);
  } finally {
    await scratch.dispose();
  }
}

/** First and last sample time (ISO, millisecond precision), or null when there is no sample. */
export type TimeRange = { first: string; last: string } | null;

export function timeRange(minMs: number, maxMs: number): TimeRange {
  return Number.isFinite(minMs) && Number.isFinite(maxMs) && minMs <= maxMs
    ? { first: new Date(minMs).toISOString(), last: new Date(maxMs).toISOString() }
    : null;
}
