import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startThrowawayServer } from '../../../src/sources/throwaway-server.js';

/**
 * A throwaway Prometheus from the installed Debian binaries: its own temp
 * directory, a free loopback port, scraping itself every second (so data
 * keeps changing). Prometheus has no push API: `backfill` (OpenMetrics text)
 * is turned into blocks with `promtool tsdb create-blocks-from openmetrics`
 * before the server starts.
 */
export interface PrometheusServer {
  url: string;
  dataDir: string;
  /** GET a JSON API path. */
  get<T = unknown>(pathAndQuery: string): Promise<T>;
  /** Entries of `<dataDir>/snapshots`. */
  snapshotEntries(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** OpenMetrics text (ending in `# EOF`) written as blocks before the start. */
  backfill?: string;
  /** Enable the admin API (snapshots); default true. */
  adminApi?: boolean;
  /** Start on this data directory (kept by stop) instead of a new temp one; no scraping. */
  dataDir?: string;
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-prom-'));
  const dataDir = options.dataDir ?? path.join(dir, 'data');
  const configFile = path.join(dir, 'prometheus.yml');
  let server;
  try {
    if (options.backfill) {
      const input = path.join(dir, 'backfill.om');
      await writeFile(input, options.backfill);
      const made = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, dataDir], {
        encoding: 'utf8',
      });
      if (made.status !== 0) throw new Error(`promtool failed: ${made.stderr}${made.stdout}`);
    }
    server = await startThrowawayServer({
      label: 'prometheus (test)',
      command: 'prometheus',
      args: (port) => {
        // The config names the port it scrapes, which is known only now.
        const scrape = options.dataDir
          ? ''
          : `  - job_name: self\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`;
        writeFileSync(configFile, `global: { scrape_interval: 1s }\nscrape_configs:\n${scrape || '  []\n'}`);
        return [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${dataDir}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=10y',
          '--log.level=error',
          ...(options.adminApi === false ? [] : ['--web.enable-admin-api']),
        ];
      },
      readyPath: '/-/ready',
      startTimeoutMs: 30_000,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const url = server.url;
  return {
    url,
    dataDir,
    get: async <T>(p: string) => {
      const res = await fetch(url + p);
      const text = await res.text();
      if (!res.ok) throw new Error(`Prometheus answered ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    snapshotEntries: async () => readdir(path.join(dataDir, 'snapshots')).catch(() => []),
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
