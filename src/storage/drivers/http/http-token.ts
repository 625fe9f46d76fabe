/**
 * The client's token for a repository server: from the repository's
 * `token_file` in lifeboat.yaml, else the file named by
 * `$LIFEBOAT_SERVER_TOKEN_FILE`, else `$LIFEBOAT_SERVER_TOKEN`. Never from argv
 * or the URL (other users can read a process's argv). A token file must be
 * 0600, like a key file.
 *
 * @module
 */

import { readFile, stat } from 'node:fs/promises';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { checkSecretFileMode } from '../../../util/secret-file-mode.js';

export const TOKEN_FILE_ENV = 'LIFEBOAT_SERVER_TOKEN_FILE';
export const TOKEN_ENV = 'LIFEBOAT_SERVER_TOKEN';

export async function readServerToken(env: NodeJS.ProcessEnv = process.env, configuredFile?: string): Promise<string> {
  const file = configuredFile ?? env[TOKEN_FILE_ENV];
  let token: string | undefined;
  if (configuredFile) await refuseUnlessOwnerOnly(configuredFile);
  if (file) {
    try {
      await checkSecretFileMode(file, 'repository-server token file');
      token = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      if (err instanceof LifeboatError) throw err;
      throw new LifeboatError(ErrorCode.Config, `cannot read the repository-server token file ${file}`, {
        hint: configuredFile ? 'check token_file of this repository in lifeboat.yaml' : `check $${TOKEN_FILE_ENV}`,
        cause: err,
      });
    }
  } else {
    token = env[TOKEN_ENV]?.trim();
  }
  if (!token) {
    throw new LifeboatError(ErrorCode.NoPassword, 'no token for the repository server', {
      hint: `put the token from \`lifeboat serve-repository token add\` in a 0600 file named by the repository's token_file in lifeboat.yaml or by $${TOKEN_FILE_ENV} (or in $${TOKEN_ENV})`,
    });
  }
  return token;
}

/**
 * A token file named in lifeboat.yaml is refused outright unless only its
 * owner may read it: the token alone grants access to the repository server.
 */
async function refuseUnlessOwnerOnly(file: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (!st || (st.mode & 0o077) === 0) return; // a file that cannot be read is reported by its reader
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  throw new LifeboatError(
    ErrorCode.Refused,
    `the repository-server token file ${file} can be read or written by other users (mode ${mode}); refused`,
    { hint: `chmod 600 ${file}` },
  );
}
