/**
 * Repository-server locations: `lifeboat+https://host[:port]/NAME` and, for a
 * server on loopback only, `lifeboat+http://127.0.0.1:port/NAME`. NAME is the
 * repository the server serves (`serve-repository --name`, default `repo`).
 * The token never appears in the URL: userinfo and query strings are refused.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../../errors/index.js';

export const HTTP_SCHEMES = ['lifeboat+http', 'lifeboat+https'] as const;

export interface ServerLocation {
  /** `http(s)://host:port/NAME` — where the API lives (no trailing slash). */
  base: string;
  /** The repository name on the server. */
  name: string;
  /** The URL as the user wrote it, for messages. */
  display: string;
}

const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/;

export function parseServerUrl(url: URL): ServerLocation {
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'lifeboat+http' && scheme !== 'lifeboat+https') {
    throw new LifeboatError(ErrorCode.Usage, `the repository-server driver cannot open ${url.protocol} URLs`);
  }
  const usage = (why: string) =>
    new LifeboatError(ErrorCode.Usage, `invalid repository-server URL ${scheme}://${url.host}${url.pathname}: ${why}`, {
      hint: 'use lifeboat+https://host:port/NAME (or lifeboat+http://127.0.0.1:port/NAME); the token goes in $LIFEBOAT_SERVER_TOKEN_FILE',
    });
  if (url.username || url.password) throw usage('credentials do not belong in the URL');
  if (url.search || url.hash) throw usage('no query string or fragment is accepted');
  if (!url.hostname) throw usage('no host');
  const name = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!REPOSITORY_NAME.test(name)) throw usage('the path must be one segment naming the repository, e.g. /repo');
  const transport = scheme === 'lifeboat+https' ? 'https' : 'http';
  return { base: `${transport}://${url.host}/${name}`, name, display: `${scheme}://${url.host}/${name}` };
}
