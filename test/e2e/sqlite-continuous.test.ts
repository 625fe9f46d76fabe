import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lastJson, runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, prng, testSeed } from '../helpers/e2e.js';
import { committedAt, readCommitLog, startSequenceWriter } from '../helpers/sequence-writer.js';

/**
 * Continuous protection of a SQLite database through the built CLI, with real
 * processes: an application writing about 1,000 transactions a second (its own
 * checkpoints and a VACUUM), `lifeboat replicate` in another process, killed
 * with SIGKILL at random moments and started again, and restores to random
 * points in time checked against the writer's own commit log.
 *
 * Time bounds are generous on purpose: the machine running the tests is shared
 * and busy, so the observation delay of a commit (poll period plus scheduling)
 * is allowed up to OBSERVATION_SLACK_MS; the strict side of every check (no
 * transaction committed after the point, no gap) has no slack at all.
 */
const OBSERVATION_SLACK_MS = 4000;
const WRITE_SECONDS = 60;

describe('sqlite continuous protection (real writer, real replicator processes)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let db: string;
  let commitLog: string;
  const env = () => cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: path.join(dir, 'state') });
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: env(), timeoutMs: 300_000 });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
  const children: ChildProcess[] = [];

  function startReplicator(): { child: ChildProcess; stderr: () => string } {
    const child = startCli(['--config', config, 'replicate', '--source', 'app'], { env: env() });
    children.push(child);
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.resume();
    return { child, stderr: () => err };
  }

  async function waitFor(what: string, test: () => boolean, ms = 60_000): Promise<void> {
    const until = Date.now() + ms;
    while (!test()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function restoreAt(
    at: number | undefined,
    name: string,
  ): Promise<{ seqs: number[]; summary: Record<string, unknown> }> {
    const file = path.join(dir, name);
    const args = ['--json', 'restore', 'latest', '--source', 'app', '--to-file', file];
    if (at !== undefined) args.push('--to-time', new Date(at).toISOString());
    const r = await lb(args);
    expect(r.code, show(r)).toBe(0);
    const summary = lastJson(r.stdout);
    const conn = new Database(file, { readonly: true });
    try {
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
      const seqs = (conn.prepare('SELECT n FROM seq ORDER BY n').all() as Array<{ n: number }>).map((x) => x.n);
      return { seqs, summary };
    } finally {
      conn.close();
    }
  }

  /** Rows 1..max with no gap and no duplicate (n is the primary key, so a duplicate cannot be stored twice; a gap shows as count < max). */
  function expectPrefix(seqs: number[]): number {
    const max = seqs.at(-1) ?? 0;
    expect(seqs.length).toBe(max);
    if (max) expect(seqs[0]).toBe(1);
    return max;
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-wal-'));
    db = path.join(dir, 'app.db');
    commitLog = path.join(dir, 'commits.log');
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  app: { type: sqlite, path: app.db, rpo: 1m, continuous: { interval: 1s, snapshot_every: 6h, retention: 24h } }
`,
    );
    expect((await lb(['init', '--repo', 'local'])).code).toBe(0);
    const init = new Database(db);
    init.pragma('journal_mode = WAL');
    init.exec('CREATE TABLE seq (n INTEGER PRIMARY KEY, at INTEGER NOT NULL, pad TEXT NOT NULL)');
    init.close();
  });

  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.length = 0;
    await cleanup();
  });

  it(`${WRITE_SECONDS} s at ~1,000 tx/s with checkpoints, a VACUUM and two SIGKILLs of the replicator: every restore point is exactly the committed prefix`, async () => {
    const rng = prng(testSeed());
    let rep = startReplicator();
    await waitFor('the first full copy', () => /replicating app/.test(rep.stderr()));
    const writer = startSequenceWriter({
      file: db,
      logFile: commitLog,
      ratePerSecond: 1000,
      seconds: WRITE_SECONDS,
      vacuumAt: WRITE_SECONDS / 2,
    });
    const started = Date.now();
    // Down from the kill until the restarted replicator has had time to resume or copy.
    const downtimes: Array<[number, number]> = [];
    for (const fraction of [0.25 + rng() * 0.2, 0.6 + rng() * 0.2]) {
      const killAt = started + fraction * WRITE_SECONDS * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, killAt - Date.now())));
      const killed = Date.now();
      rep.child.kill('SIGKILL');
      await once(rep.child, 'exit');
      rep = startReplicator();
      await waitFor('the restarted replicator', () => /resuming generation|new generation/.test(rep.stderr()));
      downtimes.push([killed, Date.now() + 1000]);
    }
    const last = await writer.done;
    // Let the replicator read the last commits, then stop it: it ships what is committed and exits 0.
    await new Promise((r) => setTimeout(r, 1500));
    rep.child.kill('SIGTERM');
    const [code] = (await once(rep.child, 'exit')) as [number | null];
    expect(code, rep.stderr()).toBe(0);

    const log = readCommitLog(commitLog);
    expect(log.at(-1)!.n).toBe(last);
    expect(last).toBeGreaterThan(WRITE_SECONDS * 300); // about 1,000/s asked; a busy machine may give less

    const newest = await restoreAt(undefined, 'newest.db');
    expect(expectPrefix(newest.seqs)).toBe(last);

    // Ten random points in the run, away from the downtimes (while no replicator runs no commit can be timed).
    const points: number[] = [];
    while (points.length < 10) {
      const t = started + 2000 + rng() * (log.at(-1)!.at - started - 2000);
      if (downtimes.some(([a, b]) => t >= a && t - OBSERVATION_SLACK_MS <= b)) continue;
      points.push(Math.round(t));
    }
    for (const [i, t] of points.entries()) {
      const got = await restoreAt(t, `at-${i}.db`);
      const max = expectPrefix(got.seqs);
      // Never a transaction committed after the point; at least everything committed a little before it.
      expect(max, `point ${new Date(t).toISOString()}`).toBeLessThanOrEqual(committedAt(log, t));
      expect(max, `point ${new Date(t).toISOString()}`).toBeGreaterThanOrEqual(
        committedAt(log, t - OBSERVATION_SLACK_MS),
      );
      expect(Date.parse(String(got.summary.committedAt))).toBeLessThanOrEqual(t);
    }
    // 20 minutes: 60 s of writing plus eleven CLI restores, each replaying up to
    // 60,000 transactions, on a shared 2-core machine whose load varies widely;
    // the bound is there only to stop a hang, not to time anything.
  }, 1_200_000);

  it('a second replicator for the same source refuses (locked, exit 11); --list, check and forget --dry-run see the stream', async () => {
    const rep = startReplicator();
    await waitFor('the first full copy', () => /new generation/.test(rep.stderr()));
    const second = await lb(['replicate', '--source', 'app']);
    expect(second.code, show(second)).toBe(11);
    expect(second.stderr).toMatch(/the stream of source "app" is already being replicated by pid \d+/);
    expect(second.stderr).toMatch(/hint: run one replicator per source/);

    const listed = await lb(['--json', 'replicate', '--list']);
    expect(listed.code, show(listed)).toBe(0);
    const stream = JSON.parse(listed.stdout.trim().split('\n')[0]!) as Record<string, unknown>;
    expect(stream).toMatchObject({ type: 'stream', source: 'app', configured: true, orphan: false, generations: 1 });
    const checked = await lb(['check']);
    expect(checked.code, show(checked)).toBe(0);
    expect(checked.stdout).toMatch(/no errors found: .*1 continuous streams/);
    const forgot = await lb(['forget', '--dry-run', '--keep-last', '1']);
    expect(forgot.stderr + forgot.stdout).toMatch(/stream of app: keep every point of the last 1d/);

    rep.child.kill('SIGTERM');
    const [code] = (await once(rep.child, 'exit')) as [number | null];
    expect(code, rep.stderr()).toBe(0);
    // The stream goes along with `copy`, re-sealed for the other repository, and restores from there.
    const other = path.join(dir, 'other-repo');
    const toEnv = { ...env(), LIFEBOAT_PASSWORD: 'another passphrase', LIFEBOAT_TO_PASSWORD: 'another passphrase' };
    const made = await runCli(['init', '--repo', other], { env: toEnv });
    expect(made.code, show(made)).toBe(0);
    const copied = await runCli(['--config', config, 'copy', '--to', other], { env: toEnv });
    expect(copied.stdout, show(copied)).toMatch(/copied the continuous stream of app: \d+ objects/);
    const fromOther = await runCli(
      [
        '--config',
        config,
        '--repo',
        other,
        'restore',
        'latest',
        '--source',
        'app',
        '--to-file',
        path.join(dir, 'o.db'),
      ],
      { env: toEnv },
    );
    expect(fromOther.code, show(fromOther)).toBe(0);

    // Stopped, it gave the lease up: a replicator starts at once.
    const again = startReplicator();
    await waitFor('the replicator after the first stopped', () =>
      /resuming generation|new generation/.test(again.stderr()),
    );
  });

  it('a writer killed in the middle of a large transaction: the restore holds only what was committed', async () => {
    const rep = startReplicator();
    await waitFor('the first full copy', () => /replicating app/.test(rep.stderr()));
    const writer = startSequenceWriter({
      file: db,
      logFile: commitLog,
      ratePerSecond: 500,
      seconds: 3,
      crashInBigTransaction: true,
    });
    await waitFor('the open transaction', () => writer.output().includes('in-transaction'), 120_000);
    const committed = Number(/committed (\d+)/.exec(writer.output())![1]);
    // The uncommitted transaction's pages are in the log already (a tiny page cache spills them).
    expect(readFileSync(db + '-wal').length).toBeGreaterThan(1024 * 1024);
    writer.child.kill('SIGKILL');
    await once(writer.child, 'exit');
    await new Promise((r) => setTimeout(r, 2500));
    rep.child.kill('SIGTERM');
    expect((await once(rep.child, 'exit'))[0], rep.stderr()).toBe(0);
    const newest = await restoreAt(undefined, 'after-crash.db');
    expect(expectPrefix(newest.seqs)).toBe(committed);
    // The drill of a continuous source restores a random point of the stream and reports RPO from the newest shipped transaction.
    const drill = await lb(['--json', 'drill', '--source', 'app']);
    expect(drill.code, show(drill)).toBe(0);
    const d = JSON.parse(drill.stdout.split('\n').find((l) => l.includes('"continuous":true'))!) as {
      verdict: string;
      integrity: string;
      rpo: { measuredSeconds: number; targetSeconds: number };
    };
    expect(d).toMatchObject({ verdict: 'PASS', integrity: 'ok', rpo: { targetSeconds: 60 } });
    expect(d.rpo.measuredSeconds).toBeLessThan(60);
  }, 300_000);

  it('a database replaced by another (VACUUM INTO and a rename) starts a new generation; restores on both sides are right', async () => {
    const rep = startReplicator();
    await waitFor('the first full copy', () => /replicating app/.test(rep.stderr()));
    const first = startSequenceWriter({ file: db, logFile: commitLog, ratePerSecond: 200, seconds: 3 });
    const before = await first.done;
    await new Promise((r) => setTimeout(r, 4000));
    const replacedAt = Date.now();
    // Restored by hand: a copy holding only the first 100 rows, renamed over the live file.
    const other = path.join(dir, 'other.db');
    const conn = new Database(db);
    conn.exec('DELETE FROM seq WHERE n > 100');
    conn.exec(`VACUUM INTO '${other}'`);
    conn.close();
    // The rows deleted above were replicated too: the point before the replacement is taken before the delete.
    renameSync(other, db);
    for (const s of ['-wal', '-shm']) if (existsSync(db + s)) rmSync(db + s);
    // The application opens the replaced file again (and puts it back in WAL mode: VACUUM INTO writes a rollback-journal database).
    const second = startSequenceWriter({
      file: db,
      logFile: commitLog,
      ratePerSecond: 200,
      seconds: 3,
      startAfter: 100,
    });
    await waitFor('a new generation', () => /new generation .*replaced/.test(rep.stderr()), 30_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${rep.stderr()}`);
      },
    );
    const after = await second.done;
    await new Promise((r) => setTimeout(r, 2000));
    rep.child.kill('SIGTERM');
    expect((await once(rep.child, 'exit'))[0], rep.stderr()).toBe(0);
    const log = readCommitLog(commitLog);
    const beforeDelete = log.filter((e) => e.n === before).at(-1)!.at + 3000;
    const old = await restoreAt(Math.min(beforeDelete, replacedAt - 1), 'before.db');
    expect(expectPrefix(old.seqs)).toBe(before);
    const newest = await restoreAt(undefined, 'newest.db');
    expect(expectPrefix(newest.seqs)).toBe(after);
  }, 300_000);
});
