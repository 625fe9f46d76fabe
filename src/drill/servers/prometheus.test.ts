import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepo } from '../../../test/helpers/repo-lib.js';
import { startPrometheus, type PrometheusServer } from '../../../test/helpers/servers/prometheus.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import type { Repository } from '../../repository/repository.js';
import { backupSource } from '../../sources/run-source.js';
import { runDrill } from '../drill.js';

/** Prometheus drills: a throwaway server on the restored data directory counts the series. */
describe('restore drills (prometheus)', () => {
  let vm: PrometheusServer;
  let dir: string;
  let repo: Repository;

  beforeAll(async () => {
    const start = Math.floor(Date.now() / 1000) - 3 * 3600;
    const lines = ['# TYPE lifeboat_drill_level gauge'];
    for (let h = 0; h <= 2; h++) for (let i = 0; i < 30; i++) lines.push(`lifeboat_drill_level{tank="t${i}"} ${i} ${start + h * 3600}`);
    vm = await startPrometheus({ backfill: [...lines, '# EOF', ''].join('\n') });
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-prom-'));
    repo = await initRepo(path.join(dir, 'repo'), 'repo-password');
  }, 120_000);

  afterAll(async () => {
    await repo?.close();
    await vm?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('passes: series count and time range measured on the restored data directory', async () => {
    const scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    const config: SourceConfigOf<'prometheus'> = { type: 'prometheus', url: vm.url, data_dir: vm.dataDir, rto: '10m', smoke: 'test -d "$LIFEBOAT_DRILL_DIR"' };
    await backupSource(repo, 'tsdb', config);
    const { report } = await runDrill(repo, { source: 'tsdb', config, tempBase: scratch });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('PASS');
    expect(report.checks.map((c) => c.name)).toEqual(['restore', 'series', 'timeRange']);
    expect(report.checks[1]!.actual).toBeGreaterThanOrEqual(30);
    expect(report.rto.ok).toBe(true);
    expect(readdirSync(scratch)).toEqual([]);
    expect(spawnSync('pgrep', ['-f', scratch], { encoding: 'utf8' }).stdout.trim(), 'no throwaway server left').toBe('');
  }, 120_000);
});
