/**
 * `lifeboat serve` archiving WAL in the point-in-time end-to-end tests: start
 * and stop it as the postgres user, read its WAL status, and compare what the
 * repository stores with the server's own pg_wal.
 *
 * @module
 */

import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './servers/free-port.js';
import { lbAsPostgres, type PitrWorkspace, spawnLbAsPostgres } from './pitr.js';

/** The WAL part of `status --json` for source `db`. */
export interface WalStatus {
  mode: string;
  last_archived_wal: string | null;
  last_base_backup: string | null;
  last_partial_at: string | null;
  spooled: number;
  server_waiting: number | null;
  problems: string[];
}

export async function walStatus(ws: PitrWorkspace): Promise<WalStatus> {
  const r = await lbAsPostgres(ws, ['--json', 'status']);
  return (JSON.parse(r.stdout) as { sources: { db: { wal: WalStatus } } }).sources.db.wal;
}

/** Start `lifeboat serve` on a free loopback port, its output appended to `serve.log` in the workspace. */
export async function startServe(ws: PitrWorkspace): Promise<ChildProcess> {
  const port = await freePort();
  return spawnLbAsPostgres(
    ws,
    ['serve', '--listen', `127.0.0.1:${port}`],
    ['ignore', 'ignore', openSync(path.join(ws.dir, 'serve.log'), 'a')],
  );
}

/** Signal the daemon (SIGTERM: a clean stop; SIGKILL: a crash) and wait for its exit. */
export async function stopServe(daemon: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
  const exited = new Promise((r) => daemon.once('exit', r));
  daemon.kill(signal);
  await exited;
}

export const serveLog = async (ws: PitrWorkspace) =>
  (await readFile(path.join(ws.dir, 'serve.log'), 'utf8').catch(() => '')).slice(-3000);

/** One WAL file as a WAL snapshot of the repository records it. */
export interface StoredWalFile {
  name: string;
  size: number;
  sha256: string;
  archivedAt: string;
  snapshot: string;
}

/** Every WAL file recorded by the WAL snapshots of source `db` (every stored copy, partial ones included). */
export async function storedWal(ws: PitrWorkspace): Promise<StoredWalFile[]> {
  const list = await lbAsPostgres(ws, ['--json', 'snapshots']);
  if (list.code !== 0) throw new Error(`snapshots failed: ${list.stderr}`);
  const snaps = (
    JSON.parse(list.stdout) as {
      snapshots: Array<{
        id: string;
        source: string;
        metadata: { pitr?: { files: Omit<StoredWalFile, 'snapshot'>[] } };
      }>;
    }
  ).snapshots.filter((s) => s.source === 'db:pitr-wal');
  return snaps.flatMap((s) =>
    s.metadata.pitr!.files.map((f) => ({
      name: f.name,
      size: f.size,
      sha256: f.sha256,
      archivedAt: f.archivedAt,
      snapshot: s.id,
    })),
  );
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export const SEGMENT_BYTES = 16 * 1024 * 1024;

/**
 * Check every stored complete segment older than the server's current one:
 * 16 MiB, and the same bytes as the server's pg_wal file of that name while it
 * still has it (a file of a later name may be a recycled old one). Returns the
 * names compared with the server's copy.
 */
export async function compareWithServerWal(
  stored: StoredWalFile[],
  pgWalDir: string,
  currentSegment: string,
): Promise<{ compared: string[]; problems: string[] }> {
  const compared: string[] = [];
  const problems: string[] = [];
  for (const f of stored.filter((s) => /^[0-9A-F]{24}$/.test(s.name) && s.name < currentSegment)) {
    if (f.size !== SEGMENT_BYTES) problems.push(`${f.name} stored with ${f.size} bytes`);
    const onServer = path.join(pgWalDir, f.name);
    if (!existsSync(onServer)) continue;
    if (sha256(await readFile(onServer)) !== f.sha256) problems.push(`${f.name} differs from the server's copy`);
    compared.push(f.name);
  }
  return { compared, problems };
}
