import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepo } from '../../../test/helpers/repo-lib.js';
import { startVictoriaMetrics, type VictoriaMetricsServer } from '../../../test/helpers/servers/victoriametrics.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import type { Repository } from '../../repository/repository.js';
import { backupSource } from '../../sources/run-source.js';
import { runDrill } from '../drill.js';

/** VictoriaMetrics drills: a throwaway server on the restored data directory counts the series. */
describe('restore drills (victoriametrics)', () => {
  let vm: VictoriaMetricsServer;
  let dir: string;
  let repo: Repository;

  beforeAll(async () => {
    vm = await startVictoriaMetrics();
    const now = Date.now();
    await vm.importLines(Array.from({ length: 30 }, (_, i) => `lifeboat_drill_level{tank="t${i}"} ${i} ${now - 60_000}`));
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-vm-'));
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
    const config: SourceConfigOf<'victoriametrics'> = { type: 'victoriametrics', url: vm.url, data_dir: vm.dataDir, rto: '10m', smoke: 'test -d "$LIFEBOAT_DRILL_DIR"' };
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
