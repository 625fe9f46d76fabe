import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { configIn, killStartedGroups, ledgerRecords, pollUntil, running, startCliGroup } from '../helpers/leftovers.js';
import { startPrometheus } from '../helpers/servers/prometheus.js';
import { startVictoriaMetrics } from '../helpers/servers/victoriametrics.js';

/**
 * A time-series backup killed with kill -9 while it measures the server's
 * snapshot leaves the snapshot (hard links that pin the server's disk), the
 * throwaway server measuring it (its own process group) and the hard-linked
 * copy next to the data: `lifeboat cleanup` removes all three.
 */
interface TsdbServer {
  url: string;
  dataDir: string;
  /** Every snapshot directory the server keeps (VictoriaMetrics has several). */
  snapshotEntries(): Promise<string[]>;
  stop(): Promise<void>;
}

const servers: Array<{
  type: 'victoriametrics' | 'prometheus';
  label: string;
  what: string;
  start: () => Promise<TsdbServer>;
}> = [
  {
    type: 'victoriametrics',
    label: 'victoria-metrics',
    what: 'VictoriaMetrics',
    start: async () => {
      const vm = await startVictoriaMetrics();
      await vm.importLines(
        Array.from({ length: 20 }, (_, i) => `lifeboat_leftover{n="${i}"} ${i} ${Date.now() - 60_000}`),
      );
      return vm;
    },
  },
  {
    type: 'prometheus',
    label: 'prometheus',
    what: 'Prometheus',
    start: () => {
      const t = Math.floor(Date.now() / 1000) - 3600;
      const lines = [
        '# TYPE lifeboat_leftover gauge',
        ...Array.from({ length: 20 }, (_, i) => `lifeboat_leftover{n="${i}"} ${i} ${t}`),
        '# EOF',
        '',
      ];
      return startPrometheus({ backfill: lines.join('\n') });
    },
  },
];

describe.each(servers)('leftovers of a killed $what backup', ({ type, label, what, start }) => {
  let server: TsdbServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let tmp: string;
  let config: string;
  let env: Record<string, string | undefined>;
  const lb = (args: string[]): Promise<CliResult> => runCli(['--config', config, ...args], { env });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const ledger = () => ledgerRecords(path.join(dir, 'state', 'leftovers'));
  /** Lifeboat's directories next to the data and in the temp base. */
  const ownDirs = () => [
    ...readdirSync(path.join(server.dataDir, 'snapshots')).filter((n) => n.startsWith('.lifeboat-')),
    ...readdirSync(tmp).filter((n) => n.startsWith('lifeboat-')),
  ];

  beforeAll(async () => {
    server = await start();
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-leftovers-tsdb-'));
    // A temp base on another file system than the data: the measured copy is then made next to the data.
    tmp = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : dir, 'lifeboat-e2e-tmp-'));
    config = configIn(
      dir,
      'lifeboat.yaml',
      `  tsdb: { type: ${type}, url: "${server.url}", data_dir: "${server.dataDir}" }\n`,
    );
    env = cliEnvFor(path.join(dir, 'cache'), undefined, { TMPDIR: tmp });
    expect((await lb(['init', '--repo', 'local'])).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await killStartedGroups();
    if (config) await lb(['cleanup']); // what a failed test left (throwaway servers, smoke commands)
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
    await cleanup?.();
  }, 60_000);

  it('kill -9 while the snapshot is measured; cleanup deletes the snapshot, stops the throwaway server, removes the copy', async () => {
    const backup = startCliGroup(['--config', config, 'backup', '--source', 'tsdb'], env);
    const measuring = () =>
      ledger().find((r) => r.resource.kind === 'process' && r.resource.label === label && running(r.resource.pid!));
    const snapshot = () => ledger().find((r) => r.resource.kind === 'tsdb-snapshot')?.resource.snapshot;
    await pollUntil(() => measuring() !== undefined && typeof snapshot() === 'string', 30_000, backup.output);
    const name = snapshot()!;
    const throwaway = measuring()!.resource.pid!;
    await backup.killGroup();

    expect(existsSync(path.join(server.dataDir, 'snapshots', name))).toBe(true);
    expect(running(throwaway)).toBe(true);
    expect(ownDirs().filter((n) => n.startsWith('.lifeboat-measure-'))).toHaveLength(1);

    const r = await lb(['--json', 'cleanup']);
    expect(r.code, show(r)).toBe(0);
    const report = lastJson<{ removed: Array<{ kind: string; what: string }>; kept: unknown[] }>(r.stdout);
    expect(report.kept).toEqual([]);
    expect(new Set(report.removed.map((x) => x.kind))).toEqual(new Set(['process', 'tsdb-snapshot', 'directory']));
    expect(report.removed.map((x) => x.what)).toContain(`${what} snapshot ${name} of ${server.url}`);
    expect(await server.snapshotEntries()).toEqual([]);
    expect(running(throwaway)).toBe(false);
    expect(ownDirs()).toEqual([]);
    expect(ledger()).toEqual([]);

    const again = await lb(['backup', '--source', 'tsdb']);
    expect(again.code, show(again)).toBe(0);
    expect(await server.snapshotEntries()).toEqual([]);
  }, 60_000);
});
