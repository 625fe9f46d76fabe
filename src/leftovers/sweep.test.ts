import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ledger } from './ledger.js';
import { processRuns, procStat } from './owner.js';
import { sourceRemovers } from '../sources/leftover-removers.js';
import { sweepLeftovers } from './sweep.js';
import { ownedTempDir } from './temp-dir.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'leave-behind.ts');

let dir: string;
let ledgerDir: string;
let tempBase: string;
let elsewhere: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sweep-test-'));
  ledgerDir = path.join(dir, 'ledger');
  tempBase = path.join(dir, 'tmp');
  elsewhere = path.join(dir, 'elsewhere');
  await mkdir(tempBase);
  await mkdir(elsewhere);
});
/** Children of killed makers, stopped here when a test failed before its sweep did. */
const made: Array<{ pid: number; start: number }> = [];
afterEach(async () => {
  for (const p of made.splice(0)) if (processRuns(p.pid, p.start)) process.kill(p.pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Run the leave-behind script, wait for what it made, and kill -9 it (only it: its children stay). */
async function killedMaker(): Promise<{ run: string; near: string; pids: number[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ledgerDir, elsewhere], {
    env: { ...process.env, TMPDIR: tempBase },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!.setEncoding('utf8'), 'data')) as [string];
  const result = JSON.parse(line) as { run: string; near: string; pids: number[] };
  for (const pid of result.pids) made.push({ pid, start: procStat(pid)!.start });
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  return result;
}

const sweep = (dryRun = false) =>
  sweepLeftovers({ ledgers: [ledgerDir], tempBases: [tempBase], removers: sourceRemovers, dryRun });

describe('sweepLeftovers after kill -9', () => {
  it('stops the children and removes the directories a killed process left, and only those', async () => {
    const left = await killedMaker();
    const starts = left.pids.map((pid) => procStat(pid)!.start);
    expect(left.pids.map((pid, i) => processRuns(pid, starts[i]!))).toEqual([true, true]);
    expect([existsSync(left.run), existsSync(left.near)]).toEqual([true, true]);
    // A live process's run directory and record in the same places: never touched.
    const mine = await ownedTempDir(tempBase, 'lifeboat-verify-');
    await new Ledger(ledgerDir).add({ kind: 'directory', path: path.join(elsewhere, '.lifeboat-measure-live01') });
    await mkdir(path.join(elsewhere, '.lifeboat-measure-live01'));
    // A directory without an owner file is not a run directory: left alone.
    await mkdir(path.join(tempBase, 'lifeboat-verify-nofile'));

    const dry = await sweep(true);
    expect(dry.removed.map((r) => r.kind).sort()).toEqual(['directory', 'directory', 'process', 'process']);
    expect(left.pids.map((pid, i) => processRuns(pid, starts[i]!))).toEqual([true, true]);
    expect([existsSync(left.run), existsSync(left.near)]).toEqual([true, true]);

    const report = await sweep();
    expect(report.removed.map((r) => r.what).sort()).toEqual(
      [
        `directory ${left.near}`,
        `directory ${left.run}`,
        `sleep (grouped) process ${left.pids[0]}`,
        `sleep process ${left.pids[1]}`,
      ].sort(),
    );
    expect(report).toMatchObject({ kept: [], waiting: [], live: 2, foreign: 0, unreadable: [] });
    expect(left.pids.map((pid, i) => processRuns(pid, starts[i]!))).toEqual([false, false]);
    expect([existsSync(left.run), existsSync(left.near)]).toEqual([false, false]);
    expect([
      existsSync(mine.path),
      existsSync(path.join(elsewhere, '.lifeboat-measure-live01')),
      existsSync(path.join(tempBase, 'lifeboat-verify-nofile')),
    ]).toEqual([true, true, true]);
    // Only the live process's record is left in the ledger.
    expect((await new Ledger(ledgerDir).list()).records.map((r) => r.resource)).toEqual([
      { kind: 'directory', path: path.join(elsewhere, '.lifeboat-measure-live01') },
    ]);
    expect(await sweep()).toMatchObject({ removed: [], kept: [], cleared: 0, live: 2 });
    await mine.dispose();
  }, 30_000);
});

describe('sweepLeftovers decisions', () => {
  /** A record as a process that has ended would have left it. */
  async function deadRecord(resource: Parameters<Ledger['add']>[0], source: string | null = null): Promise<string> {
    const done = spawn('true');
    await once(done, 'exit');
    const ledger = new Ledger(ledgerDir);
    const record = await ledger.add(resource, { source });
    await ledger.update({ ...record, owner: { ...record.owner, pid: done.pid!, start: 1 } }, resource);
    return path.join(ledgerDir, `${record.id}.json`);
  }

  it('keeps a database whose source is not configured, with the command that drops it by hand', async () => {
    const file = await deadRecord(
      {
        kind: 'database',
        engine: 'postgres',
        database: 'lifeboat_drill_0123456789ab',
        server: { host: '127.0.0.1', port: 5432, user: 'backup' },
      },
      'main-pg',
    );
    const report = await sweep();
    expect(report.kept).toHaveLength(1);
    expect(report.kept[0]).toMatchObject({
      what: 'PostgreSQL database lifeboat_drill_0123456789ab on 127.0.0.1:5432',
      source: 'main-pg',
      record: file,
    });
    expect(report.kept[0]!.why).toMatch(/no postgres source named "main-pg" is configured/);
    expect(report.kept[0]!.hint).toBe(
      `psql -h 127.0.0.1 -p 5432 -U backup -d postgres -c 'DROP DATABASE IF EXISTS "lifeboat_drill_0123456789ab" WITH (FORCE)'`,
    );
    expect(existsSync(file)).toBe(true);
  });

  it('never deletes a snapshot it was not told the name of: reports candidates, waits, then clears', async () => {
    const dataDir = path.join(dir, 'prom');
    await mkdir(path.join(dataDir, 'snapshots', '20300101T120005Z-0123456789abcdef'), { recursive: true });
    await mkdir(path.join(dataDir, 'snapshots', '20300101T090000Z-0123456789abcdef'));
    const resource = {
      kind: 'tsdb-snapshot',
      engine: 'prometheus',
      url: 'http://127.0.0.1:9090',
      dataDir,
      snapshot: null,
      requestedAt: '2030-01-01T12:00:04.500Z',
    } as const;
    await deadRecord(resource);
    const at = (iso: string) =>
      sweepLeftovers({ ledgers: [ledgerDir], tempBases: [], removers: sourceRemovers, now: () => Date.parse(iso) });
    const report = await at('2030-01-01T12:00:30Z');
    expect(report.kept.map((k) => [k.why, k.hint])).toEqual([
      [
        'the process died before the server named the snapshot; 20300101T120005Z-0123456789abcdef was made then and may be its',
        `if no other tool made it: rm -rf ${path.join(dataDir, 'snapshots', '20300101T120005Z-0123456789abcdef')}`,
      ],
    ]);
    expect(await readdir(path.join(dataDir, 'snapshots'))).toHaveLength(2);
    await rm(path.join(dataDir, 'snapshots', '20300101T120005Z-0123456789abcdef'), { recursive: true });
    expect((await at('2030-01-01T12:01:00Z')).waiting.map((w) => w.why)).toEqual([
      'the server may still be making the snapshot',
    ]);
    expect(await at('2030-01-01T12:20:00Z')).toMatchObject({ kept: [], waiting: [], cleared: 1 });
    expect((await new Ledger(ledgerDir).list()).records).toEqual([]);
  });

  it('reports files in the ledger that are not records, and removes temporaries of killed writers', async () => {
    await mkdir(ledgerDir, { recursive: true });
    const { writeFile, utimes } = await import('node:fs/promises');
    await writeFile(
      path.join(ledgerDir, 'directory-0011223344556677.json'),
      '{"format":1,"id":"directory-0011223344556677","resource":{"kind":"directory","path":"/etc"}}',
    );
    await writeFile(path.join(ledgerDir, '.tmp-0011223344556677'), '{"format":1');
    await utimes(
      path.join(ledgerDir, '.tmp-0011223344556677'),
      new Date(Date.now() - 120_000),
      new Date(Date.now() - 120_000),
    );
    const report = await sweep();
    expect(report.unreadable.map((u) => u.file)).toEqual([path.join(ledgerDir, 'directory-0011223344556677.json')]);
    expect(await readdir(ledgerDir)).toEqual(['directory-0011223344556677.json']);
    expect(existsSync('/etc')).toBe(true);
  });
});
