import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { CaptureContext, SourceDriver } from '../contract.js';
import { displayUrl, tsdbJson, tsdbRequest } from '../tsdb-http.js';
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
import { measureVictoriaMetrics } from './measure.js';

type VmConfig = SourceConfigOf<'victoriametrics'>;

/** Where the snapshot's data directory lives inside a Lifeboat snapshot. */
export const VM_SNAPSHOT_PATH = '/victoriametrics/data';
const SERVER = { name: 'VictoriaMetrics', flag: '-storageDataPath' };
const SNAPSHOT_TIMEOUT_MS = 600_000;

/** The version the server reports in its own metrics (`vm_app_version`), or null when it reports none. */
async function serverVersion(url: string, signal: AbortSignal): Promise<string | null> {
  const answer = await tsdbRequest(url, '/metrics', { purpose: 'reading the VictoriaMetrics version', signal });
  const m = /^vm_app_version\{version="([^"]*)"/m.exec(answer.text);
  return m?.[1] ? m[1] : null;
}

/**
 * Delete a snapshot through the API; when the server cannot do it (it went
 * away), remove the snapshot's directories as the server would. Never throws:
 * it runs after failures too, and must not hide the first error. Says
 * whether the snapshot is gone.
 */
export async function deleteVmSnapshot(
  config: Pick<VmConfig, 'url' | 'data_dir'>,
  name: string,
  log: CaptureContext['log'],
): Promise<boolean> {
  try {
    const answer = await tsdbJson<{ status?: string; msg?: string }>(
      config.url,
      `/snapshot/delete?snapshot=${encodeURIComponent(name)}`,
      {
        purpose: `deleting VictoriaMetrics snapshot ${name}`,
        method: 'POST',
        timeoutMs: 60_000,
      },
    );
    if (answer.status !== 'ok') throw new Error(answer.msg ?? JSON.stringify(answer));
    return true;
  } catch (err) {
    log(`could not delete snapshot ${name} through the API (${(err as Error).message}); removing its directories`);
    const dirs = [
      ['snapshots'],
      ['data', 'small', 'snapshots'],
      ['data', 'big', 'snapshots'],
      ['indexdb', 'snapshots'],
    ];
    let gone = true;
    for (const d of dirs) {
      const dir = path.join(config.data_dir, ...d, name);
      await rm(dir, { recursive: true, force: true }).catch((e: Error) => {
        gone = false;
        log(`could not remove ${dir}: ${e.message}`);
      });
    }
    return gone;
  }
}

/**
 * VictoriaMetrics through its snapshot API: `/snapshot/create` makes an
 * instant, consistent snapshot (hard links) inside the data directory; its
 * symlinked pieces are stored as real directories under /victoriametrics/data,
 * so the stored tree is a data directory a server starts on. The snapshot is
 * measured on a hard-linked copy before it is stored, and deleted afterwards.
 */
export const victoriaMetricsSource: SourceDriver<'victoriametrics'> = {
  type: 'victoriametrics',
  verifiedFields: ['series', 'timeRange'],
  scratchTarget: scratchDir('data'),

  async capture(config, ctx) {
    const version = await serverVersion(config.url, ctx.signal);
    const { name, release } = await serverSnapshot(
      { engine: 'victoriametrics', url: config.url, dataDir: config.data_dir, source: ctx.sourceName },
      async () => {
        const created = await tsdbJson<{ status?: string; snapshot?: string; msg?: string }>(
          config.url,
          '/snapshot/create',
          {
            purpose: 'creating a VictoriaMetrics snapshot',
            method: 'POST',
            timeoutMs: SNAPSHOT_TIMEOUT_MS,
            signal: ctx.signal,
          },
        );
        if (created.status !== 'ok') {
          throw new LifeboatError(
            ErrorCode.SourceFailed,
            `VictoriaMetrics at ${displayUrl(config.url)} did not create a snapshot: ${created.msg ?? JSON.stringify(created).slice(0, 300)}`,
          );
        }
        return assertSnapshotName(created.snapshot, 'VictoriaMetrics');
      },
      (snapshot) => deleteVmSnapshot(config, snapshot, ctx.log),
    );
    try {
      ctx.log(`created VictoriaMetrics snapshot ${name}`);
      const dir = await snapshotDirOnHost(config.data_dir, name, 'VictoriaMetrics', SERVER.flag);
      const parts = await resolveSnapshotTree(dir, config.data_dir);
      const measured = await onLinkedCopy(parts, [ctx.tempDir, path.join(config.data_dir, 'snapshots')], (copy) =>
        measureVictoriaMetrics(copy, { binary: config.binary, signal: ctx.signal }),
      );
      ctx.log(`measured VictoriaMetrics snapshot ${name}: ${measured.series} series`);
      return {
        mounts: mountsAt(parts, VM_SNAPSHOT_PATH),
        record: async () => ({ ...measured, snapshot: name, version }),
        release,
      };
    } catch (err) {
      await release();
      throw err;
    }
  },

  async restore(ctx) {
    const dataDir = await restoreDataDir(ctx, VM_SNAPSHOT_PATH, SERVER);
    ctx.log(`restored into ${dataDir}; start a server with -storageDataPath=${dataDir}`);
    return { location: dataDir, details: { dataDir } };
  },

  async inspect(restored, ctx) {
    const dataDir = String(restored.details.dataDir);
    return onLinkedCopy([{ from: dataDir, rel: '' }], [ctx.tempDir, path.dirname(dataDir)], (copy) =>
      measureVictoriaMetrics(copy, { binary: ctx.config?.binary, signal: ctx.signal }),
    );
  },
};
