import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVictoriaMetrics, type VictoriaMetricsServer } from '../../../test/helpers/servers/victoriametrics.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { backupSource, restoreSource } from '../run-source.js';
import { describeSourceConformance } from '../testing/source-suite.js';
import { freeLoopbackPort } from '../throwaway-server.js';

const AUTH = { username: 'lifeboat', password: 'vm-basic-auth-9d41c2e7' };
const HOUR = 3_600_000;
/** Samples spread over six hours, written before any backup. */
const START = Math.floor(Date.now() / 1000) * 1000 - 6 * HOUR;

// One server for the whole file: the conformance suite and the tests below.
let shared: Promise<VictoriaMetricsServer> | undefined;
const server = () =>
  (shared ??= (async () => {
    const vm = await startVictoriaMetrics({ auth: AUTH });
    const lines: string[] = [];
    for (let h = 0; h <= 6; h++) {
      for (let s = 0; s < 20; s++)
        lines.push(`lifeboat_test_temperature{sensor="s${s}",site="a"} ${h * 100 + s} ${START + h * HOUR}`);
    }
    await vm.importLines(lines);
    return vm;
  })());
afterAll(async () => (await shared)?.stop(), 60_000);

const configOf = (vm: VictoriaMetricsServer): SourceConfigOf<'victoriametrics'> => ({
  type: 'victoriametrics',
  url: vm.url.replace('http://', `http://${AUTH.username}:${AUTH.password}@`),
  data_dir: vm.dataDir,
});

/** Import a sample every 20 ms, some into series that did not exist before, until stopped. */
function startImporting(vm: VictoriaMetricsServer): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      await vm.importLines([`lifeboat_test_writer{n="${i % 40}"} ${i} ${Date.now()}`]);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

describeSourceConformance('victoriametrics', async () => {
  const vm = await server();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-vm-restore-'));
  let n = 0;
  return {
    config: configOf(vm),
    secrets: [AUTH.password],
    startWriter: async () => startImporting(vm),
    restoreTarget: async () => ({ target: path.join(dir, `restored-${++n}`) }),
    unreachable: { type: 'victoriametrics', url: `http://127.0.0.1:${await freeLoopbackPort()}`, data_dir: dir },
    recordedFields: ['series', 'timeRange', 'snapshot', 'version'],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('victoriametrics source', () => {
  let vm: VictoriaMetricsServer;
  let work: string;
  let repo: Repository;
  beforeAll(async () => {
    vm = await server();
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-vm-test-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  }, 60_000);
  afterAll(async () => {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  });

  it('records the exact series count and time range, and deletes the server-side snapshot', async () => {
    const { record } = await backupSource(repo, 'tsdb', configOf(vm));
    expect(record.series).toBeGreaterThanOrEqual(20);
    const range = record.timeRange as { first: string; last: string };
    expect(range.first).toBe(new Date(START).toISOString());
    expect(Date.parse(range.last)).toBeGreaterThanOrEqual(START + 6 * HOUR);
    expect(record.snapshot).toMatch(/^\d{14}-[0-9A-F]+$/);
    expect(await vm.snapshotEntries()).toEqual([]);
  }, 60_000);

  it('restores (without the config) a data directory a server starts on, holding the data written before the backup', async () => {
    const { snapshot } = await backupSource(repo, 'tsdb', configOf(vm));
    const target = path.join(work, 'started');
    const result = await restoreSource(repo, snapshot, { target });
    expect(result.checks.map((c) => [c.field, c.ok])).toEqual([
      ['series', true],
      ['timeRange', true],
    ]);
    const restored = await startVictoriaMetrics({ dataDir: target });
    try {
      const query = `/api/v1/query?query=${encodeURIComponent('lifeboat_test_temperature{sensor="s7"}')}&time=${(START + 3 * HOUR) / 1000}`;
      const answer = await restored.get<{ data: { result: Array<{ value: [number, string] }> } }>(query);
      expect(answer.data.result.map((r) => r.value[1])).toEqual(['307']);
      const count = await restored.get<{ data: number[] }>('/api/v1/series/count');
      expect(count.data[0]).toBe(result.measured!.series);
    } finally {
      await restored.stop();
    }
  }, 60_000);

  it.each(['created', 'measured'])(
    'deletes the snapshot when the backup is stopped once it was %s',
    async (stage) => {
      const before = (await repo.listSnapshots()).snapshots.length;
      const abort = new AbortController();
      const log = (line: string) => {
        if (line.startsWith(`${stage} `)) abort.abort();
      };
      await expectCode(backupSource(repo, 'tsdb', configOf(vm), { signal: abort.signal, log }), ErrorCode.Interrupted);
      expect(abort.signal.aborted).toBe(true);
      expect(await vm.snapshotEntries()).toEqual([]);
      expect((await repo.listSnapshots()).snapshots.length).toBe(before);
    },
    60_000,
  );

  it('fails with a hint when data_dir is not the server data directory, and deletes the snapshot it made', async () => {
    const elsewhere = path.join(work, 'not-the-data-dir');
    await mkdir(elsewhere, { recursive: true });
    const err = await expectCode(
      backupSource(repo, 'tsdb', { ...configOf(vm), data_dir: elsewhere }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('does not exist on this host');
    expect(err.hint).toContain('-storageDataPath');
    expect(await vm.snapshotEntries()).toEqual([]);
  }, 60_000);

  it('refuses a non-empty target without force and replaces its content with force', async () => {
    const { snapshot } = await backupSource(repo, 'tsdb', configOf(vm));
    const target = path.join(work, 'occupied');
    await mkdir(target, { recursive: true });
    await writeFile(path.join(target, 'keep-me'), 'x');
    await expectCode(restoreSource(repo, snapshot, { target, verify: false }), ErrorCode.Refused);
    expect(await readdir(target)).toEqual(['keep-me']);

    const forced = await restoreSource(repo, snapshot, { target, force: true });
    expect(forced.checks.every((c) => c.ok)).toBe(true);
    expect((await readdir(target)).sort()).toEqual(['data', 'indexdb', 'metadata']);

    const empty = path.join(work, 'empty');
    await mkdir(empty);
    const into = await restoreSource(repo, snapshot, { target: empty });
    expect(into.checks.every((c) => c.ok)).toBe(true);
  }, 60_000);

  it('asks for --target when none is given', async () => {
    const { snapshot } = await backupSource(repo, 'tsdb', configOf(vm));
    const err = await expectCode(restoreSource(repo, snapshot, { toFile: path.join(work, 'x') }), ErrorCode.Usage);
    expect(err.hint).toContain('--target');
  }, 60_000);
});
