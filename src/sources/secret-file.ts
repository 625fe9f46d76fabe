import { readFile } from 'node:fs/promises';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { checkSecretFileMode } from '../util/secret-file-mode.js';

/** The secret held in a file (`password_file`), without its trailing newline. */
export async function readSecretFile(file: string, what: string): Promise<string> {
  await checkSecretFileMode(file, `${what} file`);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new LifeboatError(ErrorCode.Config, `cannot read the ${what} file ${file}: ${err.code ?? err.message}`, { hint: 'check the path and that Lifeboat may read it (mode 0600, owned by the user running Lifeboat)' });
  });
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new LifeboatError(ErrorCode.Config, `the ${what} file ${file} is empty`);
  return secret;
}
