/**
 * The inputs a backup was asked for, checked before anything is stored: an
 * empty path, a path that does not exist or cannot be looked at, or a type
 * that is never backed up (socket, FIFO, device) is an input error that names
 * the path, and is left out of the walk. Without this check a missing path
 * would simply produce an empty snapshot.
 *
 * @module
 */

import { systemErrorCode } from '../errors/index.js';
import { lstatBig } from './fast-fs.js';
import type { Mount } from './virtual-root.js';
import type { InputError } from './walker.js';

export interface GivenInputs {
  paths: string[];
  mounts: Mount[];
  errors: InputError[];
}

/** `raw` is what the caller gave (before normalising), to catch empty paths. */
export function emptyPathErrors(raw: readonly string[]): InputError[] {
  return raw
    .filter((p) => p.trim() === '')
    .map(() => ({ path: '""', message: 'an empty path names no file; not backed up', given: true as const }));
}

export function checkGivenInputs(paths: readonly string[], mounts: readonly Mount[]): GivenInputs {
  const errors: InputError[] = [];
  const keep = (p: string): boolean => {
    const problem = inputProblem(p);
    if (problem) errors.push({ path: p, message: problem, given: true });
    return problem === undefined;
  };
  return { paths: paths.filter(keep), mounts: mounts.filter((m) => keep(m.from)), errors };
}

/** Why a given path cannot be backed up, or undefined when it can. */
export function inputProblem(p: string): string | undefined {
  try {
    const st = lstatBig(p);
    if (st.isDirectory() || st.isFile() || st.isSymbolicLink()) return undefined;
    return `is ${st.isSocket() ? 'a socket' : st.isFIFO() ? 'a FIFO' : 'a device'}; only files, directories and symlinks are backed up`;
  } catch (err) {
    const code = systemErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
    return `cannot be read (${code ?? (err as Error).message})`;
  }
}
