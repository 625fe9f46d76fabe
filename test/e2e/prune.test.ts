import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lastJson, runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, fileHashes, prng, restoredPath, seededBytes, testSeed } from '../helpers/e2e.js';
import { initRepo } from '../helpers/repo-lib.js';

/**
 * `lifeboat prune` as a user runs it: the plan with --dry-run, a mark that
 * waits out the grace period, a sweep with --grace 0, and kill -9 at random
 * moments of a prune (RELIABILITY: "kill -9 during prune at each phase: check
 * is clean, every kept snapshot restores, the next prune completes").
 */
const PW = 'prune e2e password';

let dir: string;
let cleanup: () => Promise<void>;
let repo: string;
let env: Record<string, string | undefined>;
const lb = (args: string[]): Promise<CliResult> => runCli(['--repo', repo, ...args], { env });
const show = (r: CliResult) => `exit ${r.code} ${r.signal ?? ''}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-prune-e2e-'));
  repo = path.join(dir, 'repo');
  env = cliEnvFor(path.join(dir, 'cache'), PW);
  // Small packs so that a few MB make many of them (the CLI has no pack-size flag).
  const r = await initRepo(repo, PW, { packSize: 64 * 1024, chunker: { min: 4096, avg: 16384, max: 65536 } });
  await r.close();
});
afterEach(async () => cleanup());

function dataset(name: string, rng: () => number, files: number, size: number): string {
  const root = path.join(dir, 'data', name);
  mkdirSync(root, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(path.join(root, `f${i}.bin`), seededBytes(rng, size));
  return root;
}

async function backup(root: string): Promise<string> {
  const r = await lb(['--json', 'backup', root]);
  expect(r.code, show(r)).toBe(0);
  return lastJson<{ snapshot: { id: string } }>(r.stdout).snapshot.id;
}

/** Names and sizes of every object except locks. */
function objects(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(repo, p)} ${statSync(p).size}`);
    }
  };
  walk(repo);
  return out.filter((n) => !n.startsWith('locks/')).sort();
}

const dataBytes = () =>
  objects()
    .filter((o) => o.startsWith('data/'))
    .reduce((n, o) => n + Number(o.split(' ')[1]), 0);

async function expectRestores(id: string, source: string): Promise<void> {
  const target = path.join(dir, `restore-${id.slice(0, 8)}-${Date.now()}`);
  const r = await lb(['restore', id, '--target', target]);
  expect(r.code, show(r)).toBe(0);
  expect(fileHashes(restoredPath(target, source))).toEqual(fileHashes(source));
  rmSync(target, { recursive: true, force: true });
}

async function expectCheckClean(allowWarnings: boolean): Promise<void> {
  const r = await lb(['--json', 'check', '--read-data']);
  expect(r.code, show(r)).toBe(0);
  const report = lastJson<{ ok: boolean; findings: Array<{ severity: string }> }>(r.stdout);
  expect(report.ok).toBe(true);
  if (!allowWarnings) expect(report.findings, show(r)).toEqual([]);
}

