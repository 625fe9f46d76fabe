/**
 * Storage through a Lifeboat repository server (`lifeboat serve-repository`),
 * over HTTP(S) with Node's fetch. Protocol (all under `<base>/v1/`, bearer
 * token in `Authorization`):
 *
 *   GET    objects/<name>[?offset=O&length=L]   the object, or a range of it
 *   PUT    objects/<name>                       store (body: the bytes)
 *   DELETE objects/<name>                       remove (idempotent)
 *   GET    stat/<name>                          {"name","size"}
 *   GET    list?prefix=P                        {"objects":[{"name","size"}…]}
 *   GET    space                                SpaceInfo
 *   GET    info                                 {"temporaries","role"}: does the backend write temporaries,
 *                                               the role of the token (admin, append)
 *   POST   stale-temporaries                    {"olderThanMs","dryRun"} → {"count","bytes"}
 *
 * Atomicity and durability are the server's backend's: a PUT is answered only
 * after the backend's put resolved, so a 2xx means durable; an upload cut off
 * midway never reaches the backend. A body shorter than its Content-Length
 * makes fetch reject, so a short read is never returned as success.
 *
 * @module
 */

import type {
  ObjectInfo,
  SpaceInfo,
  StaleTemporaries,
  Storage,
  StorageFactory,
  StorageOptions,
} from '../../contract.js';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { assertValidObjectName, assertValidPrefix, assertValidRange } from '../../names.js';
import { errorFromResponse, networkError } from './http-errors.js';
import { parseServerUrl, type ServerLocation } from './http-url.js';
import { readServerToken } from './http-token.js';

export class HttpStorage implements Storage {
  readonly location: string;
  private closed = false;

  /**
   * Present only when the server's backend writes temporaries (local, SFTP), as the contract wants:
   * set by the factory from `info`, or by a caller that knows the backend.
   */
  removeStaleTemporaries?: (olderThanMs: number, options?: { dryRun?: boolean }) => Promise<StaleTemporaries>;

  /** The role of the token, as the server said at open (servers of older versions do not say). */
  readonly accessRole?: string;

  constructor(
    private readonly server: ServerLocation,
    private readonly token: string,
    options: { temporaries?: boolean; role?: string } = {},
  ) {
    this.location = server.display;
    if (options.role) this.accessRole = options.role;
    if (options.temporaries) this.removeStaleTemporaries = (ms, o) => this.removeStaleTemporariesOnServer(ms, o);
  }

  /** What the server says about its backend (also proves the token and the repository name). */
  async info(): Promise<{ temporaries: boolean; role?: string }> {
    return this.json<{ temporaries: boolean; role?: string }>('info', '', await this.request('info', '', 'info'));
  }

  private assertOpen(): void {
    if (this.closed) throw new LifeboatError(ErrorCode.Storage, `storage ${this.location} is closed`);
  }

  /** One request; non-2xx answers become the server's LifeboatError. */
  private async request(
    op: string,
    name: string,
    path: string,
    init: { method?: string; body?: Uint8Array; json?: unknown } = {},
  ): Promise<Response> {
    this.assertOpen();
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let body: Uint8Array | string | undefined;
    if (init.body) {
      headers['content-type'] = 'application/octet-stream';
      body = init.body;
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    let res: Response;
    try {
      res = await fetch(`${this.server.base}/v1/${path}`, { method: init.method ?? 'GET', headers, body });
    } catch (err) {
      throw networkError(op, name, this.location, err);
    }
    if (!res.ok) throw await errorFromResponse(res, op, name);
    return res;
  }

  private async bytes(op: string, name: string, res: Response): Promise<Buffer> {
    try {
      return Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw networkError(op, name, this.location, err);
    }
  }

  private async json<T>(op: string, name: string, res: Response): Promise<T> {
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw networkError(op, name, this.location, err);
    }
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    assertValidObjectName(name);
    const res = await this.request('put', name, `objects/${name}`, { method: 'PUT', body: data });
    await res.body?.cancel();
  }

  async get(name: string): Promise<Buffer> {
    assertValidObjectName(name);
    return this.bytes('get', name, await this.request('get', name, `objects/${name}`));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidObjectName(name);
    assertValidRange(name, offset, length);
    const res = await this.request('getRange', name, `objects/${name}?offset=${offset}&length=${length}`);
    const got = await this.bytes('getRange', name, res);
    if (got.length !== length) {
      throw new LifeboatError(ErrorCode.Storage, `range ${offset}+${length} of ${name}: got ${got.length} bytes`, {
        retryable: true,
        context: { name, offset, length },
      });
    }
    return got;
  }

  async stat(name: string): Promise<ObjectInfo> {
    assertValidObjectName(name);
    return this.json<ObjectInfo>('stat', name, await this.request('stat', name, `stat/${name}`));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const res = await this.request('list', prefix, `list?prefix=${encodeURIComponent(prefix)}`);
    return (await this.json<{ objects: ObjectInfo[] }>('list', prefix, res)).objects;
  }

  async remove(name: string): Promise<void> {
    assertValidObjectName(name);
    const res = await this.request('remove', name, `objects/${name}`, { method: 'DELETE' });
    await res.body?.cancel();
  }

  private async removeStaleTemporariesOnServer(
    olderThanMs: number,
    options: { dryRun?: boolean } = {},
  ): Promise<StaleTemporaries> {
    const res = await this.request('removeStaleTemporaries', '', 'stale-temporaries', {
      method: 'POST',
      json: { olderThanMs, dryRun: Boolean(options.dryRun) },
    });
    return this.json<StaleTemporaries>('removeStaleTemporaries', '', res);
  }

  async space(): Promise<SpaceInfo> {
    return this.json<SpaceInfo>('space', '', await this.request('space', '', 'space'));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Factory for `lifeboat+http:` and `lifeboat+https:` URLs. `create` needs no
 * action: the server creates its backend at start.
 */
export const createHttpStorage: StorageFactory = async (url: URL, options: StorageOptions = {}) => {
  const server = parseServerUrl(url);
  const token = await readServerToken(process.env, options.remote?.tokenFile);
  // Fail at open, not at the first write, when the server is unreachable or the token is wrong.
  const { temporaries, role } = await new HttpStorage(server, token).info();
  return new HttpStorage(server, token, { temporaries, ...(typeof role === 'string' ? { role } : {}) });
};
