/**
 * A small client for the Docker Engine API on its unix socket (plain HTTP/1.1
 * with JSON bodies). Docker and Podman (`podman system service`) serve the same
 * API; only the calls the docker source needs are used (docs/adr/0036).
 *
 * @module
 */

import http from 'node:http';
import { ErrorCode, LifeboatError } from '../../errors/index.js';

/** The API version asked for: old enough for every supported Docker and Podman, new enough for volume options. */
const API_VERSION = 'v1.41';

/** The socket Docker listens on by default. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** An answer from the engine that is not a success, with the engine's own message. */
export class EngineApiError extends Error {
  constructor(
    readonly status: number,
    readonly engineMessage: string,
    readonly request: string,
  ) {
    super(`${request}: ${status} ${engineMessage}`);
    this.name = 'EngineApiError';
  }
}

export interface EngineApi {
  readonly socket: string;
  get<T>(path: string, query?: Record<string, string>): Promise<T>;
  post<T>(path: string, body?: unknown, query?: Record<string, string>): Promise<T>;
  delete(path: string, query?: Record<string, string>): Promise<void>;
}

export function engineApi(socket: string = DEFAULT_DOCKER_SOCKET, signal?: AbortSignal): EngineApi {
  const call = <T>(method: string, p: string, query?: Record<string, string>, body?: unknown) =>
    request<T>(socket, method, p, query, body, signal);
  return {
    socket,
    get: (p, query) => call('GET', p, query),
    post: (p, body, query) => call('POST', p, query, body),
    delete: async (p, query) => void (await call('DELETE', p, query)),
  };
}

function request<T>(
  socket: string,
  method: string,
  p: string,
  query: Record<string, string> | undefined,
  body: unknown,
  signal: AbortSignal | undefined,
): Promise<T> {
  const search = query && Object.keys(query).length ? `?${new URLSearchParams(query).toString()}` : '';
  const requestName = `${method} ${p}`;
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socket,
        method,
        path: `/${API_VERSION}${p}${search}`,
        headers: {
          host: 'docker',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            if (!text.trim()) return resolve(undefined as T);
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              reject(new EngineApiError(status, 'the answer is not JSON', requestName));
            }
            return;
          }
          reject(new EngineApiError(status, engineMessage(text), requestName));
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal?.aborted) return reject(new LifeboatError(ErrorCode.Interrupted, `${requestName}: interrupted`));
      reject(
        new LifeboatError(
          ErrorCode.SourceFailed,
          `cannot reach the Docker Engine API at ${socket}: ${err.code ?? err.message}`,
          {
            hint: 'check `socket:` in lifeboat.yaml, that the Docker (or `podman system service`) daemon runs, and that Lifeboat may open the socket',
            retryable: true,
            cause: err,
          },
        ),
      );
    });
    req.end(payload);
  });
}

function engineMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: the text itself is the message.
  }
  return text.trim().slice(0, 300) || 'no message';
}
