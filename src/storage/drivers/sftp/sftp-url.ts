/**
 * `sftp://user@host[:port]/path` → connection target. The path is absolute on
 * the server; `/~/path` is relative to the login's home directory. A password
 * in the URL is refused: URLs end up in shell history, process lists and logs.
 *
 * @module
 */

import os from 'node:os';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { describeLocation } from '../../location.js';

export interface SftpTarget {
  user: string;
  host: string;
  port: number;
  /** Absolute path on the server, or `~/…` / `~` for one relative to the home directory. */
  path: string;
  /** Display form, without credentials. */
  location: string;
  /** Whether the URL named the user / the port (else ~/.ssh/config may choose them). */
  userFromUrl: boolean;
  portFromUrl: boolean;
}

export const DEFAULT_SFTP_PORT = 22;

function defaultUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

function decode(part: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new LifeboatError(ErrorCode.Usage, `invalid ${what} in ${shown}`);
  }
}

export function parseSftpUrl(url: URL): SftpTarget {
  const location = describeLocation(url.href);
  if (url.protocol !== 'sftp:')
    throw new LifeboatError(ErrorCode.Usage, `the SFTP driver cannot open ${url.protocol} URLs`);
  if (url.password !== '') {
    throw new LifeboatError(ErrorCode.Usage, `a password in the repository URL is refused (${location})`, {
      hint: 'remove it from the URL and use identity_file (a key), the ssh-agent, sftp_password_file in lifeboat.yaml, or $LIFEBOAT_SFTP_PASSWORD',
    });
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '')
    throw new LifeboatError(ErrorCode.Usage, `no host in ${location}`, { hint: 'use sftp://user@host[:port]/path' });
  const user = url.username ? decode(url.username, 'user name', location) : defaultUser();
  const port = url.port ? Number(url.port) : DEFAULT_SFTP_PORT;
  let p = decode(url.pathname, 'path', location).replace(/\/+$/, '');
  if (p === '/~' || p.startsWith('/~/')) p = p.slice(1);
  if (p === '' || p.split('/').some((s) => s === '..' || s === '.')) {
    throw new LifeboatError(ErrorCode.Usage, `${location} needs a repository path (no '.' or '..' segments)`, {
      hint: 'use sftp://user@host/srv/backups/repo (absolute) or sftp://user@host/~/repo (in the home directory)',
    });
  }
  return { user, host, port, path: p, location, userFromUrl: url.username !== '', portFromUrl: url.port !== '' };
}
