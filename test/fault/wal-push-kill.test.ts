import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { freePort } from '../helpers/servers/free-port.js';

/**
 * kill -9 of `wal-push` (sync and `--async`) while it copies a segment, and of
 * `wal drain` while it uploads: nothing acknowledged before is lost, the next
 * push or drain succeeds, every WAL file the repository holds has the SHA-256
 * of its source (never a truncated copy), a drained name is stored exactly
 * once, and spool entries go only once their snapshot is saved; the same for
 * `lifeboat serve` killed while it drains. Segments are 64 MiB of random
 * bytes so that the copy lasts long enough to be caught in the middle.
 */
let dir: string;
let cleanup: () => Promise<void>;
const PASSWORD = 'wal kill test password, long enough';
const SIZE = 64 * 1024 * 1024;
const env = () => cliEnvFor(path.join(dir, 'cache'), PASSWORD);
const lb = (args: string[]) =>
  runCli(['--config', path.join(dir, 'lifeboat.yaml'), ...args], { env: env(), timeoutMs: 600_000 });
const start = (args: string[]) => startCli(['--config', path.join(dir, 'lifeboat.yaml'), ...args], { env: env() });
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const spool = () => path.join(dir, 'spool');
const sources = new Map<string, string>();

async function segment(name: string): Promise<string> {
  const file = path.join(dir, 'pg_wal', name);
  const bytes = randomBytes(SIZE);
  await writeFile(file, bytes);
  sources.set(name, sha(bytes));
  return file;
}

/** How far `pid` has read `file` through an open descriptor (undefined while it has none open). */
function readPosition(pid: number, file: string): number | undefined {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== file) continue;
      const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (pos) return Number(pos[1]);
    }
  } catch {
    // The process exited, or closed the descriptor between the two reads.
  }
  return undefined;
}

