import { readFileSync, readdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from '../../../util/make-dirs.js';

/**
 * What a running replicator last said about its stream, in
 * `<state_dir>/replication/<source>.json` (rewritten at most once a second,
 * atomically). Status, /metrics and alerts read it; a file that stops being
 * rewritten means a replicator that stopped, and its lag keeps growing.
 */
export interface ReplicationStatus {
  source: string;
  repository: string;
  generation: string;
  /** Log index and frame of the newest shipped commit. */
  position: { index: number; frame: number };
  /** Commit time (ms) of the newest shipped transaction; undefined before the first. */
  lastShippedCommitMs?: number;
  /** When the newest full copy was taken (ms). */
  lastFullCopyMs?: number;
  /** Seconds between the oldest committed-but-unshipped transaction and `updatedMs` (0 when all is shipped). */
  lagSeconds: number;
  unshippedCommits: number;
  objectsWritten: number;
  bytesWritten: number;
  transactionsShipped: number;
  generationsStarted: number;
  shipFailures: number;
  /** Checkpoints run by the replicator, and failures of a poll (each said once in the log). */
  checkpoints: number;
  errors: number;
  lastError?: string;
  running: boolean;
  pid: number;
  intervalMs: number;
  updatedMs: number;
}

export function replicationStatusDir(stateDir: string): string {
  return path.join(stateDir, 'replication');
}

export async function writeReplicationStatus(stateDir: string, status: ReplicationStatus): Promise<void> {
  const dir = replicationStatusDir(stateDir);
  await makeDirectories(dir, 0o700);
  const file = path.join(dir, `${status.source}.json`);
  await writeFile(file + '.tmp', JSON.stringify(status, null, 2), { mode: 0o600 });
  await rename(file + '.tmp', file);
}

/**
 * Every recorded status, with the lag as of `now`: a replicator that stopped
 * updating (or stopped) leaves everything since its last update unshipped.
 */
export function readReplicationStatuses(
  stateDir: string,
  now = Date.now(),
): Array<ReplicationStatus & { currentLagSeconds: number }> {
  const dir = replicationStatusDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Array<ReplicationStatus & { currentLagSeconds: number }> = [];
  for (const n of names.sort()) {
    try {
      const s = JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as ReplicationStatus;
      out.push({ ...s, currentLagSeconds: currentLag(s, now) });
    } catch {
      // A file being replaced or damaged: it is reported again at the next read.
    }
  }
  return out;
}

/**
 * Lag as of `now`: the recorded lag while the replicator keeps reporting
 * (one interval and a few seconds of grace); after that, everything since
 * the last report may be unshipped, so the lag grows with the silence.
 */
export function currentLag(s: ReplicationStatus, now: number): number {
  const silent = Math.max(0, now - s.updatedMs);
  const grace = s.intervalMs + 5000;
  if (s.running && silent <= grace) return s.lagSeconds;
  return s.lagSeconds + silent / 1000;
}
