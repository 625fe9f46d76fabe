import {
  appendFileSync,
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import {
  cliEnvFor,
  compareTrees,
  jsonLines,
  prng,
  restoredPath,
  scanTree,
  seededBytes,
  seededText,
  testSeed,
  type EntryInfo,
} from '../helpers/e2e.js';
import { contentSha256, openRepo, snapshotNodes } from '../helpers/repo-lib.js';

/**
 * RELIABILITY: "kill -9 at random moments during many backups, then rerun: no
 * partial snapshot is listed, every listed one restores, the dead process's
 * lock is cleared without manual steps."
 *
 * A ~30 MB dataset (4 MB random, the rest compressible text, many small files)
 * changes between iterations. Each iteration starts a backup, SIGKILLs it after
 * a random delay, then reruns the backup to completion. The oracle is the
 * dataset's content at each iteration. Seeded: LIFEBOAT_TEST_SEED=<n> replays a run.
 */

const PW = 'kill nine password';
const ITERATIONS = 12;

interface Iteration {
  index: number;
  start: number;
  end: number;
  state: Map<string, EntryInfo>;
}

describe('kill -9 during backup', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-kill9-'));
  });
  afterAll(async () => cleanup());

  it('never lists a partial snapshot, never blocks on a dead lock, and restores', async () => {
    const seed = testSeed();
    console.log(`kill9 seed: ${seed} (replay with LIFEBOAT_TEST_SEED=${seed})`);
    try {
      await scenario(dir, seed);
    } catch (err) {
      if (err instanceof Error) err.message = `[kill9 seed ${seed}] ${err.message}`;
      throw err;
    }
  }, 170_000);
});

describe('SIGTERM during backup', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-sigterm-'));
  });
  afterAll(async () => cleanup());

  it('stops promptly and cleanly: exit 130, no snapshot, no lock left', async () => {
    const repo = path.join(dir, 'repo');
    const data = path.join(dir, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'small.txt'), 'small\n');
    // A large sparse file: reading it takes long (tens of seconds), so the signal arrives mid-file.
    closeSync(openSync(path.join(data, 'sparse.img'), 'w'));
    truncateSync(path.join(data, 'sparse.img'), 8 * 1024 ** 3);
    const env = cliEnvFor(path.join(dir, 'cache'), PW);
    const init = await runCli(['--repo', repo, 'init'], { env });
    expect(init.code, init.stderr).toBe(0);

    const child = startCli(['--repo', repo, 'backup', data], { env });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.resume();
    child.stdin!.end();
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const deadline = Date.now() + 15_000;
    while (lockObjects(repo).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lockObjects(repo).length, 'the backup never took its lock').toBe(1);
    await new Promise((r) => setTimeout(r, 1000)); // well into the big file
    const sent = Date.now();
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const result = await closed;
    clearTimeout(killer);
    const took = Date.now() - sent;
    expect(result.signal, `still running ${took} ms after SIGTERM (killed)\n${err}`).toBeNull();
    expect(result.code, err).toBe(130);
    expect(err).toMatch(/no snapshot was saved/);
    expect(lockObjects(repo)).toEqual([]);
    const list = await runCli(['--repo', repo, '--json', 'snapshots'], { env });
    expect((JSON.parse(list.stdout) as { snapshots: unknown[] }).snapshots).toEqual([]);
  }, 60_000);
});

