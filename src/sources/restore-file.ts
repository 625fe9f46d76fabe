import { createWriteStream } from 'node:fs';
import { lstat, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { makeDirectories } from '../util/make-dirs.js';

/** Refuse to replace an existing path unless forced. */
export async function refuseExisting(target: string, force: boolean | undefined, what: string): Promise<boolean> {
  const st = await lstat(target).catch(() => undefined);
  if (st && !force) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `${target} already exists; a restore does not replace ${what} unless told to`,
      { hint: 'pass --force to replace it, or restore to another path' },
    );
  }
  return Boolean(st);
}

/**
 * Write a stream to `target` atomically: a temp file beside it (0600), fsync,
 * then rename over the target, so a failed restore never leaves half a file
 * where the real one was.
 */
export async function writeStreamAtomically(
  target: string,
  input: AsyncIterable<Uint8Array>,
  mode = 0o600,
): Promise<void> {
  await makeDirectories(path.dirname(target), 0o777);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.lifeboat-${process.pid}-${Date.now()}`);
  try {
    const out = createWriteStream(temp, { mode, flags: 'wx', flush: true });
    await pipeline(Readable.from(input), out);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
