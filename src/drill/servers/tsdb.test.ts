import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepo } from '../../../test/helpers/repo-lib.js';
import { startPrometheus } from '../../../test/helpers/servers/prometheus.js';
import { startVictoriaMetrics } from '../../../test/helpers/servers/victoriametrics.js';
import type { Repository } from '../../repository/repository.js';
import { backupSource } from '../../sources/run-source.js';
import { runDrill } from '../drill.js';

/** A time-series server holding 30 series, as each engine takes data in. */
interface TsdbServer {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

const engines: Array<{ type: 'prometheus' | 'victoriametrics'; start: () => Promise<TsdbServer> }> = [
  {
    type: 'prometheus',
    start: () => {
      const start = Math.floor(Date.now() / 1000) - 3 * 3600;
      const lines = ['# TYPE lifeboat_drill_level gauge'];
      for (let h = 0; h <= 2; h++)
        for (let i = 0; i < 30; i++) lines.push(`lifeboat_drill_level{tank="t${i}"} ${i} ${start + h * 3600}`);
      return startPrometheus({ backfill: [...lines, '# EOF', ''].join('\n') });
    },
  },
  {
    type: 'victoriametrics',
    start: async () => {
      const vm = await startVictoriaMetrics();
      const now = Date.now();
      await vm.importLines(
        Array.from({ length: 30 }, (_, i) => `lifeboat_drill_level{tank="t${i}"} ${i} ${now - 60_000}`),
      );
      return vm;
    },
  },
];

/** Time-series drills: a throwaway server on the restored data directory counts the series. */
for (const engine of engines) {
  describe(`restore drills (${engine.type})`, () => {
    let server: TsdbServer;
    let dir: string;
    let repo: Repository;

    beforeAll(async () => {
      server = await engine.start();
      dir = await mkdtemp(path.join(os.tmpdir(), `lifeboat-drill-${engine.type}-`));
      repo = await initRepo(path.join(dir, 'repo'), 'repo-password');
    }, 120_000);

    afterAll(async () => {
      await repo?.close();
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }, 60_000);

    it('passes: series count and time range measured on the restored data directory', async () => {
      const scratch = path.join(dir, 'scratch');
      await mkdir(scratch);
      const config = {
        type: engine.type,
        url: server.url,
        data_dir: server.dataDir,
        rto: '10m',
        smoke: 'test -d "$LIFEBOAT_DRILL_DIR"',
      } as const;
      await backupSource(repo, 'tsdb', config);
      const { report } = await runDrill(repo, { source: 'tsdb', config, tempBase: scratch });
      expect(report.reasons).toEqual([]);
      expect(report.verdict).toBe('PASS');
      expect(report.checks.map((c) => c.name)).toEqual(['restore', 'series', 'timeRange']);
      expect(report.checks[1]!.actual).toBeGreaterThanOrEqual(30);
      expect(report.rto.ok).toBe(true);
      expect(readdirSync(scratch)).toEqual([]);
      expect(spawnSync('pgrep', ['-f', scratch], { encoding: 'utf8' }).stdout.trim(), 'no throwaway server left').toBe(
        '',
      );
    }, 120_000);
  });
}
