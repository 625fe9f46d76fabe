/**
 * The pack directory: new or empty (or, with --force, emptied of an earlier
 * pack's files), private (0700, files 0600: even without a secret the pack
 * maps the infrastructure), written with exclusive creates so nothing already
 * there is written through, and closed by SHA256SUMS over every other file.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { chmod, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { makeDirectories } from '../util/make-dirs.js';

export const CHECKSUMS = 'SHA256SUMS';
const RECOVERY_KEY = /^recovery-key-.+\.txt$/;

export interface PackFile {
  name: string;
  content: string;
  /** Holds key material (a recovery key page). */
  secret?: boolean;
  executable?: boolean;
}

export interface WrittenFile {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
  secret: boolean;
}

/** Refuse a directory that holds anything unless forced; with force, remove an earlier pack's files. Returns the files that remain. */
export async function preparePackDir(dir: string, names: string[], force: boolean): Promise<string[]> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new LifeboatError(ErrorCode.Usage, `cannot use ${dir}: ${err.code ?? err.message}`);
  });
  if (!st) return [];
  if (!st.isDirectory())
    throw new LifeboatError(ErrorCode.Usage, `${dir} exists and is not a directory`, {
      hint: 'give --out a new directory',
    });
  const entries = await readdir(dir);
  if (entries.length === 0) return [];
  if (!force) {
    throw new LifeboatError(ErrorCode.Usage, `${dir} is not empty`, {
      hint: 'a pack goes into a new or empty directory: choose another --out, or pass --force to replace an earlier pack there',
    });
  }
  // An earlier pack's recovery key pages go too: a pack made without the flag must not keep a stale secret.
  const ours = entries.filter((e) => names.includes(e) || e === CHECKSUMS || RECOVERY_KEY.test(e));
  await Promise.all(ours.map((e) => rm(path.join(dir, e), { force: true })));
  return entries.filter((e) => !ours.includes(e)).sort();
}

export async function writePack(dir: string, files: PackFile[]): Promise<WrittenFile[]> {
  await makeDirectories(dir, 0o700);
  await chmod(dir, 0o700);
  const written: WrittenFile[] = [];
  const put = async (name: string, content: string, mode: number, secret: boolean) => {
    const p = path.join(dir, name);
    const data = Buffer.from(content, 'utf8');
    await writeFile(p, data, { mode, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      throw new LifeboatError(
        ErrorCode.Failure,
        `cannot write ${p}: ${err.code === 'EEXIST' ? 'it appeared while the pack was being written' : err.message}`,
      );
    });
    written.push({
      name,
      path: p,
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      secret,
    });
  };
  for (const f of files) await put(f.name, f.content, f.executable ? 0o700 : 0o600, Boolean(f.secret));
  await put(CHECKSUMS, checksums(written), 0o600, false);
  return written;
}

/** `sha256sum -c` format: hash, two spaces, name; sorted by name. */
export function checksums(files: Array<Pick<WrittenFile, 'name' | 'sha256'>>): string {
  return [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.name}\n`)
    .join('');
}
