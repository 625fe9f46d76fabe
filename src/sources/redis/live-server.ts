import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { redisTarget } from './redis-target.js';
import { RespConnection } from './resp-connection.js';
import { configGet } from './server-info.js';

const SERVER_NAMES = /^(redis-server|valkey-server|keydb-server)/;

/**
 * Whether a running Redis server uses `dir` as its data directory: the
 * configured server says so (`CONFIG GET dir`), or a local server process runs
 * in it (Redis changes into its `dir`), or a pid file there names a live
 * server. Returns a description of that server, or undefined.
 */
export async function liveServerIn(
  dir: string,
  config: SourceConfigOf<'redis'> | undefined,
): Promise<string | undefined> {
  const real = await realpath(dir).catch(() => undefined);
  if (!real) return undefined; // a directory that does not exist yet has no server
  return (await configuredServerIn(real, config)) ?? (await localProcessIn(real)) ?? (await pidFileIn(real));
}

async function configuredServerIn(
  real: string,
  config: SourceConfigOf<'redis'> | undefined,
): Promise<string | undefined> {
  if (!config) return undefined;
  let connection: RespConnection | undefined;
  try {
    const target = await redisTarget(config);
    connection = await RespConnection.open(target);
    const serverDir = await configGet(connection, 'dir');
    if (typeof serverDir === 'string' && (await realpath(serverDir).catch(() => serverDir)) === real)
      return `the redis server at ${target.label} (its data directory)`;
  } catch {
    // Unreachable or not allowed to ask: the local checks below still apply.
  } finally {
    connection?.close();
  }
  return undefined;
}

async function localProcessIn(real: string): Promise<string | undefined> {
  for (const pid of (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p))) {
    const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
    if (!SERVER_NAMES.test(name)) continue;
    if ((await readlink(`/proc/${pid}/cwd`).catch(() => undefined)) === real)
      return `${name} (pid ${pid}) running in ${real}`;
  }
  return undefined;
}

async function pidFileIn(real: string): Promise<string | undefined> {
  for (const file of (await readdir(real).catch(() => [] as string[])).filter((f) => f.endsWith('.pid'))) {
    const pid = (await readFile(path.join(real, file), 'utf8').catch(() => '')).trim();
    if (!/^\d+$/.test(pid)) continue;
    const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
    if (SERVER_NAMES.test(name)) return `${name} (pid ${pid}, from ${file})`;
  }
  return undefined;
}
