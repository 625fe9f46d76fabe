import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { lstat, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p`, bounded: one `mkdir` per missing path component, each tried
 * once. Node's own `mkdir(..., { recursive: true })` retries for ever where a
 * parent exists but refuses children with ENOENT (anything under /proc), which
 * spun a restore or `init` at full CPU and blocked a threadpool thread so that
 * not even SIGTERM could end it. Returns the first directory created, like
 * Node's, or undefined when `dir` already existed.
 */
export async function makeDirectories(dir: string, mode = 0o700): Promise<string | undefined> {
  const missing = await missingComponents(
    path.resolve(dir),
    async (p) => (await stat(p).catch(() => undefined))?.isDirectory(),
    async (p) => Boolean(await lstat(p).catch(() => undefined)),
  );
  for (const d of missing) {
    try {
      await mkdir(d, { mode });
    } catch (err) {
      // Made meanwhile by someone else: fine when it is a directory now.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(d)).isDirectory())
        throw cannotCreate(d, err);
    }
  }
  return missing[0];
}

export function makeDirectoriesSync(dir: string, mode = 0o700): string | undefined {
  const missing = missingComponentsSync(path.resolve(dir));
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw cannotCreate(d, err);
    }
  }
  return missing[0];
}

/** The components of `dir` that do not exist, shallowest first; a component that exists and is not a directory is an error. */
async function missingComponents(
  dir: string,
  isDir: (p: string) => Promise<boolean | undefined>,
  exists: (p: string) => Promise<boolean>,
): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    if (await isDir(d)) break;
    if (await exists(d)) throw notADirectory(d);
    missing.unshift(d);
    if (d === path.dirname(d)) break;
  }
  return missing;
}

function missingComponentsSync(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) break;
    if (st || lstatExists(d)) throw notADirectory(d);
    missing.unshift(d);
    if (d === path.dirname(d)) break;
  }
  return missing;
}

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function notADirectory(p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`cannot create a directory at ${p}: something that is not a directory is there`), {
    code: 'ENOTDIR',
    path: p,
  });
}

function cannotCreate(p: string, err: unknown): NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  return Object.assign(
    new Error(
      `cannot create the directory ${p}: ${e.code ?? e.message}${e.code === 'ENOENT' ? ' (this file system does not hold new directories there)' : ''}`,
    ),
    { code: e.code ?? 'EIO', path: p },
  );
}
