/**
 * The WAL archiving of every postgres source with `pitr:` as of now, for
 * status, /metrics and alerts: the archiver's status file plus a live look at
 * the spool. The archive lag is the age of the oldest WAL that PostgreSQL has
 * finished but the repository does not hold yet — waiting in the server
 * (`.ready`, as the archiver last read it) or in the spool.
 *
 * @module
 */

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LifeboatConfig } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import { spoolDirFor } from '../sources/postgres/pitr/spool-dir.js';
import { isWalFileName } from '../sources/postgres/pitr/wal-names.js';
import { readArchiverStatus } from './wal-archiver-status.js';
import { pitrSources } from './wal-archiving.js';

/** Without `rpo` on the source, archiving more than an hour behind is alerted on. */
export const DEFAULT_WAL_LIMIT_SECONDS = 3600;
/** An archiver status older than this (while it says it runs) means the archiver stopped. */
const STALE_AFTER_MS = 5 * 60_000;
/** A daemon just started gets this long to write its first status before its absence is a problem. */
const START_GRACE_MS = 2 * 60_000;

export interface WalFact {
  source: string;
  mode: 'archive' | 'stream';
  /** Stream mode: when the partial segment was last shipped. */
  lastPartialMs?: number;
  lastArchivedWal?: string;
  lastArchivedMs?: number;
  spooled: number;
  oldestSpooledMs?: number;
  /** Segments the server finished and has not archived, as last read (undefined: never read). */
  serverWaiting?: number;
  lagSeconds: number;
  limitSeconds: number;
  lastBaseBackupMs?: number;
  nextBaseBackupMs?: number;
  running: boolean;
  /** Everything that is wrong or could not be checked, in words. */
  problems: string[];
}

function spoolContents(dir: string): { count: number; oldestMs?: number } {
  let names: string[];
  try {
    names = readdirSync(dir).filter(isWalFileName);
  } catch {
    return { count: 0 };
  }
  let oldestMs: number | undefined;
  for (const n of names) {
    try {
      const m = statSync(path.join(dir, n)).mtimeMs;
      if (oldestMs === undefined || m < oldestMs) oldestMs = m;
    } catch {
      // drained between the listing and the stat
    }
  }
  return { count: names.length, oldestMs };
}

export function walFacts(config: LifeboatConfig, stateDir: string, now: number, watchedSince: number): WalFact[] {
  return pitrSources(config).map((source) => {
    const s = readArchiverStatus(stateDir, source.name);
    const spool = spoolContents(spoolDirFor(source.name, source.config.pitr!.spool_dir, stateDir));
    const limitSeconds = source.config.rpo ? parseDuration(source.config.rpo) : DEFAULT_WAL_LIMIT_SECONDS;
    const problems: string[] = [];
    const running = Boolean(s?.running && now - s.updatedMs < STALE_AFTER_MS);
    if (!s) {
      if (now - watchedSince > START_GRACE_MS)
        problems.push(
          '`lifeboat serve` has never run its WAL archiver: the spool is not drained, archiving not checked',
        );
    } else if (!running) {
      problems.push(
        `the WAL archiver of \`lifeboat serve\` last reported at ${new Date(s.updatedMs).toISOString()}${s.running ? '' : ' (stopped)'}`,
      );
    }
    if (s?.drainError) problems.push(`draining the spool failed: ${s.drainError}`);
    if (s?.baseBackupError) problems.push(`the scheduled base backup failed: ${s.baseBackupError}`);
    if (s?.serverError) problems.push(`the server's archiving could not be read: ${s.serverError}`);
    const server = s?.server;
    if (server?.lastFailedAt && (!server.lastArchivedAt || server.lastFailedAt > server.lastArchivedAt))
      problems.push(
        `archive_command is failing on the server: ${server.lastFailedWal ?? 'a segment'} failed at ${server.lastFailedAt}`,
      );
    // With `base_backup` a running archiver is taking the first one; without it nothing will.
    if (s && s.lastBaseBackupMs === undefined && !s.baseBackupError && !(source.config.pitr!.base_backup && running))
      problems.push(
        'no base backup in the repository: the archived WAL cannot be replayed (set `pitr.base_backup` or run `lifeboat base-backup`)',
      );
    const stream = source.config.pitr!.wal === 'stream' ? s?.stream : undefined;
    if (stream?.error) problems.push(`streaming WAL with pg_receivewal failed: ${stream.error}`);
    // Stream mode: WAL written after the last round that caught up (with pg_receivewal running) is not stored yet.
    const streamBehind = source.config.pitr!.wal === 'stream' && s ? (stream?.caughtUpMs ?? watchedSince) : Infinity;
    const oldest = Math.min(
      spool.oldestMs ?? Infinity,
      server?.oldestWaitingAt ? Date.parse(server.oldestWaitingAt) : Infinity,
      streamBehind,
    );
    return {
      source: source.name,
      mode: source.config.pitr!.wal,
      ...(stream?.lastPartialMs !== undefined ? { lastPartialMs: stream.lastPartialMs } : {}),
      ...(s?.lastArchivedWal ? { lastArchivedWal: s.lastArchivedWal, lastArchivedMs: s.lastArchivedMs } : {}),
      spooled: spool.count,
      ...(spool.oldestMs !== undefined ? { oldestSpooledMs: spool.oldestMs } : {}),
      ...(server ? { serverWaiting: server.waiting } : {}),
      lagSeconds: Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0,
      limitSeconds,
      ...(s?.lastBaseBackupMs !== undefined ? { lastBaseBackupMs: s.lastBaseBackupMs } : {}),
      ...(s?.nextBaseBackupMs !== undefined ? { nextBaseBackupMs: s.nextBaseBackupMs } : {}),
      running,
      problems,
    };
  });
}
