/**
 * The shared course of the continuous-protection fault tests: an application
 * process commits to a SQLite database while a replicator ships its log through
 * the fault-injecting proxy, which passes, then refuses (cutting the open
 * connections too), passes, stalls and passes again; afterwards the stream,
 * read straight from the server, must restore every committed transaction.
 * Each storage test keeps its own server, pacing, draining and assertions on
 * the lag.
 *
 * @module
 */

import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { Repository } from '../../src/repository/repository.js';
import { Replicator } from '../../src/sources/sqlite/continuous/replicator.js';
import { restoreToTime } from '../../src/sources/sqlite/continuous/restore-point.js';
import type { FaultProxy } from './fault-proxy.js';
import { startSequenceWriter, type SequenceWriter } from './sequence-writer.js';

/** Create `dir/app.db` in WAL mode, start a replicator of source `app` into `repo`, then the writer process (18 s at 300 commits/s). */
export async function startReplicatedWriter(
  dir: string,
  repo: Repository,
): Promise<{ replicator: Replicator; writer: SequenceWriter }> {
  const file = path.join(dir, 'app.db');
  const init = new Database(file);
  init.pragma('journal_mode = WAL');
  init.close();
  const replicator = new Replicator({
    source: 'app',
    path: file,
    repo,
    intervalMs: 1000,
    snapshotEveryMs: 3600_000,
    retentionMs: 24 * 3600_000,
  });
  await replicator.start();
  const writer = startSequenceWriter({
    file,
    logFile: path.join(dir, 'commits.log'),
    ratePerSecond: 300,
    seconds: 18,
  });
  return { replicator, writer };
}

/**
 * Drive the replicator by hand while the writer runs, through the proxy's
 * schedule of faults, waiting `waitMs()` before each round. Returns the lag
 * seen while connections were refused and after the last fault.
 */
export async function shipThroughFaults(
  r: Replicator,
  proxy: FaultProxy,
  writer: SequenceWriter,
  waitMs: () => number,
): Promise<{ lagDuring: number[]; lagAfter: number[] }> {
  const t0 = Date.now();
  const lagDuring: number[] = [];
  const lagAfter: number[] = [];
  let phase: 'before' | 'refused' | 'recovering' | 'stalled' | 'after' = 'before';
  while (writer.child.exitCode === null) {
    const t = Date.now() - t0;
    const next =
      t < 3000 ? 'before' : t < 8000 ? 'refused' : t < 11_000 ? 'recovering' : t < 13_000 ? 'stalled' : 'after';
    if (next !== phase) {
      phase = next;
      proxy.setFault(
        phase === 'refused' ? { kind: 'refuse' } : phase === 'stalled' ? { kind: 'stall', ms: 2000 } : { kind: 'pass' },
      );
      // The open connections are cut too: the driver must reconnect once the proxy lets it.
      if (phase === 'refused') proxy.dropAll();
    }
    await new Promise((res) => setTimeout(res, waitMs()));
    await r.tick().catch(() => {});
    const lag = r.status(true).lagSeconds;
    if (phase === 'refused') lagDuring.push(lag);
    if (phase === 'after') lagAfter.push(lag);
  }
  return { lagDuring, lagAfter };
}

/** Restore source `app` from `direct` (opened straight on the server) and check it holds commits 1 … `written` with no gap. */
export async function expectEveryCommitRestored(direct: Repository, dir: string, written: number): Promise<void> {
  const got = await restoreToTime(direct, { source: 'app', toFile: path.join(dir, 'restored.db') });
  expect(got.record.integrity).toBe('ok');
  const conn = new Database(got.file, { readonly: true });
  const row = conn.prepare('SELECT count(*) AS c, min(n) AS lo, max(n) AS hi FROM seq').get() as {
    c: number;
    lo: number;
    hi: number;
  };
  conn.close();
  expect(row).toEqual({ c: written, lo: 1, hi: written });
}
