/**
 * Small state files of the repository server (tokens, ledger) are replaced
 * whole: written to a temporary beside them, fsynced, renamed over. A crash
 * leaves the old or the new file, never half of one. Mode 0600, directory 0700.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { promises as fs, mkdirSync, openSync, closeSync, fsyncSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

export function writeFileAtomicSync(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
