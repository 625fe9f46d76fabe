import type { ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { freePort, waitUntil } from '../helpers/servers/free-port.js';
import { startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';
import {
  type LbRun,
  lbAsPostgres,
  setUpPitrRepository,
  spawnLbAsPostgres,
  startRestoredServer,
} from '../helpers/pitr.js';

/**
 * Stream mode with real servers: `lifeboat serve` runs pg_receivewal against
 * a replication slot it creates, takes the base backup, and ships completed
 * segments and the partial segment being written. Rows written after the last
 * completed segment exist only in the shipped partial: a restore to a time
 * after them, with the daemon stopped, must still bring them back. A killed
 * pg_receivewal is started again; one left running by a daemon killed with
 * SIGKILL is stopped by the next daemon, which streams again.
 */

let dir: string;
let cleanup: () => Promise<void>;
let server: PostgresServer;
let daemon: ChildProcess | undefined;
let configFile: string;
const PASSWORD = 'pitr stream test password, long enough';

const lb = (args: string[], extraEnv: Record<string, string> = {}) => lbAsPostgres({ dir, configFile }, args, extraEnv);

interface WalView {
  mode: string;
  last_archived_wal: string | null;
  last_base_backup: string | null;
  last_partial_at: string | null;
  lag_seconds: number;
  problems: string[];
}

async function status(): Promise<WalView> {
  const r = await lb(['--json', 'status']);
  return (JSON.parse(r.stdout) as { sources: { db: { wal: WalView } } }).sources.db.wal;
}

const archiverFile = () => path.join(dir, 'state', 'pitr', 'db', 'archiver.json');
const streamDir = () => path.join(dir, 'state', 'pitr', 'db', 'stream');
const receiverPid = (): number | undefined => {
  try {
    return (JSON.parse(readFileSync(archiverFile(), 'utf8')) as { stream?: { pid?: number } }).stream?.pid;
  } catch {
    return undefined;
  }
};
const serveLog = async () => (await readFile(path.join(dir, 'serve.log'), 'utf8')).slice(-3000);

/** Start a restored data directory as postgres (socket only, no archiving). */
const startRestored = (dataDir: string) => startRestoredServer(dir, dataDir, ['-c', 'archive_mode=off']);

async function stopDaemon(): Promise<void> {
  if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-pitr-stream-'));
  await chmod(dir, 0o755);
  configFile = path.join(dir, 'lifeboat.yaml');
  // No archive_command at all: stream mode needs only a replication connection.
  server = await startPostgres({ settings: { wal_level: 'replica', max_wal_senders: '5', archive_mode: 'off' } });
  const init = await setUpPitrRepository({ dir, configFile }, server, PASSWORD, [
    '    rpo: 1h',
    '    pitr:',
    '      wal: stream',
    '      slot: lifeboat_db',
    '      base_backup: 1d',
  ]);
  expect(init.code, init.stderr).toBe(0);
  server.psql('CREATE TABLE marker (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  await startDaemon();
}, 300_000);

async function startDaemon(): Promise<void> {
  const port = await freePort();
  daemon = spawnLbAsPostgres(
    { dir, configFile },
    ['serve', '--listen', `127.0.0.1:${port}`],
    ['ignore', 'ignore', openSync(path.join(dir, 'serve.log'), 'a')],
  );
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterAll(async () => {
  await stopDaemon();
  await server?.stop();
  await cleanup?.();
});

describe('postgres point-in-time recovery in stream mode', () => {
  it('creates the slot, streams, takes the base backup, restarts a killed pg_receivewal and replaces one a killed daemon left', async () => {
    // Generous: the daemon opens the repository, then pg_basebackup runs on a shared machine.
    await waitUntil(
      async () => (await status()).last_base_backup !== null,
      600_000,
      async () => `no base backup yet; serve log: ${await serveLog()}`,
    );
    expect(
      server.psql("SELECT slot_type || ' ' || active FROM pg_replication_slots WHERE slot_name = 'lifeboat_db'"),
    ).toBe('physical true');
    const first = receiverPid();
    expect(first).toBeDefined();
    process.kill(first!, 'SIGKILL');
    await waitUntil(
      async () => receiverPid() !== undefined && receiverPid() !== first,
      120_000,
      async () => `pg_receivewal was not started again; serve log: ${await serveLog()}`,
    );
    expect(await serveLog()).toContain('starting again');
    // A daemon killed with SIGKILL leaves its pg_receivewal holding the slot: the next daemon stops it and streams.
    const orphan = receiverPid()!;
    const killed = new Promise((r) => daemon!.once('exit', r));
    daemon!.kill('SIGKILL');
    await killed;
    expect(alive(orphan)).toBe(true);
    await startDaemon();
    await waitUntil(
      async () => !alive(orphan) && receiverPid() !== undefined && receiverPid() !== orphan,
      120_000,
      async () => `the leftover pg_receivewal ${orphan} was not replaced; serve log: ${await serveLog()}`,
    );
    // A completed segment goes in as a pushed one would.
    const finished = server.psql('SELECT pg_walfile_name(pg_switch_wal())');
    server.psql('INSERT INTO marker DEFAULT VALUES');
    await waitUntil(
      async () => ((await status()).last_archived_wal ?? '') > finished,
      300_000,
      async () => `${finished} not shipped; ${JSON.stringify(await status())}`,
    );
    const check = await lb(['wal', 'check', '--source', 'db']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const s = await status();
    expect(s.mode).toBe('stream');
    expect(s.problems).toEqual([]);
  }, 900_000);

  it('rows only in the partial segment are restored after the daemon stopped', async () => {
    for (let i = 0; i < 20; i++) server.psql('INSERT INTO marker DEFAULT VALUES');
    const written = Number(server.psql('SELECT count(*) FROM marker'));
    const segment = server.psql('SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
    await new Promise((r) => setTimeout(r, 1100));
    const target = server.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')");
    await new Promise((r) => setTimeout(r, 1100));
    // A commit after the target, so that replay can tell it passed the target.
    server.psql('INSERT INTO marker DEFAULT VALUES');
    // The segment holding the rows is still being written: only its partial copy can hold them.
    expect(server.psql('SELECT pg_walfile_name(pg_current_wal_insert_lsn())')).toBe(segment);
    await waitUntil(
      async () => readdirSync(streamDir()).includes(`${segment}.partial`),
      60_000,
      async () => readdirSync(streamDir()).join(', '),
    );
    // Planning refuses until a shipped partial reaches past the target: wait (dry runs write nothing) for that round.
    const restoreArgs = (target_: string, into: string) => [
      'restore',
      'latest',
      '--source',
      'db',
      '--target',
      into,
      '--to-time',
      target_,
    ];
    const restored = path.join(dir, 'restore-partial');
    let plan: LbRun | undefined;
    await waitUntil(
      async () => {
        plan = await lb([...restoreArgs(target, restored), '--dry-run']);
        return plan.code === 0;
      },
      300_000,
      async () => `not reachable yet: ${plan?.stdout}\n${plan?.stderr}\nserve log: ${await serveLog()}`,
    );
    // Replay ends in the segment that is only a partial copy in the repository.
    expect(plan!.stdout + plan!.stderr).toContain(`up to ${segment}`);
    expect((await status()).last_partial_at).not.toBeNull();
    await stopDaemon();
    expect(server.psql('SELECT pg_walfile_name(pg_current_wal_insert_lsn())')).toBe(segment);
    const r = await lb([...restoreArgs(target, restored), '--verify']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const db = await startRestored(restored);
    try {
      expect(Number(db.psql('SELECT count(*) FROM marker'))).toBe(written);
    } finally {
      await db.stop();
    }
  }, 900_000);
});
