import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusServer } from '../../../test/helpers/servers/prometheus.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { backupSource, restoreSource } from '../run-source.js';
import { describeSourceConformance } from '../testing/source-suite.js';
import { freeLoopbackPort } from '../throwaway-server.js';

/** Prometheus ignores credentials it does not ask for; they must still never leak from Lifeboat. */
const URL_PASSWORD = 'prom-url-password-51b7e0';
const HOUR = 3_600;
/** Backfilled samples spread over five hours, ending an hour ago (seconds). */
const START = Math.floor(Date.now() / 1000) - 6 * HOUR;

function backfill(): string {
  const lines = ['# HELP lifeboat_test_level a backfilled gauge', '# TYPE lifeboat_test_level gauge'];
  for (let h = 0; h <= 5; h++)
    for (let s = 0; s < 10; s++) lines.push(`lifeboat_test_level{tank="t${s}"} ${h * 100 + s} ${START + h * HOUR}`);
  return [...lines, '# EOF', ''].join('\n');
}

// One server for the whole file: the conformance suite and the tests below.
let shared: Promise<PrometheusServer> | undefined;
const server = () =>
  (shared ??= (async () => {
    const prom = await startPrometheus({ backfill: backfill() });
    // Scraping itself is the writer: wait for the first scrape so the head holds data.
    for (let i = 0; i < 100; i++) {
      const up = await prom.get<{ data: { result: unknown[] } }>('/api/v1/query?query=up');
      if (up.data.result.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return prom;
  })());
afterAll(async () => (await shared)?.stop(), 60_000);

const configOf = (prom: PrometheusServer): SourceConfigOf<'prometheus'> => ({
  type: 'prometheus',
  url: prom.url.replace('http://', `http://lifeboat:${URL_PASSWORD}@`),
  data_dir: prom.dataDir,
});

describeSourceConformance('prometheus', async () => {
  const prom = await server();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-prom-restore-'));
  let n = 0;
  return {
    config: configOf(prom),
    secrets: [URL_PASSWORD],
    // Prometheus scrapes itself every second, new series included (one per API handler it serves).
    startWriter: async () => async () => {},
    restoreTarget: async () => ({ target: path.join(dir, `restored-${++n}`) }),
    unreachable: { type: 'prometheus', url: `http://127.0.0.1:${await freeLoopbackPort()}`, data_dir: dir },
    recordedFields: ['series', 'timeRange', 'blocks', 'snapshot', 'version'],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('prometheus source', () => {
  let prom: PrometheusServer;
  let work: string;
  let repo: Repository;
  beforeAll(async () => {
    prom = await server();
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-prom-test-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  }, 60_000);
  afterAll(async () => {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  });

  it('records series from the blocks and the head, the time range and the version, and removes the snapshot', async () => {
    const { record } = await backupSource(repo, 'tsdb', configOf(prom));
    // 10 backfilled series plus the scraped ones (only in the head).
    expect(record.series).toBeGreaterThan(10 + 50);
    const range = record.timeRange as { first: string; last: string };
    expect(range.first).toBe(new Date(START * 1000).toISOString());
    expect(Date.parse(range.last)).toBeGreaterThan(Date.now() - 60_000);
    expect(record.version).toMatch(/^2\./);
    expect(await prom.snapshotEntries()).toEqual([]);
  }, 60_000);

  it('restores (without the config) a data directory a server starts on, holding the backfilled data', async () => {
    const { snapshot } = await backupSource(repo, 'tsdb', configOf(prom));
    const target = path.join(work, 'started');
    const result = await restoreSource(repo, snapshot, { target });
    expect(result.checks.map((c) => [c.field, c.ok])).toEqual([
      ['series', true],
      ['timeRange', true],
    ]);
    const restored = await startPrometheus({ dataDir: target });
    try {
      const query = `/api/v1/query?query=${encodeURIComponent('lifeboat_test_level{tank="t7"}')}&time=${START + 3 * HOUR}`;
      const answer = await restored.get<{ data: { result: Array<{ value: [number, string] }> } }>(query);
      expect(answer.data.result.map((r) => r.value[1])).toEqual(['307']);
      const up = await restored.get<{ data: { result: unknown[] } }>(
        `/api/v1/query?query=up&time=${Date.parse((result.measured!.timeRange as { last: string }).last) / 1000}`,
      );
      expect(up.data.result.length, 'scraped samples from the head are restored too').toBe(1);
    } finally {
      await restored.stop();
    }
  }, 60_000);

  it.each(['created', 'measured'])(
    'removes the snapshot when the backup is stopped once it was %s',
    async (stage) => {
      const before = (await repo.listSnapshots()).snapshots.length;
      const abort = new AbortController();
      const log = (line: string) => {
        if (line.startsWith(`${stage} `)) abort.abort();
      };
      await expectCode(
        backupSource(repo, 'tsdb', configOf(prom), { signal: abort.signal, log }),
        ErrorCode.Interrupted,
      );
      expect(abort.signal.aborted).toBe(true);
      expect(await prom.snapshotEntries()).toEqual([]);
      expect((await repo.listSnapshots()).snapshots.length).toBe(before);
    },
    60_000,
  );

  it('refuses a non-empty target without force and replaces its content with force', async () => {
    const { snapshot } = await backupSource(repo, 'tsdb', configOf(prom));
    const target = path.join(work, 'occupied');
    await mkdir(target, { recursive: true });
    await writeFile(path.join(target, 'keep-me'), 'x');
    await expectCode(restoreSource(repo, snapshot, { target, verify: false }), ErrorCode.Refused);
    expect(await readdir(target)).toEqual(['keep-me']);
    const forced = await restoreSource(repo, snapshot, { target, force: true });
    expect(forced.checks.every((c) => c.ok)).toBe(true);
    expect(await readdir(target)).not.toContain('keep-me');
  }, 60_000);

  it('explains that the admin API must be enabled when it is not', async () => {
    const closed = await startPrometheus({ adminApi: false });
    try {
      const err = await expectCode(backupSource(repo, 'no-admin', configOf(closed)), ErrorCode.SourceFailed);
      expect(err.message).toContain('admin APIs disabled');
      expect(err.hint).toContain('--web.enable-admin-api');
    } finally {
      await closed.stop();
    }
  }, 60_000);
});
