import type { ChildProcess } from 'node:child_process';
import { openSync, readdirSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAL_SPOOL_SCRIPT } from '../../src/cli/archive-command.js';
import { CLI, tempDir } from '../helpers/cli.js';
import { freePort, waitUntil } from '../helpers/servers/free-port.js';
import { startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';
import {
  lbAsPostgres,
  type RestoredServer,
  setUpPitrRepository,
  spawnLbAsPostgres,
  startRestoredServer,
} from '../helpers/pitr.js';

/**
 * Point-in-time recovery run by the daemon, with real servers: PostgreSQL
 * archives through `lifeboat-wal-spool` (the sh spooler, the line
 * `wal-push --print-archive-command` prints), a restored copy through
 * `wal-push --async` (the Node fast path), and `lifeboat serve` drains
 * the spool and takes the base backup on `pitr.base_backup` by itself. Then
 * restores to an LSN and to a restore point, and across a timeline: a
 * restored, promoted copy archives on timeline 2 (its history file too), and a
 * second restore reaches a restore point on timeline 2.
 */

let dir: string;
let cleanup: () => Promise<void>;
let server: PostgresServer;
let daemon: ChildProcess | undefined;
let configFile: string;
const PASSWORD = 'pitr daemon test password, long enough';

const lb = (args: string[], extraEnv: Record<string, string> = {}) => lbAsPostgres({ dir, configFile }, args, extraEnv);

const archiveCommand = () =>
  `${process.execPath} ${CLI} --config ${configFile} --quiet wal-push --async --source db %p`;
const spoolCommand = () => `${WAL_SPOOL_SCRIPT} ${dir}/spool %p`;

/** Start a restored data directory as postgres (socket only), archiving into the same source when asked. */
function startRestored(dataDir: string, archiving: boolean): Promise<RestoredServer> {
  const settings = archiving
    ? ['-c', 'archive_mode=on', '-c', `archive_command=${archiveCommand()}`, '-c', 'wal_level=replica']
    : ['-c', 'archive_mode=off'];
  return startRestoredServer(dir, dataDir, settings);
}

/** Switch segments on a server and wait until the finished one is acknowledged and drained by the daemon (generous: shared machine). */
async function archivedAndDrained(psql: (sql: string) => string): Promise<string> {
  const finished = psql('SELECT pg_walfile_name(pg_switch_wal())');
  await waitUntil(
    async () => psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= finished,
    300_000,
    async () => `waiting for ${finished} to be archived`,
  );
  await waitUntil(
    async () => readdirSync(path.join(dir, 'spool')).length === 0,
    300_000,
    async () => `spool still holds ${readdirSync(path.join(dir, 'spool')).join(', ')}`,
  );
  return finished;
}

async function status(): Promise<{
  last_archived_wal: string | null;
  last_base_backup: string | null;
  server_waiting: number | null;
  problems: string[];
}> {
  const r = await lb(['--json', 'status']);
  return (JSON.parse(r.stdout) as { sources: { db: { wal: never } } }).sources.db.wal;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-pitr-daemon-'));
  await chmod(dir, 0o755);
  configFile = path.join(dir, 'lifeboat.yaml');
  server = await startPostgres({
    settings: {
      archive_mode: 'on',
      archive_command: spoolCommand(),
      wal_level: 'replica',
      max_wal_senders: '5',
    },
  });
  const init = await setUpPitrRepository({ dir, configFile }, server, PASSWORD, [
    '    rpo: 1h',
    '    pitr:',
    '      wal: archive',
    '      base_backup: 1d',
    `      spool_dir: ${dir}/spool`,
  ]);
  expect(init.code, init.stderr).toBe(0);
  server.psql('CREATE TABLE marker (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const port = await freePort();
  daemon = spawnLbAsPostgres(
    { dir, configFile },
    ['serve', '--listen', `127.0.0.1:${port}`],
    ['ignore', 'ignore', openSync(path.join(dir, 'serve.log'), 'a')],
  );
}, 300_000);

afterAll(async () => {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  await server?.stop();
  await cleanup?.();
});

describe('postgres point-in-time recovery with the daemon', () => {
  let lsnTarget = '';
  let markersAtLsn = 0;
  let markersAtName = 0;

  it('the daemon takes the base backup by itself and drains the async spool', async () => {
    const printed = await lb(['wal-push', '--source', 'db', '--print-archive-command']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout.trim()).toBe(`archive_command = '${spoolCommand()}'`);
    // Generous: the daemon opens the repository, then pg_basebackup runs on a shared machine.
    await waitUntil(
      async () => (await status()).last_base_backup !== null,
      600_000,
      async () =>
        `no base backup yet; serve log: ${(await readFile(path.join(dir, 'serve.log'), 'utf8')).slice(-2000)}`,
    );
    for (let i = 0; i < 20; i++) server.psql('INSERT INTO marker DEFAULT VALUES');
    markersAtLsn = 20;
    // The insert position (not the write position, which lags behind with synchronous_commit = off): past the 20th commit.
    lsnTarget = server.psql('SELECT pg_current_wal_insert_lsn()');
    for (let i = 0; i < 10; i++) server.psql('INSERT INTO marker DEFAULT VALUES');
    server.psql("SELECT pg_create_restore_point('before-cleanup')");
    markersAtName = 30;
    server.psql('DELETE FROM marker WHERE id > 5');
    const finished = await archivedAndDrained(server.psql);
    // The archiver writes its status after each round: wait for the round that stored the last segment.
    await waitUntil(
      async () => ((await status()).last_archived_wal ?? '') >= finished,
      120_000,
      async () => JSON.stringify(await status()),
    );
    const s = await status();
    expect(s.server_waiting).toBe(0);
    expect(s.problems).toEqual([]);
    const check = await lb(['wal', 'check', '--source', 'db']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 900_000);

  it('restores to an LSN and to a restore point', async () => {
    const atLsn = path.join(dir, 'restore-lsn');
    const r1 = await lb(['restore', 'latest', '--source', 'db', '--target', atLsn, '--to-lsn', lsnTarget, '--verify']);
    expect(r1.code, `${r1.stdout}\n${r1.stderr}`).toBe(0);
    const a = await startRestored(atLsn, false);
    try {
      expect(Number(a.psql('SELECT count(*) FROM marker'))).toBe(markersAtLsn);
    } finally {
      await a.stop();
    }
    const atName = path.join(dir, 'restore-name');
    const r2 = await lb([
      'restore',
      'latest',
      '--source',
      'db',
      '--target',
      atName,
      '--to-name',
      'before-cleanup',
      '--verify',
    ]);
    expect(r2.code, `${r2.stdout}\n${r2.stderr}`).toBe(0);
    const b = await startRestored(atName, false);
    try {
      expect(Number(b.psql('SELECT count(*) FROM marker'))).toBe(markersAtName);
    } finally {
      await b.stop();
    }
    const unknown = await lb([
      'restore',
      'latest',
      '--source',
      'db',
      '--target',
      path.join(dir, 'never'),
      '--to-name',
      'no-such-point',
    ]);
    expect(unknown.code).not.toBe(0);
  }, 900_000);

  it('a promoted restore archives on timeline 2, and a restore reaches a restore point on timeline 2', async () => {
    // The copy that becomes the new primary keeps archiving (--keep-archiving) and is promoted by its own start with
    // archiving on: a copy promoted by --verify (archiving off) would never archive the new timeline's history file.
    await server.stop(); // the old primary is gone, as after the disaster that made the restore necessary
    const primary = path.join(dir, 'restore-primary');
    const r0 = await lb([
      'restore',
      'latest',
      '--source',
      'db',
      '--target',
      primary,
      '--to-name',
      'before-cleanup',
      '--keep-archiving',
    ]);
    expect(r0.code, `${r0.stdout}\n${r0.stderr}`).toBe(0);
    const promoted = await startRestored(primary, true);
    let onTimeline2: number;
    try {
      await waitUntil(
        async () => promoted.psql('SELECT pg_is_in_recovery()') === 'f',
        300_000,
        async () => 'the restored primary is still recovering',
      );
      promoted.psql('CHECKPOINT');
      expect(promoted.psql('SELECT timeline_id FROM pg_control_checkpoint()')).toBe('2');
      for (let i = 0; i < 7; i++) promoted.psql('INSERT INTO marker DEFAULT VALUES');
      promoted.psql("SELECT pg_create_restore_point('on-timeline-2')");
      onTimeline2 = Number(promoted.psql('SELECT count(*) FROM marker'));
      promoted.psql('INSERT INTO marker DEFAULT VALUES');
      const finished = await archivedAndDrained(promoted.psql);
      expect(finished.startsWith('00000002')).toBe(true);
    } finally {
      await promoted.stop();
    }
    const check = await lb(['--json', 'wal', 'check', '--source', 'db']);
    const report = JSON.parse(check.stdout.trim().split('\n').pop()!) as { timelines: Array<{ timeline: number }> };
    expect(report.timelines.map((t) => t.timeline)).toContain(2);
    const fetched = path.join(dir, 'history-fetched');
    expect((await lb(['wal-fetch', '--source', 'db', '00000002.history', fetched])).code).toBe(0);

    const again = path.join(dir, 'restore-tl2');
    const r = await lb([
      'restore',
      'latest',
      '--source',
      'db',
      '--target',
      again,
      '--to-name',
      'on-timeline-2',
      '--verify',
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const c = await startRestored(again, false);
    try {
      expect(Number(c.psql('SELECT count(*) FROM marker'))).toBe(onTimeline2);
      expect(Number(c.psql('SELECT timeline_id FROM pg_control_checkpoint()'))).toBeGreaterThanOrEqual(3);
    } finally {
      await c.stop();
    }
  }, 900_000);

  it('drills the source by a point-in-time restore into a throwaway server and reports RPO and RTO', async () => {
    const r = await lb(['--json', 'drill', '--source', 'db']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const drill = lines.find((l) => l.type === 'drill' && l.pitr === true) as
      | {
          verdict: string;
          pointInTime: { reached: boolean; pointAt: string };
          rpo: { measuredSeconds: number };
          rto: { measuredSeconds: number };
        }
      | undefined;
    expect(drill).toMatchObject({ verdict: 'PASS', pointInTime: { reached: true } });
    expect(drill!.rpo.measuredSeconds).toBeGreaterThanOrEqual(0);
    expect(drill!.rto.measuredSeconds).toBeGreaterThan(0);
    expect(lines.find((l) => l.type === 'summary')).toMatchObject({ drills: 1, failed: 0, verdict: 'PASS' });
  }, 900_000);
});