/** SIGKILL `child` as soon as `when` holds; fails when the child exits first (it finished before it could be caught). */
async function killWhen(child: ChildProcess, when: () => boolean, what: string): Promise<void> {
  let exited = false;
  const gone = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  // Generous: the machine is shared, and starting Node and opening the repository can take seconds.
  const deadline = Date.now() + 300_000;
  while (!exited && !when()) {
    if (Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  expect(exited, `the process ended before ${what}`).toBe(false);
  child.kill('SIGKILL');
  await gone;
}

/** How many times each WAL name is stored across the repository's WAL snapshots. */
async function storedCounts(): Promise<Map<string, number>> {
  const r = await lb(['--json', 'snapshots']);
  expect(r.code, r.stderr).toBe(0);
  const { snapshots } = JSON.parse(r.stdout) as { snapshots: Array<{ source: string; paths: string[] }> };
  const counts = new Map<string, number>();
  for (const s of snapshots.filter((x) => x.source === 'db:pitr-wal'))
    for (const p of s.paths) counts.set(path.basename(p), (counts.get(path.basename(p)) ?? 0) + 1);
  return counts;
}

/** Every stored WAL file reads back with its source's SHA-256. */
async function expectStoredIntact(): Promise<Map<string, number>> {
  const counts = await storedCounts();
  for (const name of counts.keys()) {
    const out = path.join(dir, `fetched-${name}`);
    const r = await lb(['wal-fetch', '--source', 'db', name, out]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(await readFile(out)), name).toBe(sources.get(name));
  }
  return counts;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-wal-kill-'));
  await writeFile(
    path.join(dir, 'lifeboat.yaml'),
    `version: 1\nstate_dir: ${dir}/state\nrepositories:\n  main:\n    url: ${dir}/repo\nsources:\n  db:\n    type: postgres\n    url: postgres://postgres@127.0.0.1:1/postgres\n    pitr:\n      wal: archive\n      spool_dir: ${dir}/spool\n`,
  );
  await mkdir(path.join(dir, 'pg_wal'));
  const init = await lb(['init', '--repo', 'main']);
  expect(init.code, init.stderr).toBe(0);
}, 120_000);

afterAll(async () => cleanup?.());

describe('kill -9 of WAL archiving', () => {
  it('sync wal-push killed while it reads a segment: nothing stored half, the next push stores it whole', async () => {
    const acked = await segment('000000010000000000000001');
    expect((await lb(['wal-push', '--source', 'db', acked])).code).toBe(0);
    const file = await segment('000000010000000000000002');
    const child = start(['wal-push', '--source', 'db', file]);
    await killWhen(
      child,
      () => {
        const pos = readPosition(child.pid!, file);
        return pos !== undefined && pos > 0 && pos < SIZE;
      },
      'the segment half read',
    );
    const afterKill = await expectStoredIntact();
    expect(afterKill.get('000000010000000000000001')).toBe(1);
    expect(afterKill.has('000000010000000000000002')).toBe(false);
    const again = await lb(['wal-push', '--source', 'db', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/archived in/);
    expect((await expectStoredIntact()).get('000000010000000000000002')).toBe(1);
  }, 900_000);

  it('wal-push --async killed while it spools: no segment under its name half copied, the next push spools it', async () => {
    const acked = await segment('000000010000000000000003');
    expect((await lb(['wal-push', '--async', '--source', 'db', acked])).code).toBe(0);
    const file = await segment('000000010000000000000004');
    const temp = path.join(spool(), '000000010000000000000004.tmp');
    const child = start(['wal-push', '--async', '--source', 'db', file]);
    await killWhen(child, () => existsSync(temp), 'the temporary copy in the spool');
    const final = path.join(spool(), '000000010000000000000004');
    // Killed before it answered: the name is either absent or complete (the rename comes after the fsync).
    if (existsSync(final)) expect(sha(await readFile(final))).toBe(sources.get('000000010000000000000004'));
    expect(sha(await readFile(path.join(spool(), '000000010000000000000003')))).toBe(
      sources.get('000000010000000000000003'),
    );
    const again = await lb(['wal-push', '--async', '--source', 'db', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(sha(await readFile(final))).toBe(sources.get('000000010000000000000004'));
  }, 900_000);

  it('wal drain killed while it uploads: the spool is kept, the next drain stores every segment exactly once', async () => {
    for (const n of ['000000010000000000000005', '000000010000000000000006'])
      expect((await lb(['wal-push', '--async', '--source', 'db', await segment(n)])).code).toBe(0);
    const spooled = (await readdir(spool())).filter((n) => !n.endsWith('.tmp')).sort();
    expect(spooled).toEqual([
      '000000010000000000000003',
      '000000010000000000000004',
      '000000010000000000000005',
      '000000010000000000000006',
    ]);
    const child = start(['wal', 'drain', '--source', 'db']);
    await killWhen(
      child,
      () => spooled.some((n) => (readPosition(child.pid!, path.join(spool(), n)) ?? 0) > 0),
      'the drain reading a spooled segment',
    );
    // Killed before its snapshot was saved: every spooled segment is still there, none is stored.
    expect((await readdir(spool())).filter((n) => !n.endsWith('.tmp')).sort()).toEqual(spooled);
    const afterKill = await expectStoredIntact();
    for (const n of spooled) expect(afterKill.has(n), n).toBe(false);

    const drain = await lb(['--json', 'wal', 'drain', '--source', 'db']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(JSON.parse(drain.stdout.trim().split('\n').pop()!)).toMatchObject({ stored: 4, alreadyArchived: 0 });
    expect((await readdir(spool())).filter((n) => !n.endsWith('.tmp'))).toEqual([]);
    const counts = await expectStoredIntact();
    for (const n of spooled) expect(counts.get(n), n).toBe(1);
    const check = await lb(['check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 900_000);

  it('the daemon killed while it drains: the spool is kept, the next drain stores every segment exactly once', async () => {
    const names = ['000000010000000000000007', '000000010000000000000008'];
    for (const n of names) expect((await lb(['wal-push', '--async', '--source', 'db', await segment(n)])).code).toBe(0);
    const daemon = start(['serve', '--listen', `127.0.0.1:${await freePort()}`]);
    let log = '';
    daemon.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await killWhen(
      daemon,
      () => names.some((n) => (readPosition(daemon.pid!, path.join(spool(), n)) ?? 0) > 0),
      'the daemon reading a spooled segment',
    );
    expect((await readdir(spool())).filter((n) => !n.endsWith('.tmp')).sort(), log).toEqual(names);
    const afterKill = await expectStoredIntact();
    for (const n of names) expect(afterKill.has(n), n).toBe(false);
    const drain = await lb(['--json', 'wal', 'drain', '--source', 'db']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(JSON.parse(drain.stdout.trim().split('\n').pop()!)).toMatchObject({ stored: 2, alreadyArchived: 0 });
    const counts = await expectStoredIntact();
    for (const n of names) expect(counts.get(n), n).toBe(1);
  }, 900_000);
});
