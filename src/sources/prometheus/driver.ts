import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { SourceDriver } from '../contract.js';
import { displayUrl, httpFailure, tsdbJson, tsdbRequest } from '../tsdb-http.js';
import { scratchDir } from '../scratch-dir.js';
import {
  assertSnapshotName,
  mountsAt,
  onLinkedCopy,
  resolveSnapshotTree,
  restoreDataDir,
  serverSnapshot,
  snapshotDirOnHost,
} from '../tsdb-snapshot.js';
import { measurePrometheus } from './measure.js';

/** Where the snapshot's TSDB directory lives inside a Lifeboat snapshot. */
export const PROMETHEUS_SNAPSHOT_PATH = '/prometheus/data';
const SERVER = { name: 'Prometheus', flag: '--storage.tsdb.path' };
const SNAPSHOT_TIMEOUT_MS = 600_000;
const ADMIN_HINT =
  'start prometheus with --web.enable-admin-api (the snapshot endpoint is an admin API); keep its port on loopback or behind authentication';

async function serverVersion(url: string, signal: AbortSignal): Promise<string | null> {
  const info = await tsdbJson<{ data?: { version?: string } }>(url, '/api/v1/status/buildinfo', {
    purpose: 'reading the Prometheus version',
    signal,
  });
  return info.data?.version ?? null;
}

async function createSnapshot(url: string, signal: AbortSignal): Promise<string> {
  const purpose = 'creating a Prometheus snapshot';
  const answer = await tsdbRequest(url, '/api/v1/admin/tsdb/snapshot', {
    purpose,
    method: 'POST',
    timeoutMs: SNAPSHOT_TIMEOUT_MS,
    signal,
  });
  const shown = displayUrl(url);
  if (answer.status === 404 || /admin APIs disabled/i.test(answer.text))
    throw httpFailure(purpose, shown, answer, ADMIN_HINT);
  if (answer.status < 200 || answer.status > 299) throw httpFailure(purpose, shown, answer);
  let name: unknown;
  try {
    name = (JSON.parse(answer.text) as { data?: { name?: unknown } }).data?.name;
  } catch {
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `${purpose}: ${shown} did not answer with JSON: ${answer.text.slice(0, 200)}`,
    );
  }
  return assertSnapshotName(name, 'Prometheus');
}

/** Prometheus has no API to delete a snapshot: remove its directory. Says whether it is gone. */
export async function removePrometheusSnapshot(
  dataDir: string,
  name: string,
  log: (line: string) => void,
): Promise<boolean> {
  const dir = path.join(dataDir, 'snapshots', name);
  return rm(dir, { recursive: true, force: true }).then(
    () => true,
    (err: Error) => {
      log(`could not remove the Prometheus snapshot ${dir}: ${err.message}`);
      return false;
    },
  );
}

/**
 * Prometheus through its admin API: `/api/v1/admin/tsdb/snapshot` writes the
 * head as a block and hard-links every block into `<data_dir>/snapshots/NAME`,
 * a consistent TSDB directory stored under /prometheus/data. It is measured on
 * a hard-linked copy before it is stored; Prometheus has no API to delete a
 * snapshot, so the directory is removed afterwards.
 */
export const prometheusSource: SourceDriver<'prometheus'> = {
  type: 'prometheus',
  verifiedFields: ['series', 'timeRange'],
  scratchTarget: scratchDir('data'),

  async capture(config, ctx) {
    const version = await serverVersion(config.url, ctx.signal);
    const { name, release } = await serverSnapshot(
      { engine: 'prometheus', url: config.url, dataDir: config.data_dir, source: ctx.sourceName },
      () => createSnapshot(config.url, ctx.signal),
      (snapshot) => removePrometheusSnapshot(config.data_dir, snapshot, ctx.log),
    );
    const dir = path.join(config.data_dir, 'snapshots', name);
    try {
      ctx.log(`created Prometheus snapshot ${name}`);
      await snapshotDirOnHost(config.data_dir, name, 'Prometheus', SERVER.flag);
      const parts = await resolveSnapshotTree(dir, config.data_dir);
      const measured = await onLinkedCopy(
        parts,
        [ctx.tempDir, path.join(config.data_dir, 'snapshots')],
        (copy, scratch) => measurePrometheus(copy, scratch, { binary: config.binary, signal: ctx.signal }),
      );
      ctx.log(`measured Prometheus snapshot ${name}: ${measured.series} series in ${measured.blocks} blocks`);
      return {
        mounts: mountsAt(parts, PROMETHEUS_SNAPSHOT_PATH),
        record: async () => ({ ...measured, snapshot: name, version }),
        release,
      };
    } catch (err) {
      await release();
      throw err;
    }
  },

  async restore(ctx) {
    const dataDir = await restoreDataDir(ctx, PROMETHEUS_SNAPSHOT_PATH, SERVER);
    ctx.log(`restored into ${dataDir}; start a server with --storage.tsdb.path=${dataDir}`);
    return { location: dataDir, details: { dataDir } };
  },

  async inspect(restored, ctx) {
    const dataDir = String(restored.details.dataDir);
    return onLinkedCopy([{ from: dataDir, rel: '' }], [ctx.tempDir, path.dirname(dataDir)], (copy, scratch) =>
      measurePrometheus(copy, scratch, { binary: ctx.config?.binary, signal: ctx.signal }),
    );
  },
};
