import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAL_SPOOL_SCRIPT } from '../../src/cli/archive-command.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * `lifeboat-wal-spool SPOOL_DIR %p`, the sh archive_command: the same answers
 * as `wal-push --async` (identical content again → exit 0, different content →
 * exit 1 and the spooled file untouched, a name that is no WAL file refused),
 * a temporary file left by a killed run does not stop the next one, and what
 * it spools is what `wal drain` stores.
 */
let dir: string;
let cleanup: () => Promise<void>;
const PASSWORD = 'sh spooler test password, long enough';
const spool = () => path.join(dir, 'spool');
const spoolSh = (file: string, spoolDir = spool()) =>
  spawnSync(WAL_SPOOL_SCRIPT, [spoolDir, file], { encoding: 'utf8', cwd: dir });
const sha = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-spool-sh-'));
  await writeFile(
    path.join(dir, 'lifeboat.yaml'),
    `version: 1\nstate_dir: ${dir}/state\nrepositories:\n  main:\n    url: ${dir}/repo\nsources:\n  db:\n    type: postgres\n    url: postgres://postgres@127.0.0.1:1/postgres\n    pitr:\n      wal: archive\n      spool_dir: ${dir}/spool\n`,
  );
  await mkdir(path.join(dir, 'pg_wal'));
}, 60_000);

afterAll(async () => cleanup?.());

describe('lifeboat-wal-spool', () => {
  it('spools durably under the name, with the same answers as wal-push --async', async () => {
    const name = '000000010000000000000003';
    const file = path.join(dir, 'pg_wal', name);
    await writeFile(file, randomBytes(1024 * 1024));
    // %p is relative to the data directory, which is the archiver's working directory.
    const first = spoolSh(`pg_wal/${name}`);
    expect(first.status, first.stderr).toBe(0);
    expect(await readdir(spool())).toEqual([name]);
    expect(await sha(path.join(spool(), name))).toBe(await sha(file));
    expect((await stat(spool())).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(spool(), name))).mode & 0o077).toBe(0);

    // The same content again is acknowledged.
    expect(spoolSh(file).status).toBe(0);

    // Different content under a spooled name: exit 1, said on stderr, the spooled file unchanged.
    const before = await sha(path.join(spool(), name));
    await mkdir(path.join(dir, 'other'));
    const other = path.join(dir, 'other', name);
    await writeFile(other, randomBytes(1024 * 1024));
    const conflict = spoolSh(other);
    expect(conflict.status).toBe(1);
    expect(conflict.stderr).toMatch(/already in the spool .* different content; it is never overwritten/);
    expect(await sha(path.join(spool(), name))).toBe(before);
    expect(await readdir(spool())).toEqual([name]);
  });

  it('refuses what is not a WAL file name, a missing file and a wrong command line', async () => {
    await writeFile(path.join(dir, 'pg_wal', 'not-wal'), 'x');
    const bad = spoolSh(path.join(dir, 'pg_wal', 'not-wal'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/"not-wal" is not a WAL file name/);
    const lower = spoolSh(path.join(dir, 'pg_wal', '00000001000000000000000a'));
    expect(lower.status).toBe(1);
    const missing = spoolSh(path.join(dir, 'pg_wal', '000000010000000000000009'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/is not a file/);
    const usage = spawnSync(WAL_SPOOL_SCRIPT, [spool()], { encoding: 'utf8' });
    expect(usage.status).toBe(1);
    expect(usage.stderr).toMatch(/usage: lifeboat-wal-spool SPOOL_DIR WAL_PATH/);
    expect((await readdir(spool())).filter((n) => !n.startsWith('000000010000000000000003'))).toEqual([]);
  });

  it('a temporary file left by a killed run does not break the next run', async () => {
    const name = '000000010000000000000004';
    const file = path.join(dir, 'pg_wal', name);
    await writeFile(file, randomBytes(2 * 1024 * 1024));
    // What a run killed mid-copy leaves: a truncated NAME.tmp, no NAME.
    await writeFile(path.join(spool(), `${name}.tmp`), (await readFile(file)).subarray(0, 12345));
    const r = spoolSh(file);
    expect(r.status, r.stderr).toBe(0);
    expect(await sha(path.join(spool(), name))).toBe(await sha(file));
    expect((await readdir(spool())).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('history and backup label files are spooled, and the drain stores exactly what was spooled', async () => {
    const history = path.join(dir, 'pg_wal', '00000002.history');
    await writeFile(history, '1\t0/4000000\tno recovery target specified\n');
    expect(spoolSh(history).status).toBe(0);
    const label = path.join(dir, 'pg_wal', '000000010000000000000004.00000028.backup');
    await writeFile(label, 'START WAL LOCATION: 0/4000028\n');
    expect(spoolSh(label).status).toBe(0);
    const env = cliEnvFor(path.join(dir, 'cache'), PASSWORD);
    const lb = (args: string[]) => runCli(['--config', path.join(dir, 'lifeboat.yaml'), ...args], { env });
    expect((await lb(['init', '--repo', 'main'])).code).toBe(0);
    const drain = await lb(['--json', 'wal', 'drain', '--source', 'db']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(JSON.parse(drain.stdout.trim().split('\n').pop()!)).toMatchObject({ stored: 4 });
    expect(await readdir(spool())).toEqual([]);
    for (const n of ['000000010000000000000003', '000000010000000000000004', '00000002.history']) {
      const out = path.join(dir, `fetched-${n}`);
      const f = await lb(['wal-fetch', '--source', 'db', n, out]);
      expect(f.code, f.stderr).toBe(0);
      expect(await sha(out)).toBe(await sha(path.join(dir, 'pg_wal', n)));
    }
  }, 300_000);
});
