import { existsSync } from 'node:fs';
import { readFile, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cli.js';
import { waitUntil } from '../helpers/servers/free-port.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';
import { lbAsPostgres, setUpPitrRepository } from '../helpers/pitr.js';

/**
 * PostgreSQL drills into throwaway servers, with real servers, run as the
 * `postgres` user (PostgreSQL does not run as root): the point-in-time drill
 * stores its report like every drill, runs the recorded checks and the smoke
 * command on the recovered server (a failing smoke command fails it), a job's
 * drill step runs it, and a drill of the logical dump goes to a throwaway
 * server by default. The smoke script checks, while the copy exists, that it
 * sees the restored rows and that no drill database appeared on production.
 */

let dir: string;
let cleanup: () => Promise<void>;
let server: PostgresServer;
let configFile: string;
const PASSWORD = 'drill servers test password, long enough';

const lb = (args: string[]) => lbAsPostgres({ dir, configFile }, args);

interface DrillLine {
  type: string;
  pitr?: boolean;
  verdict: string;
  reasons: string[];
  object?: string;
  job: string | null;
  snapshot: { id: string };
  restoredTo: string | null;
  isolation?: { server: string; detail: string };
  pointInTime?: { pointAt: string; reached: boolean; base: string };
  checks: Array<{ name: string; ok: boolean; actual: unknown }>;
  smoke: { ok: boolean; exitCode: number | null } | null;
  rpo: { measuredSeconds: number; basis: string };
  rto: { measuredSeconds: number };
}

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const drills = (stdout: string) => jsonLines(stdout).filter((l) => l.type === 'drill') as unknown as DrillLine[];

const productionDrillDatabases = () =>
  server.psql(`SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_%'`).trim();

/** Switch to a new segment and wait until the one just finished is archived (generous: the machine is shared). */
async function archiveCurrent(): Promise<void> {
  const finished = server.psql('SELECT pg_walfile_name(pg_switch_wal())');
  await waitUntil(
    async () => server.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= finished,
    300_000,
    async () => `waiting for ${finished} to be archived`,
  );
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-drill-servers-'));
  await chmod(dir, 0o755);
  configFile = path.join(dir, 'lifeboat.yaml');
  server = await startPostgres({
    settings: {
      archive_mode: 'on',
      archive_command: `${process.execPath} ${CLI} --config ${configFile} --quiet wal-push --source db %p`,
      wal_level: 'replica',
      max_wal_senders: '5',
      track_commit_timestamp: 'on',
    },
  });
  // The smoke command: fails on demand, refuses the production server, saves what it counted for the test.
  await writeFile(
    path.join(dir, 'smoke.sh'),
    [
      'set -e',
      `test ! -e ${dir}/fail-smoke`,
      `test "$PGHOST" != ${server.socketDir}`,
      `${PG_BIN}/psql -X -At -c 'SELECT count(*) FROM events' > "${dir}/count-$LIFEBOAT_DRILL_SNAPSHOT"`,
      `left=$(${PG_BIN}/psql -X -At -h ${server.socketDir} -p ${server.port} -U postgres -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_%'")`,
      'test -z "$left"',
      '',
    ].join('\n'),
  );
  const init = await setUpPitrRepository({ dir, configFile }, server, PASSWORD, [
    '    rpo: 1h',
    '    recent_data: { table: events, column: at }',
    `    smoke: sh ${dir}/smoke.sh`,
    '    pitr:',
    '      wal: archive',
    `      spool_dir: ${dir}/spool`,
    'jobs:',
    '  drill-db:',
    '    drill: { sources: [db] }',
  ]);
  expect(init.code, init.stderr).toBe(0);
  server.psql('CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  for (let i = 0; i < 5; i++) server.psql('INSERT INTO events DEFAULT VALUES');
  const base = await lb(['base-backup', '--source', 'db']);
  expect(base.code, base.stderr).toBe(0);
  for (let i = 0; i < 20; i++) server.psql('INSERT INTO events DEFAULT VALUES');
  await archiveCurrent();
}, 600_000);

afterAll(async () => {
  await server?.stop();
  await cleanup?.();
});

describe('postgres drills into throwaway servers', () => {
  it('a point-in-time drill runs the recorded checks and the smoke command on the recovered server and stores its report', async () => {
    const r = await lb(['--json', 'drill', '--source', 'db']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const [d, more] = drills(r.stdout);
    expect(more).toBeUndefined(); // no logical dump yet: the point in time only
    expect(d).toMatchObject({ pitr: true, verdict: 'PASS', reasons: [], isolation: { server: 'throwaway' } });
    expect(d!.pointInTime!.reached).toBe(true);
    expect(d!.checks.map((c) => [c.name, c.ok])).toEqual([
      ['recovery target', true],
      ['system identifier', true],
      ['major version', true],
      ['timeline', true],
      ['recent data', true],
    ]);
    expect(d!.checks[1]!.actual).toBe(server.psql('SELECT system_identifier FROM pg_control_system()'));
    expect(d!.rpo.basis).toBe('now minus the newest archived WAL');
    expect(d!.smoke).toMatchObject({ ok: true, exitCode: 0 });
    expect(d!.object).toMatch(/^drill\//);
    // The smoke command counted exactly the rows committed by the point the drill chose.
    const committed = server.psql(
      `SELECT count(*) FROM events WHERE pg_xact_commit_timestamp(xmin) <= '${d!.pointInTime!.pointAt}'`,
    );
    expect(await readFile(path.join(dir, `count-${d!.snapshot.id}`), 'utf8')).toBe(`${committed}\n`);
    expect(productionDrillDatabases()).toBe('');

    const list = await lb(['--json', 'drill', '--list']);
    expect(list.code, list.stderr).toBe(0);
    const summary = jsonLines(list.stdout).find((l) => l.type === 'summary') as { drills: DrillLine[] };
    expect(summary.drills).toEqual([expect.objectContaining({ object: d!.object, verdict: 'PASS' })]);
    expect(summary.drills[0]!.pointInTime).toEqual(d!.pointInTime);
  }, 900_000);

  it('a failing smoke command fails the point-in-time drill: exit code 1 and the stored report says why', async () => {
    await writeFile(path.join(dir, 'fail-smoke'), '');
    try {
      const r = await lb(['--json', 'drill', '--source', 'db']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
      const [d] = drills(r.stdout);
      expect(d).toMatchObject({ pitr: true, verdict: 'FAIL', smoke: { ok: false, exitCode: 1 } });
      expect(d!.reasons).toEqual([expect.stringMatching(/^smoke command failed \(exit 1\)/)]);
      const list = await lb(['--json', 'drill', '--list']);
      const summary = jsonLines(list.stdout).find((l) => l.type === 'summary') as { drills: DrillLine[] };
      expect(summary.drills.map((x) => x.verdict)).toEqual(['FAIL', 'PASS']);
    } finally {
      await rm(path.join(dir, 'fail-smoke'));
    }
  }, 900_000);

  it("a job's drill step runs the point-in-time drill and records it with the job's name", async () => {
    const r = await lb(['run', 'drill-db']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const list = await lb(['--json', 'drill', '--list']);
    const summary = jsonLines(list.stdout).find((l) => l.type === 'summary') as { drills: DrillLine[] };
    expect(summary.drills[0]).toMatchObject({ job: 'drill-db', verdict: 'PASS' });
    expect(summary.drills[0]!.pointInTime?.reached).toBe(true);
  }, 900_000);

  it('a drill of the logical dump restores into a throwaway server, never into the production server', async () => {
    const backup = await lb(['--json', 'backup', '--source', 'db']);
    expect(backup.code, `${backup.stdout}\n${backup.stderr}`).toBe(0);
    const r = await lb(['--json', 'drill', '--source', 'db']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const logical = drills(r.stdout).find((d) => !d.pitr);
    expect(logical).toMatchObject({ verdict: 'PASS', isolation: { server: 'throwaway' }, smoke: { ok: true } });
    expect(logical!.isolation!.detail).toContain(PG_BIN);
    expect(logical!.restoredTo).toMatch(/^postgres:\/\/postgres@%2F.*\/lifeboat_drill_[0-9a-f]{12}$/);
    expect(await readFile(path.join(dir, `count-${logical!.snapshot.id}`), 'utf8')).toBe(
      `${server.psql('SELECT count(*) FROM events')}\n`,
    );
    expect(productionDrillDatabases()).toBe('');
    expect(existsSync(path.join(dir, 'fail-smoke'))).toBe(false);
  }, 900_000);
});
