/**
 * What the server itself says about its archiving: WAL segments it has
 * completed but `archive_command` has not acknowledged yet (`.ready` files in
 * `pg_wal/archive_status`) and its archiver's counters. The oldest waiting
 * segment's completion time is how far the archive is behind the server.
 *
 * @module
 */

import type { SourceConfigOf } from '../../../config/source-schemas.js';
import { configuredConnection, connect, pgError } from '../connection.js';

export interface ServerArchiveStatus {
  /** Segments completed by the server and not archived yet. */
  waiting: number;
  /** Completion time of the oldest of them (the `.ready` file's modification time). */
  oldestWaitingAt?: string;
  lastArchivedWal?: string;
  lastArchivedAt?: string;
  lastFailedWal?: string;
  lastFailedAt?: string;
  failedCount: number;
}

/**
 * Read the archiver's state of a source's server. `pg_ls_archive_statusdir()`
 * needs a superuser or membership in `pg_monitor`; without it this fails with
 * the server's permission error (the caller reports that the check could not run).
 */
export async function serverArchiveStatus(config: SourceConfigOf<'postgres'>): Promise<ServerArchiveStatus> {
  const conn = await configuredConnection(config);
  const client = await connect(conn, conn.database || 'postgres');
  try {
    const ready = await client.query<{ n: string; oldest: Date | null }>(
      `SELECT count(*) AS n, min(modification) AS oldest FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`,
    );
    const arch = await client.query<{
      archived_count: string;
      last_archived_wal: string | null;
      last_archived_time: Date | null;
      failed_count: string;
      last_failed_wal: string | null;
      last_failed_time: Date | null;
    }>(
      'SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver',
    );
    const r = ready.rows[0]!;
    const a = arch.rows[0]!;
    return {
      waiting: Number(r.n),
      ...(r.oldest ? { oldestWaitingAt: r.oldest.toISOString() } : {}),
      ...(a.last_archived_wal ? { lastArchivedWal: a.last_archived_wal } : {}),
      ...(a.last_archived_time ? { lastArchivedAt: a.last_archived_time.toISOString() } : {}),
      ...(a.last_failed_wal ? { lastFailedWal: a.last_failed_wal } : {}),
      ...(a.last_failed_time ? { lastFailedAt: a.last_failed_time.toISOString() } : {}),
      failedCount: Number(a.failed_count),
    };
  } catch (err) {
    throw pgError(err, conn);
  } finally {
    await client.end().catch(() => {});
  }
}
