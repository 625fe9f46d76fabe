/**
 * `lifeboat webdav` as a function: serve an open repository's snapshots
 * read-only over WebDAV (layout, methods and auth in docs/cli.md, `webdav`).
 *
 * @module
 */

import { parseListen } from '../daemon/listen.js';
import { buildWebdav } from '../daemon/webdav/server.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';

/** A running read-only WebDAV server of a repository: where it listens, and how to stop it. */
export interface WebdavServer {
  /** `http://host:port/` */
  url: string;
  /** Stop listening (the repository stays open: the caller closes it). */
  close(): Promise<void>;
}

/**
 * Listen on `listen` (`host:port`, default `127.0.0.1:0`: a free loopback
 * port). Every request must carry `token` (Bearer, or Basic auth password);
 * it must be at least 16 characters.
 */
export async function serveWebdav(
  repo: Repository,
  options: { token: string; listen?: string; log?: (line: string) => void },
): Promise<WebdavServer> {
  if (options.token.length < 16)
    throw new LifeboatError(ErrorCode.Usage, 'the WebDAV token must be at least 16 characters');
  const { host, port } = parseListen(options.listen ?? '127.0.0.1:0');
  await repo.prepareRead();
  const app = await buildWebdav({ repo, token: options.token, log: options.log });
  await app.listen({ host, port });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`, close: () => app.close() };
}
