/**
 * What `serve`'s WAL archiver of a postgres source with `pitr:` last said, in
 * `<state_dir>/pitr/<source>/archiver.json` (rewritten atomically after every
 * round). Status, /metrics and alerts read it; `lifeboat status` reads it
 * without a daemon. A file that stops being rewritten means an archiver that
 * stopped.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ServerArchiveStatus } from '../sources/postgres/pitr/archive-status.js';

export interface WalArchiverStatus {
  source: string;
  repository?: string;
  running: boolean;
  pid: number;
  updatedMs: number;
  /** The newest WAL file stored in the repository and when it was archived (spooled, for async pushes). */
  lastArchivedWal?: string;
  lastArchivedMs?: number;
  /** The last round that emptied the spool, and the error of the last round that failed. */
  lastDrainMs?: number;
  drainedFiles: number;
  drainError?: string;
  /** The newest base backup in the repository (its stop time) and the next one due. */
  lastBaseBackupMs?: number;
  lastBaseBackupSnapshot?: string;
  nextBaseBackupMs?: number;
  baseBackupError?: string;
  /** Stream mode: pg_receivewal's state and the last shipping round. */
  stream?: WalStreamStatus;
  /** The server's own view of its archiving, and when it was read (or why it could not be). */
  server?: ServerArchiveStatus & { checkedMs: number };
  serverError?: string;
  serverErrorMs?: number;
}

export interface WalStreamStatus {
  /** pg_receivewal's pid while it runs. */
  pid?: number;
  startedMs?: number;
  restarts: number;
  /** Why pg_receivewal last stopped or could not start; cleared when it runs again. */
  error?: string;
  errorMs?: number;
  /** The end of the last shipping round that left nothing behind while pg_receivewal ran: WAL older than this is stored. */
  caughtUpMs?: number;
  /** The newest partial segment shipped, and when. */
  lastPartial?: string;
  lastPartialMs?: number;
}

export function archiverStatusFile(stateDir: string, source: string): string {
  return path.join(stateDir, 'pitr', source, 'archiver.json');
}

export async function writeArchiverStatus(stateDir: string, status: WalArchiverStatus): Promise<void> {
  const file = archiverStatusFile(stateDir, status.source);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(status), { mode: 0o600 });
  await rename(temp, file);
}

/** The archiver's last word, or undefined when it never ran (or the file cannot be read). */
export function readArchiverStatus(stateDir: string, source: string): WalArchiverStatus | undefined {
  try {
    return JSON.parse(readFileSync(archiverStatusFile(stateDir, source), 'utf8')) as WalArchiverStatus;
  } catch {
    return undefined;
  }
}
