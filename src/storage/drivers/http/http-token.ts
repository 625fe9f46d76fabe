/**
 * The client's token for a repository server: from the file named by
 * `$LIFEBOAT_SERVER_TOKEN_FILE`, else from `$LIFEBOAT_SERVER_TOKEN`. Never from
 * argv or the URL (other users can read a process's argv).
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { checkSecretFileMode } from '../../../util/secret-file-mode.js';

export const TOKEN_FILE_ENV = 'LIFEBOAT_SERVER_TOKEN_FILE';
export const TOKEN_ENV = 'LIFEBOAT_SERVER_TOKEN';

export async function readServerToken(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = env[TOKEN_FILE_ENV];
  let token: string | undefined;
  if (file) {
    try {
      await checkSecretFileMode(file, 'repository-server token file');
      token = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      if (err instanceof LifeboatError) throw err;
      throw new LifeboatError(ErrorCode.Config, `cannot read the repository-server token file ${file}`, {
        hint: `check $${TOKEN_FILE_ENV}`,
        cause: err,
      });
    }
  } else {
    token = env[TOKEN_ENV]?.trim();
  }
  if (!token) {
    throw new LifeboatError(ErrorCode.NoPassword, 'no token for the repository server', {
      hint: `put the token from \`lifeboat serve-repository token add\` in a 0600 file named by $${TOKEN_FILE_ENV} (or in $${TOKEN_ENV})`,
    });
  }
  return token;
}
