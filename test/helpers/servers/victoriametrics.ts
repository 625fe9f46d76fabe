import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startThrowawayServer } from '../../../src/sources/throwaway-server.js';

/**
 * A throwaway VictoriaMetrics from the installed Debian binary: its own temp
 * directory (or a given data directory), a free loopback port. With `auth`,
 * the server requires HTTP Basic authentication; the password reaches it
 * through its environment (`-envflag.enable`), never its arguments.
 */
export interface VictoriaMetricsServer {
  /** http://127.0.0.1:PORT (without credentials). */
  url: string;
  dataDir: string;
  /** `fetch` options that authenticate, when the server requires it. */
  headers: Record<string, string>;
  /** POST Prometheus text-format lines (`name{labels} value timestamp_ms`) to /api/v1/import/prometheus. */
  importLines(lines: string[]): Promise<void>;
  /** GET a JSON API path. */
  get<T = unknown>(pathAndQuery: string): Promise<T>;
  /** Entries of every directory where VictoriaMetrics keeps snapshots. */
  snapshotEntries(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface VictoriaMetricsOptions {
  auth?: { username: string; password: string };
  /** Start on this data directory (kept by stop) instead of a new temp one. */
  dataDir?: string;
}

export async function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<VictoriaMetricsServer> {
  const dir = options.dataDir ? undefined : await mkdtemp(path.join(os.tmpdir(), 'lifeboat-vm-'));
  const dataDir = options.dataDir ?? path.join(dir!, 'data');
  const headers: Record<string, string> = options.auth
    ? { authorization: `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` }
    : {};
  const removeDir = async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  let server;
  try {
    server = await startThrowawayServer({
      label: 'victoria-metrics (test)',
      command: 'victoria-metrics',
      args: (port) => [
        `-storageDataPath=${dataDir}`,
        `-httpListenAddr=127.0.0.1:${port}`,
        '-retentionPeriod=10y',
        '-loggerLevel=ERROR',
        ...(options.auth ? ['-envflag.enable'] : []),
      ],
      env: options.auth
        ? { httpAuth_username: options.auth.username, httpAuth_password: options.auth.password }
        : undefined,
      readyPath: '/health',
      startTimeoutMs: 30_000,
    });
  } catch (err) {
    await removeDir();
    throw err;
  }
  const url = server.url;
  const check = async (res: Response) => {
    const text = await res.text();
    if (!res.ok) throw new Error(`VictoriaMetrics answered ${res.status}: ${text}`);
    return text;
  };
  return {
    url,
    dataDir,
    headers,
    importLines: async (lines) => {
      await check(
        await fetch(`${url}/api/v1/import/prometheus`, { method: 'POST', headers, body: lines.join('\n') + '\n' }),
      );
    },
    get: async <T>(p: string) => JSON.parse(await check(await fetch(url + p, { headers }))) as T,
    snapshotEntries: async () => {
      const places = [
        ['snapshots'],
        ['data', 'small', 'snapshots'],
        ['data', 'big', 'snapshots'],
        ['indexdb', 'snapshots'],
      ];
      const found: string[] = [];
      for (const p of places)
        for (const name of await readdir(path.join(dataDir, ...p)).catch(() => [])) found.push(path.join(...p, name));
      return found;
    },
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await removeDir();
      }
    },
  };
}