describe('lifeboat prune', () => {
  it('plans with --dry-run, marks first, and deletes once the grace period is over', async () => {
    const rng = prng(7);
    const a = dataset('a', rng, 8, 120_000);
    const b = dataset('b', rng, 8, 120_000);
    const gone = await backup(a);
    const kept = await backup(b);
    rmSync(path.join(repo, 'snapshots', gone));
    const before = objects();

    const dry = await lb(['--json', 'prune', '--dry-run', '--grace', '0']);
    expect(dry.code, show(dry)).toBe(0);
    const plan = lastJson<{ type: string; dryRun: boolean; marked: { unusedPacks: number; unusedBytes: number } }>(
      dry.stdout,
    );
    expect(plan).toMatchObject({ type: 'summary', dryRun: true });
    expect(plan.marked.unusedPacks).toBeGreaterThan(0);
    expect(objects()).toEqual(before);
    const text = await lb(['prune', '--dry-run']);
    expect(text.stdout).toMatch(/would mark \d+ unused packs/);
    expect(objects()).toEqual(before);

    const marked = await lb(['--json', 'prune']);
    expect(marked.code, show(marked)).toBe(0);
    const m = lastJson<{ marked: { record?: string }; swept: { deletedPacks: number; waitingRecords: number } }>(
      marked.stdout,
    );
    expect(m.marked.record).toMatch(/^prune\//);
    expect(m.swept).toMatchObject({ deletedPacks: 0, waitingRecords: 1 });
    const afterMark = dataBytes();

    const swept = await lb(['prune', '--grace', '0']);
    expect(swept.code, show(swept)).toBe(0);
    expect(swept.stdout).toMatch(/deleted [1-9]\d* packs/);
    expect(dataBytes()).toBeLessThan(afterMark * 0.6);
    await expectCheckClean(false);
    await expectRestores(kept, b);

    const bad = await lb(['prune', '--grace', 'soon']);
    expect(bad.code).toBe(2);
  }, 120_000);

  it('removes the temporaries of interrupted writes once they are an hour old, and reports them', async () => {
    await backup(dataset('a', prng(3), 2, 50_000));
    const stale = [
      path.join(repo, 'data', readdirSync(path.join(repo, 'data'))[0]!, '.tmp-0123456789abcdef'),
      path.join(repo, '.tmp-fedcba9876543210'),
    ];
    const young = path.join(repo, 'index', '.tmp-00112233aabbccdd');
    for (const [i, file] of [...stale, young].entries()) writeFileSync(file, Buffer.alloc(1000 * (i + 1)));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    for (const file of stale) utimesSync(file, twoHoursAgo, twoHoursAgo);

    const dry = await lb(['--json', 'prune', '--dry-run']);
    expect(dry.code, show(dry)).toBe(0);
    expect(lastJson<{ swept: { temporaries: unknown } }>(dry.stdout).swept.temporaries).toEqual({
      count: 2,
      bytes: 3000,
    });
    expect([...stale, young].map((f) => existsSync(f))).toEqual([true, true, true]);

    const text = await lb(['prune']);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toContain('removed 2 temporary files of interrupted writes (2.93 KiB)');
    expect([...stale, young].map((f) => existsSync(f))).toEqual([false, false, true]);
    await expectCheckClean(false);
  }, 60_000);

  it('survives kill -9 at random moments: check is clean, snapshots restore, the next prune completes', async () => {
    const seed = testSeed();
    const rng = prng(seed);
    const keep = new Map<string, string>(); // snapshot id → source directory
    let killed = 0;
    // Kill at a random moment within a window that shrinks whenever a prune finished first,
    // so enough kills land mid-prune however fast the machine is (at least 5 rounds, at most 10).
    let window = 1200;
    for (let round = 0; round < 10 && (round < 5 || killed < 2); round++) {
      // Garbage to reclaim: a forgotten snapshot, and a kept one sharing half its data (so packs get repacked).
      const full = dataset(`full${round}`, rng, 10, 150_000);
      const fullId = await backup(full);
      const half = path.join(dir, 'data', `half${round}`);
      mkdirSync(half);
      for (const f of readdirSync(full).filter((_, i) => i % 2 === 0))
        copyFileSync(path.join(full, f), path.join(half, f));
      keep.set(await backup(half), half);
      rmSync(path.join(repo, 'snapshots', fullId));

      const child = startCli(['--repo', repo, 'prune', '--grace', '0', '--max-unused', '10'], { env });
      child.stdout!.resume();
      child.stderr!.resume();
      child.stdin!.end();
      const closed = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('close', (_code, signal) => resolve(signal)),
      );
      await new Promise((r) => setTimeout(r, 100 + Math.floor(rng() * window)));
      child.kill('SIGKILL');
      if ((await closed) === 'SIGKILL') killed++;
      else window = Math.max(100, Math.floor(window / 2));

      await expectCheckClean(true).catch((err: Error) => {
        err.message = `[seed ${seed}, round ${round}] ${err.message}`;
        throw err;
      });
      for (const [id, source] of keep) await expectRestores(id, source);
    }
    expect(killed, 'no prune was still running when killed').toBeGreaterThanOrEqual(2);
    const last = await lb(['prune', '--grace', '0']);
    expect(last.code, show(last)).toBe(0);
    await expectCheckClean(false);
    for (const [id, source] of keep) await expectRestores(id, source);
  }, 300_000);
});
