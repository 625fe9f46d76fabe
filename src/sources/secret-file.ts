import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { checkSecretFileMode } from '../util/secret-file-mode.js';

/** The secret held in a file (`password_file`), without its trailing newline. */
export async function readSecretFile(file: string, what: string): Promise<string> {
  await checkSecretFileMode(file, `${what} file`);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new LifeboatError(ErrorCode.Config, `cannot read the ${what} file ${file}: ${err.code ?? err.message}`, {
      hint: 'check the path and that Lifeboat may read it (mode 0600, owned by the user running Lifeboat)',
    });
  });
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new LifeboatError(ErrorCode.Config, `the ${what} file ${file} is empty`);
  return secret;
}

/**
 * A 0600 file holding credentials for a tool (a pgpass or option file), under a
 * name of its own in the run's private temp directory. Never rewritten: a file
 * shared by several dumps of one run and rewritten for each could be read
 * empty, mid-write, by a tool starting at that moment — which then connects
 * without its password, or as another user to another server.
 */
export async function writeCredentialFile(tempDir: string, name: string, text: string): Promise<string> {
  const file = path.join(tempDir, `${name}-${randomBytes(6).toString('hex')}`);
  await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  return file;
}