async function scenario(dir: string, seed: number): Promise<void> {
  const rng = prng(seed);
  const data = path.join(dir, 'data');
  const repo = path.join(dir, 'repo');
  const env = cliEnvFor(path.join(dir, 'cache'), PW);
  const lb = (args: string[]): Promise<CliResult> => runCli(['--repo', repo, ...args], { env });
  const show = (r: CliResult) => `exit ${r.code} ${r.signal ?? ''}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  // ---- the dataset
  mkdirSync(path.join(data, 'rnd'), { recursive: true });
  mkdirSync(path.join(data, 'txt/deeper'), { recursive: true });
  mkdirSync(path.join(data, 'small'), { recursive: true });
  for (let i = 0; i < 4; i++)
    writeFileSync(path.join(data, 'rnd', `r${i}.bin`), seededBytes(rng, 700_000 + Math.floor(rng() * 600_000)));
  for (let i = 0; i < 13; i++)
    writeFileSync(path.join(data, i < 6 ? 'txt' : 'txt/deeper', `t${i}.txt`), seededText(rng, 2_000_000));
  for (let i = 0; i < 40; i++)
    writeFileSync(path.join(data, 'small', `s${i}.dat`), seededBytes(rng, 200 + Math.floor(rng() * 20_000)));
  writeFileSync(path.join(data, 'app.log'), 'log start\n');
  let nextSmall = 40;

  const mutate = () => {
    // A random file rewritten with new random content.
    writeFileSync(
      path.join(data, 'rnd', `r${Math.floor(rng() * 4)}.bin`),
      seededBytes(rng, 500_000 + Math.floor(rng() * 1_000_000)),
    );
    // A region in the middle of a text file overwritten (same size).
    const t = Math.floor(rng() * 13);
    const tf = path.join(data, t < 6 ? 'txt' : 'txt/deeper', `t${t}.txt`);
    const fd = openSync(tf, 'r+');
    writeSync(fd, seededBytes(rng, 64 * 1024), 0, 64 * 1024, Math.floor(rng() * (statSync(tf).size - 64 * 1024)));
    closeSync(fd);
    appendFileSync(path.join(data, 'app.log'), seededText(rng, 5000));
    // Small files come and go; one changes mode.
    const smalls = readdirSync(path.join(data, 'small'));
    rmSync(path.join(data, 'small', smalls[Math.floor(rng() * smalls.length)]!));
    writeFileSync(path.join(data, 'small', `s${nextSmall++}.dat`), seededBytes(rng, 100 + Math.floor(rng() * 50_000)));
    const left = readdirSync(path.join(data, 'small'));
    chmodSync(path.join(data, 'small', left[Math.floor(rng() * left.length)]!), rng() < 0.5 ? 0o600 : 0o644);
  };

  const init = await lb(['init']);
  expect(init.code, show(init)).toBe(0);

  const iterations: Iteration[] = [];
  const known = new Map<string, number>(); // snapshot id → iteration
  let kills = 0;
  let deadLocks = 0;
  let longestRun = 0; // ms, of any run that completed
  for (let i = 0; i < ITERATIONS; i++) {
    if (i > 0) mutate();
    const state = scanTree(data);
    const start = Date.now();

    // ---- the run that gets killed
    // Kill within the time a run actually takes (at most 1500 ms), so most kills land mid-run.
    const force = rng() < 0.5;
    const delay = Math.floor(rng() * Math.min(1500, longestRun || 1500));
    const child = startCli(['--repo', repo, '--json', 'backup', ...(force ? ['--force'] : []), data], { env });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin!.end();
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    const killed = await closed;
    clearTimeout(timer);
    if (!killed.signal) longestRun = Math.max(longestRun, Date.now() - start);
    if (killed.signal === 'SIGKILL') kills++;
    else
      expect(
        killed.code,
        `iteration ${i}: the run that was to be killed ended by itself with ${killed.code}\n${out}\n${err}`,
      ).toBe(0);
    for (const line of jsonLines(out)) if (line.type === 'summary') known.set((line.snapshot as { id: string }).id, i);

    // A kill while the lock was held leaves the lock object behind. Backups share locks, so only an
    // exclusive operation shows whether it still blocks: `key add` must get through at once.
    if (lockObjects(repo).length > 0) {
      deadLocks++;
      const exclusive = await runCli(['--repo', repo, 'key', 'add', '--label', `after kill ${i}`], {
        env: { ...env, LIFEBOAT_NEW_PASSWORD: `key ${i}` },
      });
      expect(
        exclusive.code,
        `iteration ${i}: the killed backup's lock blocks an exclusive operation\n${show(exclusive)}`,
      ).toBe(0);
      expect(lockObjects(repo), `iteration ${i}: the dead process's lock was not removed`).toEqual([]);
    }

    // ---- rerun right after the kill: must not be blocked by the dead process's lock
    const rerunStart = Date.now();
    const rerun = await lb(['--json', 'backup', data]);
    longestRun = Math.max(longestRun, Date.now() - rerunStart);
    expect(
      rerun.code,
      `iteration ${i} (killed after ${delay} ms${force ? ', --force' : ''}): rerun failed\n${show(rerun)}`,
    ).toBe(0);
    known.set(lastJson<{ snapshot: { id: string } }>(rerun.stdout).snapshot.id, i);
    iterations.push({ index: i, start, end: Date.now(), state });
  }
  console.log(
    `kill9: ${kills} of ${ITERATIONS} runs were killed before they exited, ${deadLocks} of them left their lock behind; ${known.size} snapshots known complete`,
  );

  // ---- every listed snapshot is complete and matches the data of its iteration
  const listed = await lb(['--json', 'snapshots']);
  expect(listed.code, show(listed)).toBe(0);
  const doc = JSON.parse(listed.stdout) as {
    snapshots: Array<{ id: string; time: string; tree: string }>;
    problems: unknown[];
  };
  expect(doc.problems).toEqual([]);
  for (const id of known.keys())
    expect(
      doc.snapshots.map((s) => s.id),
      `snapshot ${id} reported saved but not listed`,
    ).toContain(id);

  const lib = await openRepo(repo, PW);
  try {
    await lib.loadIndex();
    for (const s of doc.snapshots) {
      const t = Date.parse(s.time);
      const iter = known.has(s.id) ? iterations[known.get(s.id)!]! : iterations.find((x) => t >= x.start && t <= x.end);
      expect(iter, `snapshot ${s.id} (time ${s.time}) belongs to no iteration`).toBeDefined();
      const nodes = await snapshotNodes(lib, s);
      const files = new Map<string, string>();
      for (const [p, n] of nodes) {
        if (!p.startsWith(data + '/')) continue;
        if (n.type === 'file') {
          files.set(p.slice(data.length + 1), await contentSha256(lib, n));
          // Every chunk it references is in the index.
          for (const c of n.content ?? [])
            expect(
              lib.index.has(Buffer.from(c, 'hex')),
              `snapshot ${s.id.slice(0, 8)}: ${p} references chunk ${c.slice(0, 12)} that no index knows`,
            ).toBe(true);
        }
      }
      const expected = new Map([...iter!.state].filter(([, e]) => e.type === 'file').map(([p, e]) => [p, e.sha256!]));
      expect(
        Object.fromEntries(files),
        `snapshot ${s.id.slice(0, 8)} differs from the data of iteration ${iter!.index}`,
      ).toEqual(Object.fromEntries(expected));
    }
  } finally {
    await lib.close();
  }

  // ---- the whole repository reads back; only unindexed packs (leftovers of killed runs) may be warned about
  const check = await lb(['--json', 'check', '--read-data']);
  const report = lastJson<{ ok: boolean; findings: Array<{ severity: string; kind: string; message: string }> }>(
    check.stdout,
  );
  expect(
    report.findings.filter((f) => f.kind !== 'unindexed-pack'),
    show(check),
  ).toEqual([]);
  expect(check.code, show(check)).toBe(0);

  // ---- the last snapshot restores byte-identical (content, mode, mtime)
  const target = path.join(dir, 'restore');
  const restore = await lb(['restore', 'latest', '--target', target]);
  expect(restore.code, show(restore)).toBe(0);
  const last = iterations[iterations.length - 1]!;
  expect(compareTrees(last.state, scanTree(restoredPath(target, data)), { owners: process.getuid?.() === 0 })).toEqual(
    [],
  );

  // ---- an exclusive lock can be taken: no dead process's lock is left blocking; stale locks are gone after it
  const exclusive = await runCli(['--repo', repo, 'key', 'add'], {
    env: { ...env, LIFEBOAT_NEW_PASSWORD: 'second key' },
  });
  expect(exclusive.code, show(exclusive)).toBe(0);
  expect(lockObjects(repo)).toEqual([]);
}

/** Lock objects in a local repository (temporary files of interrupted writes are not objects). */
function lockObjects(repo: string): string[] {
  try {
    return readdirSync(path.join(repo, 'locks')).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}
