import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { makeDirectoriesSync } from '../util/make-dirs.js';

/**
 * The API's bearer token: read from `server.token_file` (default
 * `<state_dir>/api.token`); when the file does not exist a random token is
 * written there, mode 0600, and the caller prints the path (never the token).
 */
export function loadOrCreateToken(file: string): { token: string; created: boolean; warning?: string } {
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length < 16)
      throw new LifeboatError(ErrorCode.Config, `the API token in ${file} is shorter than 16 characters`, {
        hint: 'delete the file to have a new one generated',
      });
    const mode = statSync(file).mode & 0o077;
    return { token, created: false, ...(mode ? { warning: `${file} is readable by other users; chmod 600 it` } : {}) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  makeDirectoriesSync(path.dirname(file), 0o700);
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, created: true };
}

/** Constant-time comparison of an `Authorization` header against the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}
