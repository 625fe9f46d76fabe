import { readFile } from 'node:fs/promises';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';

/** Where a Redis server is and how to log in; `label` is safe to show (never holds the password). */
export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  label: string;
  /** A unix socket instead of host and port (the throwaway server of `inspect`). */
  socketPath?: string;
}

/**
 * The server of a `redis` source: `redis://[user@]host:port` or `rediss://`
 * for TLS. The password comes from `password_file`, or from the URL when one
 * is written there (accepted, never shown or passed on).
 */
export async function redisTarget(
  config: Pick<SourceConfigOf<'redis'>, 'url' | 'password_file'>,
): Promise<RedisTarget> {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new LifeboatError(ErrorCode.Config, 'the redis source url is not a valid URL', {
      hint: 'use redis://[user@]host:port',
    });
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = url.port ? Number(url.port) : 6379;
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  let password = url.password ? decodeURIComponent(url.password) : undefined;
  if (config.password_file) {
    try {
      password = (await readFile(config.password_file, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new LifeboatError(
        ErrorCode.Config,
        `the redis password file ${config.password_file} cannot be read: ${(err as Error).message}`,
        { hint: 'check password_file in lifeboat.yaml and its permissions' },
      );
    }
  }
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const label = `${url.protocol}//${username ? `${encodeURIComponent(username)}@` : ''}${shownHost}:${port}`;
  return { host, port, tls: url.protocol === 'rediss:', username, password, label };
}
