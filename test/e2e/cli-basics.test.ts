import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lutimesSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { openRepo, snapshotNodes } from '../helpers/repo-lib.js';
import {
  cliEnvFor,
  compareTrees,
  jsonLines,
  prng,
  restoredPath,
  runCliBinary,
  scanTree,
  seededBytes,
  sha256,
} from '../helpers/e2e.js';

/**
 * The CLI as a user drives it: the built `dist/cli/main.js`, real files, real
 * exit codes (docs/cli.md). Each describe block owns a temp dir with its data,
 * repository and cache, and removes it afterwards.
 */

const PW = 'correct horse battery staple';
const isRoot = process.getuid?.() === 0;
const isLinux = process.platform === 'linux';

interface Ctx {
  dir: string;
  repo: string;
  cache: string;
  cleanup: () => Promise<void>;
}

async function newCtx(prefix: string): Promise<Ctx> {
  const t = await tempDir(`lifeboat-e2e-${prefix}-`);
  const cache = path.join(t.dir, 'cache');
  return { dir: t.dir, repo: path.join(t.dir, 'repo'), cache, cleanup: t.cleanup };
}

/** Run the CLI on the context's repository; `password` null means no LIFEBOAT_PASSWORD at all. */
function lb(
  ctx: Ctx,
  args: string[],
  extra: Record<string, string | undefined> = {},
  password: string | null = PW,
): Promise<CliResult> {
  return runCli(['--repo', ctx.repo, ...args], { env: cliEnvFor(ctx.cache, password ?? undefined, extra) });
}

function describeResult(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
}

function expectCode(r: CliResult, code: number): void {
  expect(r.code, describeResult(r)).toBe(code);
}

async function initRepo(ctx: Ctx, extraArgs: string[] = []): Promise<void> {
  expectCode(await lb(ctx, ['init', ...extraArgs]), 0);
}

/** A fixed, distinctive mtime per entry (sub-millisecond digits included). */
function setTimes(p: string, seconds: number): void {
  utimesSync(p, seconds, seconds);
}

/**
 * The "rich tree": nested dirs, an empty file and dir, 0600 and 0755 files,
 * relative/absolute/dangling symlinks, a hardlinked pair, 5 MiB of random data,
 * unicode names, and a few *.tmp files. Returns the source root.
 */
function buildRichTree(root: string, seed = 1): string {
  const src = path.join(root, 'src');
  const rng = prng(seed);
  mkdirSync(path.join(src, 'a/b/c'), { recursive: true });
  mkdirSync(path.join(src, 'emptydir'));
  mkdirSync(path.join(src, 'ünïcødé'));
  mkdirSync(path.join(src, 'excluded-dir/inner'), { recursive: true });
  writeFileSync(path.join(src, 'a/b/c/deep.txt'), 'deep inside\n');
  writeFileSync(path.join(src, 'a/top.txt'), 'top of a\n');
  writeFileSync(path.join(src, 'a/more.tmp'), 'temporary\n');
  writeFileSync(path.join(src, 'junk.tmp'), 'junk\n');
  writeFileSync(path.join(src, 'empty'), '');
  writeFileSync(path.join(src, 'secret.txt'), 'only for the owner\n', { mode: 0o600 });
  chmodSync(path.join(src, 'secret.txt'), 0o600);
  writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh\necho hello\n');
  chmodSync(path.join(src, 'run.sh'), 0o755);
  writeFileSync(path.join(src, 'hl1'), 'two names, one inode\n');
  linkSync(path.join(src, 'hl1'), path.join(src, 'hl2'));
  writeFileSync(path.join(src, 'big.bin'), seededBytes(rng, 5 * 1024 * 1024));
  writeFileSync(path.join(src, 'ünïcødé/日本語 ファイル.txt'), 'こんにちは\n');
  writeFileSync(path.join(src, 'emoji-🚀 name.txt'), 'rocket\n');
  writeFileSync(path.join(src, 'excluded-dir/inner/file.txt'), 'excluded by absolute path\n');
  symlinkSync('a/b/c/deep.txt', path.join(src, 'rel-link'));
  symlinkSync('/etc/passwd', path.join(src, 'abs-link'));
  symlinkSync('does/not/exist', path.join(src, 'dangling'));
  // Distinct sub-millisecond mtimes, files and symlinks first, then directories deepest first.
  let t = 1_600_000_000.123456;
  const files = [
    'a/b/c/deep.txt',
    'a/top.txt',
    'a/more.tmp',
    'junk.tmp',
    'empty',
    'secret.txt',
    'run.sh',
    'hl1',
    'big.bin',
    'ünïcødé/日本語 ファイル.txt',
    'emoji-🚀 name.txt',
    'excluded-dir/inner/file.txt',
  ];
  for (const f of files) setTimes(path.join(src, f), (t += 1000.001));
  for (const l of ['rel-link', 'abs-link', 'dangling']) lutimesSync(path.join(src, l), (t += 7.5), (t += 0.25));
  for (const d of ['a/b/c', 'a/b', 'a', 'emptydir', 'ünïcødé', 'excluded-dir/inner', 'excluded-dir'])
    setTimes(path.join(src, d), (t += 3333.3333));
  return src;
}

// ---------------------------------------------------------------------------

describe('init and passwords', () => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await newCtx('init');
  });
  afterAll(async () => ctx.cleanup());

  it('creates a repository once; a second init fails without touching it', async () => {
    const r = await lb(ctx, ['init', '--json']);
    expectCode(r, 0);
    const doc = lastJson<{ type: string; repository: { id: string } }>(r.stdout);
    expect(doc.type).toBe('init');
    expect(doc.repository.id).toMatch(/^[0-9a-f]{64}$/);
    const keysBefore = readdirSync(path.join(ctx.repo, 'keys')).sort();

    const again = await lb(ctx, ['init']);
    expect(again.code).not.toBe(0);
    expect(again.code).not.toBeNull();
    expect(again.stderr).toMatch(/already exists/);
    expect(readdirSync(path.join(ctx.repo, 'keys')).sort()).toEqual(keysBefore);
    // Still opens with the original password.
    expectCode(await lb(ctx, ['snapshots']), 0);
  });

  it('init without any password source exits 12 with a hint and creates nothing', async () => {
    const where = path.join(ctx.dir, 'nopw-repo');
    const r = await runCli(['--repo', where, 'init'], { env: cliEnvFor(ctx.cache, undefined) });
    expectCode(r, 12);
    expect(r.stderr).toMatch(/hint: .*LIFEBOAT_PASSWORD/);
    expect(existsSync(path.join(where, 'config'))).toBe(false);

    const j = await runCli(['--repo', where, '--json', 'init'], { env: cliEnvFor(ctx.cache, undefined) });
    expectCode(j, 12);
    const err = lastJson<{ type: string; error: { code: string; hint?: string } }>(j.stdout);
    expect(err.type).toBe('error');
    expect(err.error.code).toBe('no_password');
    expect(err.error.hint).toBeTruthy();
  });

  it('opening without any password source exits 12 with a hint', async () => {
    const r = await lb(ctx, ['snapshots'], {}, null);
    expectCode(r, 12);
    expect(r.stderr).toMatch(/hint:/);
  });

  it('an empty LIFEBOAT_PASSWORD is refused with 12, for init and for open', async () => {
    const where = path.join(ctx.dir, 'emptypw-repo');
    const r = await runCli(['--repo', where, 'init'], { env: cliEnvFor(ctx.cache, '') });
    expectCode(r, 12);
    expect(existsSync(path.join(where, 'config'))).toBe(false);
    const o = await lb(ctx, ['snapshots'], {}, '');
    expectCode(o, 12);
    expect(o.stderr).not.toMatch(/corrupt/i);
  });

  it('a wrong password exits 12 and says "wrong password", never "corrupt"', async () => {
    const r = await lb(ctx, ['snapshots'], {}, 'not the password');
    expectCode(r, 12);
    expect(r.stderr).toMatch(/wrong password/i);
    expect(r.stderr).not.toMatch(/corrupt/i);
    const j = await lb(ctx, ['--json', 'snapshots'], {}, 'not the password');
    expectCode(j, 12);
    expect(lastJson<{ error: { code: string } }>(j.stdout).error.code).toBe('wrong_password');
    expect(j.stdout + j.stderr).not.toMatch(/corrupt/i);
  });

  it('LIFEBOAT_PASSWORD_FILE with a trailing newline works', async () => {
    const file = path.join(ctx.dir, 'pw.txt');
    writeFileSync(file, `${PW}\n`, { mode: 0o600 });
    expectCode(await lb(ctx, ['snapshots'], { LIFEBOAT_PASSWORD_FILE: file }, null), 0);
    const crlf = path.join(ctx.dir, 'pw-crlf.txt');
    writeFileSync(crlf, `${PW}\r\n`, { mode: 0o600 });
    expectCode(await lb(ctx, ['snapshots'], { LIFEBOAT_PASSWORD_FILE: crlf }, null), 0);
    // A missing password file is a credentials problem (12), not a crash.
    const missing = await lb(ctx, ['snapshots'], { LIFEBOAT_PASSWORD_FILE: path.join(ctx.dir, 'nope') }, null);
    expectCode(missing, 12);
  });

  it('LIFEBOAT_PASSWORD_COMMAND works; a failing command exits 12', async () => {
    expectCode(await lb(ctx, ['snapshots'], { LIFEBOAT_PASSWORD_COMMAND: `echo '${PW}'` }, null), 0);
    const bad = await lb(ctx, ['snapshots'], { LIFEBOAT_PASSWORD_COMMAND: 'exit 7' }, null);
    expectCode(bad, 12);
    expect(bad.stderr).not.toMatch(/corrupt/i);
  });

  it('a repository path that does not exist exits 10', async () => {
    const r = await runCli(['--repo', path.join(ctx.dir, 'no', 'such', 'repo'), 'snapshots'], {
      env: cliEnvFor(ctx.cache, PW),
    });
    expectCode(r, 10);
    // An existing but empty directory is not a repository either.
    mkdirSync(path.join(ctx.dir, 'empty-dir'));
    const e = await runCli(['--repo', path.join(ctx.dir, 'empty-dir'), 'snapshots'], { env: cliEnvFor(ctx.cache, PW) });
    expectCode(e, 10);
  });
});

// ---------------------------------------------------------------------------

describe('backup and restore of a rich tree', () => {
  let ctx: Ctx;
  let src: string;
  let firstId: string;
  let firstSummary: Record<string, number>;

  beforeAll(async () => {
    ctx = await newCtx('rich');
    src = buildRichTree(ctx.dir);
    await initRepo(ctx);
    const r = await lb(ctx, ['--json', 'backup', src]);
    expectCode(r, 0);
    const doc = lastJson<{ type: string; snapshot: { id: string }; summary: Record<string, number> }>(r.stdout);
    expect(doc.type).toBe('summary');
    firstId = doc.snapshot.id;
    firstSummary = doc.summary;
  });
  afterAll(async () => ctx.cleanup());

  it('the backup summary counts what is there', () => {
    // Regular files: deep, top, more.tmp, junk.tmp, empty, secret, run.sh, hl1, hl2, big.bin, 日本語, emoji, excluded file.
    // Both names of the hardlinked pair are file nodes (with `links: 2`); restore links them again.
    expect(firstSummary.files).toBe(13);
    expect(firstSummary.filesRead).toBe(13);
    expect(firstSummary.errors).toBe(0);
    expect(firstSummary.bytes).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    expect(firstSummary.addedBytes).toBeGreaterThanOrEqual(5 * 1024 * 1024);
  });

  it('snapshots --json lists the snapshot with its path', async () => {
    const r = await lb(ctx, ['--json', 'snapshots']);
    expectCode(r, 0);
    const doc = JSON.parse(r.stdout) as {
      snapshots: Array<{ id: string; paths: string[]; tree: string }>;
      problems: unknown[];
    };
    expect(doc.snapshots.map((s) => s.id)).toContain(firstId);
    const s = doc.snapshots.find((x) => x.id === firstId)!;
    expect(s.paths).toEqual([src]);
    expect(doc.problems).toEqual([]);
    const text = await lb(ctx, ['snapshots']);
    expectCode(text, 0);
    expect(text.stdout).toContain(firstId.slice(0, 8));
  });

  // Node's recursive mkdir spun for ever under /proc (90 % CPU, deaf to the first SIGTERM).
  it('a restore target or repository under /proc fails at once with a clear error', async () => {
    const r = await lb(ctx, ['restore', firstId, '--target', '/proc/lifeboat-test/out']);
    expectCode(r, 1);
    expect(r.stderr).toContain('cannot create the directory /proc/lifeboat-test');
    const init = await runCli(['init', '--repo', '/proc/lifeboat-test/repo'], { env: cliEnvFor(ctx.cache, PW) });
    expectCode(init, 1);
    expect(init.stderr).toContain('cannot create the directory /proc/lifeboat-test');
  });

  it('restore reproduces content, modes, mtimes, symlinks and hardlinks', async () => {
    const target = path.join(ctx.dir, 'restore-full');
    const r = await lb(ctx, ['restore', firstId, '--target', target]);
    expectCode(r, 0);
    const restored = scanTree(restoredPath(target, src));
    const source = scanTree(src);
    expect(compareTrees(source, restored, { owners: isRoot })).toEqual([]);
    // Spot checks that the oracle itself looked at what matters.
    expect(restored.get('rel-link')?.target).toBe('a/b/c/deep.txt');
    expect(restored.get('abs-link')?.target).toBe('/etc/passwd');
    expect(restored.get('dangling')?.target).toBe('does/not/exist');
    expect(restored.get('hl1')!.ino).toBe(restored.get('hl2')!.ino);
    expect(restored.get('secret.txt')!.mode).toBe(0o600);
    expect(restored.get('run.sh')!.mode).toBe(0o755);
    expect(restored.get('emptydir')!.type).toBe('dir');
    expect(restored.get('empty')!.size).toBe(0);
    expect(restored.get('ünïcødé/日本語 ファイル.txt')?.type).toBe('file');
    // mtime to the millisecond, file and directory.
    const ms = (p: string) => Math.floor(statSync(p).mtimeMs);
    expect(ms(path.join(restoredPath(target, src), 'big.bin'))).toBe(ms(path.join(src, 'big.bin')));
    expect(ms(path.join(restoredPath(target, src), 'a/b'))).toBe(ms(path.join(src, 'a/b')));
    // JSON summary of a restore.
    const j = await lb(ctx, ['--json', 'restore', firstId, '--target', path.join(ctx.dir, 'restore-json')]);
    expectCode(j, 0);
    const sum = lastJson<{ type: string; restored: { files: number }; errors: unknown[] }>(j.stdout);
    expect(sum.type).toBe('summary');
    expect(sum.errors).toEqual([]);
    expect(sum.restored.files).toBe(13);
  });

  it('ls, ls --long and ls --json show the tree', async () => {
    const r = await lb(ctx, ['ls', firstId]);
    expectCode(r, 0);
    const lines = r.stdout.split('\n');
    for (const rel of [
      'a/b/c/deep.txt',
      'big.bin',
      'rel-link',
      'hl2',
      'emptydir',
      'ünïcødé/日本語 ファイル.txt',
      'emoji-🚀 name.txt',
    ]) {
      expect(lines).toContain(`${src}/${rel}`);
    }
    const long = await lb(ctx, ['ls', '--long', firstId]);
    expectCode(long, 0);
    const line = (rel: string) =>
      long.stdout.split('\n').find((l) => l.endsWith(` ${src}/${rel}`) || l.includes(` ${src}/${rel} -> `)) ?? '';
    expect(line('run.sh')).toMatch(/^-rwxr-xr-x /);
    expect(line('secret.txt')).toMatch(/^-rw------- /);
    expect(line('a')).toMatch(/^d/);
    expect(line('rel-link')).toMatch(/^l.* -> a\/b\/c\/deep\.txt$/);
    expect(line('big.bin')).toContain(String(5 * 1024 * 1024));

    const sub = await lb(ctx, ['ls', firstId, `${src}/a`]);
    expectCode(sub, 0);
    const subLines = sub.stdout.split('\n').filter(Boolean);
    expect(subLines).toContain(`${src}/a/b/c/deep.txt`);
    expect(subLines.every((l) => l.startsWith(`${src}/a/`))).toBe(true);

    const j = await lb(ctx, ['--json', 'ls', firstId]);
    expectCode(j, 0);
    const entries = jsonLines(j.stdout) as Array<{ path: string; type: string; size?: number; target?: string }>;
    const big = entries.find((e) => e.path === `${src}/big.bin`)!;
    expect(big.type).toBe('file');
    expect(big.size).toBe(statSync(path.join(src, 'big.bin')).size);
    expect(entries.find((e) => e.path === `${src}/dangling`)?.target).toBe('does/not/exist');
  });

  it('dump writes exactly the bytes of the file', async () => {
    const r = await runCliBinary(['--repo', ctx.repo, 'dump', firstId, `${src}/big.bin`], {
      env: cliEnvFor(ctx.cache, PW),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.equals(readFileSync(path.join(src, 'big.bin')))).toBe(true);
    const small = await runCliBinary(['--repo', ctx.repo, 'dump', 'latest', `${src}/ünïcødé/日本語 ファイル.txt`], {
      env: cliEnvFor(ctx.cache, PW),
    });
    expect(small.code, small.stderr).toBe(0);
    expect(small.stdout.toString('utf8')).toBe('こんにちは\n');
    const empty = await runCliBinary(['--repo', ctx.repo, 'dump', firstId, `${src}/empty`], {
      env: cliEnvFor(ctx.cache, PW),
    });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout.length).toBe(0);
    // A directory or a missing path is not dumpable.
    const dir = await lb(ctx, ['dump', firstId, `${src}/a`]);
    expect(dir.code).not.toBe(0);
    const missing = await lb(ctx, ['dump', firstId, `${src}/nope`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not in the snapshot/);
  });

  it('restore --include restores only the subset; --exclude leaves things out', async () => {
    const t1 = path.join(ctx.dir, 'restore-include');
    expectCode(await lb(ctx, ['restore', firstId, '--target', t1, '--include', `${src}/a`]), 0);
    const got = scanTree(restoredPath(t1, src));
    expect([...got.keys()].sort()).toEqual(['a', 'a/b', 'a/b/c', 'a/b/c/deep.txt', 'a/more.tmp', 'a/top.txt']);
    expect(got.get('a/b/c/deep.txt')!.sha256).toBe(sha256(readFileSync(path.join(src, 'a/b/c/deep.txt'))));

    const t2 = path.join(ctx.dir, 'restore-include-glob');
    expectCode(await lb(ctx, ['restore', firstId, '--target', t2, '--include', '*.sh']), 0);
    const files2 = [...scanTree(restoredPath(t2, src))].filter(([, e]) => e.type !== 'dir').map(([p]) => p);
    expect(files2).toEqual(['run.sh']);

    const t3 = path.join(ctx.dir, 'restore-exclude');
    expectCode(
      await lb(ctx, ['restore', firstId, '--target', t3, '--exclude', 'big.bin', '--exclude', `${src}/ünïcødé`]),
      0,
    );
    const got3 = scanTree(restoredPath(t3, src));
    expect(got3.has('big.bin')).toBe(false);
    expect(got3.has('ünïcødé')).toBe(false);
    expect(got3.has('a/b/c/deep.txt')).toBe(true);
    expect(got3.get('hl1')!.ino).toBe(got3.get('hl2')!.ino);
  });

  it('restore --include of only the second name of a hardlinked pair restores that file', async () => {
    const entries = jsonLines((await lb(ctx, ['--json', 'ls', firstId])).stdout);
    const link = entries.find((e) => String(e.path).endsWith('/hl2'))!;
    expect(link, 'hl2 is in the snapshot').toBeDefined();
    expect(link).toMatchObject({ type: 'file', links: 2 });
    const target = path.join(ctx.dir, 'restore-hardlink-subset');
    const r = await lb(ctx, ['restore', firstId, '--target', target, '--include', link.path as string]);
    const file = path.join(target, ...(link.path as string).split('/').filter(Boolean));
    expect(r.code, describeResult(r)).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('two names, one inode\n');
  });

  it('dump of either name of a hardlinked pair writes the file', async () => {
    const entries = jsonLines((await lb(ctx, ['--json', 'ls', firstId])).stdout);
    const link = entries.find((e) => String(e.path).endsWith('/hl2'))!;
    const r = await runCliBinary(['--repo', ctx.repo, 'dump', firstId, link.path as string], {
      env: cliEnvFor(ctx.cache, PW),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString('utf8')).toBe('two names, one inode\n');
  });

  it('restore --dry-run writes nothing', async () => {
    const target = path.join(ctx.dir, 'restore-dry');
    const r = await lb(ctx, ['restore', firstId, '--target', target, '--dry-run']);
    expectCode(r, 0);
    expect(existsSync(target)).toBe(false);
    expect(r.stdout).toContain(`${src}/big.bin`);
    expect(r.stdout).toMatch(/nothing written/);
    const j = await lb(ctx, ['--json', 'restore', firstId, '--target', target, '--dry-run']);
    expectCode(j, 0);
    const sum = lastJson<{ dryRun: boolean; planned: { files: number; symlinks: number; hardlinks: number } }>(
      j.stdout,
    );
    expect(sum.dryRun).toBe(true);
    expect(sum.planned).toMatchObject({ files: 13, symlinks: 3, hardlinks: 0 });
    expect(existsSync(target)).toBe(false);
  });

  it('restore without --target is a usage error (exit 2) and writes nothing', async () => {
    const r = await lb(ctx, ['restore', firstId]);
    expectCode(r, 2);
    expect(r.stderr).toMatch(/--target/);
  });

  it('snapshots are found by unique prefix and by "latest"; bad refs fail', async () => {
    const prefix = firstId.slice(0, 8);
    const byPrefix = await lb(ctx, ['--json', 'ls', prefix, `${src}/run.sh`]);
    expectCode(byPrefix, 0);
    expect(jsonLines(byPrefix.stdout)[0]!.path).toBe(`${src}/run.sh`);
    const byLatest = await lb(ctx, ['ls', 'latest', `${src}/run.sh`]);
    expectCode(byLatest, 0);
    expect(byLatest.stdout.trim()).toBe(`${src}/run.sh`);
    const tooShort = await lb(ctx, ['ls', firstId.slice(0, 7)]);
    expectCode(tooShort, 2);
    const none = await lb(ctx, ['ls', firstId.startsWith('0') ? 'ffffffff' : '00000000']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no snapshot/);
  });

  it('check, check --read-data and --read-data=50% pass on a good repository', async () => {
    const a = await lb(ctx, ['check']);
    expectCode(a, 0);
    expect(a.stdout).toMatch(/no errors found/);
    const b = await lb(ctx, ['--json', 'check', '--read-data']);
    expectCode(b, 0);
    const rb = lastJson<{ ok: boolean; packs: number; packsRead: number; findings: unknown[] }>(b.stdout);
    expect(rb.ok).toBe(true);
    expect(rb.findings).toEqual([]);
    expect(rb.packsRead).toBe(rb.packs);
    const c = await lb(ctx, ['--json', 'check', '--read-data=50%']);
    expectCode(c, 0);
    const rc = lastJson<{ packs: number; packsRead: number }>(c.stdout);
    expect(rc.packsRead).toBe(Math.ceil(rc.packs / 2));
    expectCode(await lb(ctx, ['check', '--read-data=0']), 2);
    expectCode(await lb(ctx, ['check', '--read-data=150%']), 2);
  });

  it('tags and a reason are recorded and shown', async () => {
    const r = await lb(ctx, ['--json', 'backup', '--tag', 'a', '--tag', 'b', '--reason', 'before 048', src]);
    expectCode(r, 0);
    const id = lastJson<{ snapshot: { id: string; tags: string[] } }>(r.stdout).snapshot.id;
    const list = JSON.parse((await lb(ctx, ['--json', 'snapshots'])).stdout) as {
      snapshots: Array<{ id: string; tags: string[]; reason?: string }>;
    };
    const s = list.snapshots.find((x) => x.id === id)!;
    expect(s.tags).toEqual(['a', 'b']);
    expect(s.reason).toBe('before 048');
    const byTag = JSON.parse((await lb(ctx, ['--json', 'snapshots', '--tag', 'a'])).stdout) as {
      snapshots: Array<{ id: string }>;
    };
    expect(byTag.snapshots.map((x) => x.id)).toEqual([id]);
    const text = await lb(ctx, ['snapshots']);
    expect(text.stdout).toContain('before 048');
    expect(text.stdout).toContain('a,b');
  });

  it('a backup of an unchanged tree reads no file and adds no data', async () => {
    const r = await lb(ctx, ['--json', 'backup', src]);
    expectCode(r, 0);
    const doc = lastJson<{
      snapshot: { id: string; parent: string | null };
      summary: { files: number; filesRead: number; addedBytes: number };
    }>(r.stdout);
    expect(doc.snapshot.parent).toBeTruthy();
    expect(doc.summary.files).toBe(13);
    // On failure, show what differs from the parent (diff --metadata).
    const why =
      doc.summary.filesRead === 0
        ? ''
        : (await lb(ctx, ['diff', '--metadata', doc.snapshot.parent!, doc.snapshot.id])).stdout;
    expect(doc.summary.filesRead, `files were read again; diff --metadata parent new:\n${why}`).toBe(0);
    expect(doc.summary.addedBytes).toBe(0);
  });

  it('--exclude by name glob and by absolute path', async () => {
    const r = await lb(ctx, ['--json', 'backup', '--exclude', '*.tmp', '--exclude', `${src}/excluded-dir`, src]);
    expectCode(r, 0);
    const id = lastJson<{ snapshot: { id: string } }>(r.stdout).snapshot.id;
    const ls = await lb(ctx, ['--json', 'ls', id]);
    expectCode(ls, 0);
    const paths = jsonLines(ls.stdout).map((e) => e.path as string);
    expect(paths.filter((p) => p.endsWith('.tmp'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith(`${src}/excluded-dir`))).toEqual([]);
    expect(paths).toContain(`${src}/a/top.txt`);
    expect(paths).toContain(`${src}/big.bin`);
    // An absolute glob excluding the contents only.
    const r2 = await lb(ctx, ['--json', 'backup', '--exclude', `${src}/a/**`, src]);
    expectCode(r2, 0);
    const paths2 = jsonLines(
      (await lb(ctx, ['--json', 'ls', lastJson<{ snapshot: { id: string } }>(r2.stdout).snapshot.id])).stdout,
    ).map((e) => e.path as string);
    expect(paths2).toContain(`${src}/a`);
    expect(paths2.filter((p) => p.startsWith(`${src}/a/`))).toEqual([]);
  });

  it('output that is not a terminal, or with --no-progress, has no carriage returns', async () => {
    for (const flags of [[], ['--no-progress'], ['--json']]) {
      const r = await lb(ctx, [...flags, 'backup', '--force', src]);
      expectCode(r, 0);
      expect(r.stdout + r.stderr).not.toContain('\r');
    }
    const rr = await lb(ctx, ['restore', firstId, '--target', path.join(ctx.dir, 'restore-nocr')]);
    expectCode(rr, 0);
    expect(rr.stdout + rr.stderr).not.toContain('\r');
  });

  it('--no-progress on a real terminal draws no progress line', async () => {
    if (!existsSync('/usr/bin/script')) return; // util-linux `script` gives the CLI a pty
    const env = cliEnv(cliEnvFor(ctx.cache, PW));
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, CLI, '--repo', ctx.repo, '--no-progress', 'backup', '--force', src].map(q).join(' ');
    const out = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const child = spawn('/usr/bin/script', ['-qec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, text }));
      child.stdin.end();
    });
    expect(out.code, out.text).toBe(0);
    expect(out.text).toMatch(/snapshot [0-9a-f]{8} saved/);
    // The pty turns \n into \r\n; a progress bar would draw with a bare \r.
    expect(out.text).not.toMatch(/\r(?!\n)/);
  });
});

// ---------------------------------------------------------------------------

describe('diff', () => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await newCtx('diff');
  });
  afterAll(async () => ctx.cleanup());

  it('shows added, removed and modified files between two snapshots', async () => {
    const src = path.join(ctx.dir, 'data');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'keep.txt'), 'unchanged\n');
    writeFileSync(path.join(src, 'change.txt'), 'version 1\n');
    writeFileSync(path.join(src, 'remove.txt'), 'going away\n');
    writeFileSync(path.join(src, 'sub/perm.txt'), 'mode changes\n');
    writeFileSync(path.join(src, 'sub/gone-dir-file.txt'), 'x\n');
    await initRepo(ctx);
    const a = await lb(ctx, ['--json', 'backup', src]);
    expectCode(a, 0);
    const idA = lastJson<{ snapshot: { id: string } }>(a.stdout).snapshot.id;

    writeFileSync(path.join(src, 'change.txt'), 'version 2, longer\n');
    writeFileSync(path.join(src, 'added.txt'), 'new\n');
    mkdirSync(path.join(src, 'newdir'));
    writeFileSync(path.join(src, 'newdir/inner.txt'), 'new too\n');
    rmSync(path.join(src, 'remove.txt'));
    chmodSync(path.join(src, 'sub/perm.txt'), 0o640);
    const b = await lb(ctx, ['--json', 'backup', src]);
    expectCode(b, 0);
    const idB = lastJson<{ snapshot: { id: string } }>(b.stdout).snapshot.id;

    const d = await lb(ctx, ['diff', idA, idB]);
    expectCode(d, 0);
    const lines = d.stdout.split('\n').filter((l) => /^[+\-MU] /.test(l));
    expect(lines).toContain(`M  ${src}/change.txt`);
    expect(lines).toContain(`+  ${src}/added.txt`);
    expect(lines).toContain(`+  ${src}/newdir`);
    expect(lines).toContain(`+  ${src}/newdir/inner.txt`);
    expect(lines).toContain(`-  ${src}/remove.txt`);
    expect(lines.some((l) => l.includes('keep.txt'))).toBe(false);
    // A mode change is a change (as in the dashboard's diff), not metadata only.
    expect(lines).toContain(`M  ${src}/sub/perm.txt`);

    const dm = await lb(ctx, ['diff', '--metadata', idA, idB]);
    expectCode(dm, 0);
    expect(dm.stdout.split('\n')).toContain(`M  ${src}/sub/perm.txt`);

    const dj = await lb(ctx, ['--json', 'diff', idA, idB]);
    expectCode(dj, 0);
    const doc = JSON.parse(dj.stdout) as {
      counts: { added: number; removed: number; modified: number };
      changes: Array<{ path: string; change: string }>;
    };
    expect(doc.counts).toMatchObject({ added: 3, removed: 1, modified: 2 });

    // The reverse direction swaps + and -.
    const rev = await lb(ctx, ['diff', idB, idA]);
    expect(rev.stdout.split('\n')).toContain(`-  ${src}/added.txt`);
    expect(rev.stdout.split('\n')).toContain(`+  ${src}/remove.txt`);
  });
});

// ---------------------------------------------------------------------------

describe('unreadable inputs', () => {
  let ctx: Ctx;
  let src: string;
  beforeAll(async () => {
    ctx = await newCtx('unreadable');
    src = path.join(ctx.dir, 'data');
    mkdirSync(src);
    writeFileSync(path.join(src, 'ok.txt'), 'readable\n');
    writeFileSync(path.join(src, 'also-ok.txt'), 'readable too\n');
    await initRepo(ctx);
  });
  afterAll(async () => ctx.cleanup());

  // Root reads any file regardless of its mode, so `chmod 000` cannot make an
  // input unreadable. /proc/self/mem is a regular file (size 0) whose read at
  // offset 0 fails with EIO for every user: a reliable unreadable input.
  it.runIf(isLinux)('an input that fails to read gives exit 3, is listed, and the rest is saved', async () => {
    const r = await lb(ctx, ['--json', 'backup', src, '/proc/self/mem']);
    expectCode(r, 3);
    const doc = lastJson<{
      type: string;
      snapshot: { id: string };
      summary: { files: number; errors: number };
      errors: Array<{ path: string; message: string }>;
    }>(r.stdout);
    expect(doc.type).toBe('summary');
    expect(doc.errors.map((e) => e.path)).toEqual(['/proc/self/mem']);
    expect(doc.summary.errors).toBe(1);
    const text = await lb(ctx, ['backup', src, '/proc/self/mem']);
    expectCode(text, 3);
    expect(text.stderr).toMatch(/could not read \/proc\/self\/mem/);
    // The snapshot was saved and holds the readable files, but not the unreadable one.
    const ls = await lb(ctx, ['--json', 'ls', doc.snapshot.id]);
    expectCode(ls, 0);
    const entries = jsonLines(ls.stdout);
    const paths = entries.map((e) => e.path);
    expect(paths).toContain(`${src}/ok.txt`);
    expect(paths).toContain(`${src}/also-ok.txt`);
    expect(paths).not.toContain('/proc/self/mem');
    // The summary counts the files the snapshot holds, not the ones that failed.
    expect
      .soft(doc.summary.files, 'summary.files counts an input that could not be read')
      .toBe(entries.filter((e) => e.type === 'file').length);
    const target = path.join(ctx.dir, 'restored');
    expectCode(await lb(ctx, ['restore', doc.snapshot.id, '--target', target, '--include', src]), 0);
    expect(await readFile(path.join(restoredPath(target, src), 'ok.txt'), 'utf8')).toBe('readable\n');
  });

  // A file with mode 000 inside the tree: as root, run the CLI with
  // CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped (setpriv), so the mode counts.
  // Both a small file (read whole by a worker) and a large one (chunked by a worker): each path reports the error.
  it.runIf(isLinux && (!isRoot || existsSync('/usr/bin/setpriv'))).each([
    ['small', 'secret\n'],
    ['large', 'x'.repeat(300 * 1024)],
  ])('a %s file without read permission gives exit 3 and is named', async (_kind, content) => {
    const locked = path.join(src, 'locked.txt');
    writeFileSync(locked, content);
    chmodSync(locked, 0o000);
    try {
      const args = [CLI, '--repo', ctx.repo, '--json', 'backup', src];
      const [cmd, argv] = isRoot
        ? ['/usr/bin/setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, ...args]]
        : [process.execPath, args];
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(cmd as string, argv as string[], {
          env: cliEnv(cliEnvFor(ctx.cache, PW)),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
      const doc = lastJson<{
        snapshot: { id: string };
        errors: Array<{ path: string; message: string }>;
        summary: { files: number };
      }>(r.stdout);
      expect(doc.errors.map((e) => e.path)).toEqual([locked]);
      expect(doc.errors[0]!.message).toMatch(/EACCES|permission/i);
      const entries = jsonLines((await lb(ctx, ['--json', 'ls', doc.snapshot.id])).stdout);
      const paths = entries.map((e) => e.path);
      expect(paths).toContain(`${src}/ok.txt`);
      expect(paths).not.toContain(locked);
      expect
        .soft(doc.summary.files, 'summary.files counts an input that could not be read')
        .toBe(entries.filter((e) => e.type === 'file').length);
    } finally {
      chmodSync(locked, 0o600);
      rmSync(locked);
    }
  });
});

// ---------------------------------------------------------------------------

describe('keys', () => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await newCtx('keys');
    await initRepo(ctx);
    mkdirSync(path.join(ctx.dir, 'data'));
    writeFileSync(path.join(ctx.dir, 'data/file.txt'), 'keyed\n');
    expectCode(await lb(ctx, ['backup', path.join(ctx.dir, 'data')]), 0);
  });
  afterAll(async () => ctx.cleanup());

  type KeyList = {
    keys: Array<{ id: string; current: boolean; readable: boolean; label?: string }>;
    fingerprint: string;
  };
  const listKeys = async (pw: string): Promise<KeyList> => {
    const r = await lb(ctx, ['--json', 'key', 'list'], {}, pw);
    expectCode(r, 0);
    return JSON.parse(r.stdout) as KeyList;
  };

  it('add, open with the new password, remove, refuse to remove the last key, passwd', async () => {
    const initial = await listKeys(PW);
    expect(initial.keys).toHaveLength(1);
    const firstKey = initial.keys[0]!.id;

    const add = await lb(ctx, ['--json', 'key', 'add', '--label', 'second admin'], { LIFEBOAT_NEW_PASSWORD: 'pw-two' });
    expectCode(add, 0);
    const added = (JSON.parse(add.stdout) as { added: string }).added;
    const two = await listKeys('pw-two');
    expect(two.keys.map((k) => k.id).sort()).toEqual([firstKey, added].sort());
    expect(two.keys.find((k) => k.id === added)).toMatchObject({ current: true, label: 'second admin' });
    expect(two.fingerprint).toBe(initial.fingerprint);
    expectCode(await lb(ctx, ['ls', 'latest'], {}, 'pw-two'), 0);

    // An empty new password is refused.
    const emptyNew = await lb(ctx, ['key', 'add'], { LIFEBOAT_NEW_PASSWORD: '' });
    expectCode(emptyNew, 12);

    // Remove the first key (by prefix) with the second password.
    const rm1 = await lb(ctx, ['--json', 'key', 'remove', firstKey.slice(0, 12)], {}, 'pw-two');
    expectCode(rm1, 0);
    expect((JSON.parse(rm1.stdout) as { removed: string }).removed).toBe(firstKey);
    const old = await lb(ctx, ['snapshots'], {}, PW);
    expectCode(old, 12);

    // The last key can never be removed; the repository still opens.
    const last = await lb(ctx, ['key', 'remove', added], {}, 'pw-two');
    expect(last.code).not.toBe(0);
    expect(last.code).not.toBeNull();
    expect(last.stderr).toMatch(/last key/);
    expect((await listKeys('pw-two')).keys.map((k) => k.id)).toEqual([added]);
    expectCode(await lb(ctx, ['ls', 'latest'], {}, 'pw-two'), 0);

    // passwd replaces the key in use.
    const pw = await lb(ctx, ['--json', 'key', 'passwd'], { LIFEBOAT_NEW_PASSWORD: 'pw-three' }, 'pw-two');
    expectCode(pw, 0);
    const changed = JSON.parse(pw.stdout) as { added: string; removed: string };
    expect(changed.removed).toBe(added);
    expectCode(await lb(ctx, ['snapshots'], {}, 'pw-two'), 12);
    const three = await listKeys('pw-three');
    expect(three.keys.map((k) => k.id)).toEqual([changed.added]);
    expect(three.fingerprint).toBe(initial.fingerprint);
    expectCode(await lb(ctx, ['restore', 'latest', '--target', path.join(ctx.dir, 'after-passwd')], {}, 'pw-three'), 0);

    // Rename back for the other tests of this block.
    expectCode(await lb(ctx, ['key', 'passwd'], { LIFEBOAT_NEW_PASSWORD: PW }, 'pw-three'), 0);
    // Many CLI starts, each deriving a key: 40-55 s alone, over 60 s on a loaded two-core machine.
  }, 300_000);

  it('the recovery key: --paper page, --out file (0600) that opens the repository without a password', async () => {
    const paper = await lb(ctx, ['key', 'export', '--paper']);
    expectCode(paper, 0);
    expect(paper.stdout).toContain('LIFEBOAT RECOVERY KEY');

    const keyFile = path.join(ctx.dir, 'recovery.key');
    const out = await lb(ctx, ['key', 'export', '--out', keyFile]);
    expectCode(out, 0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toContain('LIFEBOAT RECOVERY KEY');
    // The same key on paper and in the file.
    const keyLines = (s: string) => s.split('key:')[1]!.split('\n\n')[0]!.trim();
    expect(keyLines(readFileSync(keyFile, 'utf8'))).toBe(keyLines(paper.stdout));

    // Opens with no password variable at all.
    const r = await runCli(['--repo', ctx.repo, '--key-file', keyFile, '--json', 'snapshots'], {
      env: cliEnvFor(ctx.cache, undefined),
    });
    expectCode(r, 0);
    expect((JSON.parse(r.stdout) as { snapshots: unknown[] }).snapshots.length).toBeGreaterThan(0);
    const viaEnv = await runCli(['--repo', ctx.repo, 'ls', 'latest'], {
      env: cliEnvFor(ctx.cache, undefined, { LIFEBOAT_KEY_FILE: keyFile }),
    });
    expectCode(viaEnv, 0);
    const restored = path.join(ctx.dir, 'by-key-file');
    expectCode(
      await runCli(['--repo', ctx.repo, '--key-file', keyFile, 'restore', 'latest', '--target', restored], {
        env: cliEnvFor(ctx.cache, undefined),
      }),
      0,
    );
    expect(readFileSync(path.join(restoredPath(restored, path.join(ctx.dir, 'data')), 'file.txt'), 'utf8')).toBe(
      'keyed\n',
    );

    // Never overwrites an existing file.
    const again = await lb(ctx, ['key', 'export', '--out', keyFile]);
    expect(again.code).not.toBe(0);
    // export needs a destination.
    expectCode(await lb(ctx, ['key', 'export']), 2);
  });

  it('a damaged or foreign key file exits 12 and never says "corrupt"', async () => {
    const keyFile = path.join(ctx.dir, 'typo.key');
    expectCode(await lb(ctx, ['key', 'export', '--out', keyFile]), 0);
    const text = readFileSync(keyFile, 'utf8');
    const lines = text.split('\n');
    const k = lines.indexOf('key:') + 1;
    // Change one character of the key: the checksum must catch it.
    const first = lines[k]!;
    lines[k] = (first[0] === 'A' ? 'B' : 'A') + first.slice(1);
    const typo = path.join(ctx.dir, 'typo2.key');
    writeFileSync(typo, lines.join('\n'), { mode: 0o600 });
    const r = await runCli(['--repo', ctx.repo, '--key-file', typo, 'snapshots'], {
      env: cliEnvFor(ctx.cache, undefined),
    });
    expectCode(r, 12);
    expect(r.stderr).not.toMatch(/corrupt/i);

    // A valid key of another repository.
    const other: Ctx = { ...ctx, repo: path.join(ctx.dir, 'other-repo') };
    await initRepo(other);
    const foreign = path.join(ctx.dir, 'foreign.key');
    expectCode(await lb(other, ['key', 'export', '--out', foreign]), 0);
    const f = await runCli(['--repo', ctx.repo, '--key-file', foreign, 'snapshots'], {
      env: cliEnvFor(ctx.cache, undefined),
    });
    expectCode(f, 12);
    expect(f.stderr).not.toMatch(/corrupt/i);

    // A key file that does not exist.
    const missing = await runCli(['--repo', ctx.repo, '--key-file', path.join(ctx.dir, 'nope.key'), 'snapshots'], {
      env: cliEnvFor(ctx.cache, undefined),
    });
    expectCode(missing, 12);
  });
});

// ---------------------------------------------------------------------------

describe('--json everywhere', () => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await newCtx('json');
  });
  afterAll(async () => ctx.cleanup());

  it('every command prints only JSON on stdout with --json', async () => {
    const src = path.join(ctx.dir, 'data');
    mkdirSync(src);
    writeFileSync(path.join(src, 'one.txt'), 'one\n');
    const streams = new Set(['backup', 'restore', 'check']);
    const run = async (args: string[], expected = 0, extra: Record<string, string | undefined> = {}) => {
      const r = await lb(ctx, ['--json', ...args], extra);
      expectCode(r, expected);
      const lines = jsonLines(r.stdout);
      expect(lines.length, `${args.join(' ')} printed nothing`).toBeGreaterThan(0);
      if (expected === 0 && streams.has(args[0]!)) expect(lines[lines.length - 1]!.type).toBe('summary');
      if (expected !== 0) expect(lines[lines.length - 1]!.type).toBe('error');
      return lines[lines.length - 1]!;
    };
    await run(['init']);
    const b1 = await run(['backup', src]);
    writeFileSync(path.join(src, 'two.txt'), 'two\n');
    const b2 = await run(['backup', src]);
    const id1 = (b1.snapshot as { id: string }).id;
    const id2 = (b2.snapshot as { id: string }).id;
    await run(['snapshots']);
    await run(['ls', 'latest']);
    await run(['diff', id1, id2]);
    await run(['restore', 'latest', '--target', path.join(ctx.dir, 'r1')]);
    await run(['restore', 'latest', '--target', path.join(ctx.dir, 'r2'), '--dry-run']);
    await run(['check']);
    await run(['check', '--read-data']);
    await run(['key', 'list']);
    const added = await run(['key', 'add'], 0, { LIFEBOAT_NEW_PASSWORD: 'other' });
    await run(['key', 'remove', added.added as string]);
    await run(['key', 'passwd'], 0, { LIFEBOAT_NEW_PASSWORD: PW });
    const paper = await run(['key', 'export', '--paper']);
    expect(paper.page as string).toContain('LIFEBOAT RECOVERY KEY');
    await run(['key', 'export', '--out', path.join(ctx.dir, 'k.key')]);
    // Errors are JSON too, with code and hint.
    const err = await run(['ls', 'deadbeef'], 1);
    expect((err.error as { code: string }).code).toBe('not_found');
    const noTarget = await run(['restore', 'latest'], 2);
    expect((noTarget.error as { hint?: string }).hint).toBeTruthy();
    const wrong = await lb(ctx, ['--json', 'snapshots'], {}, 'wrong');
    expectCode(wrong, 12);
    expect(jsonLines(wrong.stdout).at(-1)!.type).toBe('error');
    // Every command once: 40-50 s alone, over 60 s on a loaded two-core machine.
  }, 300_000);
});

// ---------------------------------------------------------------------------

describe('hardlinks across backups', () => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await newCtx('hardlinks');
  });
  afterAll(async () => ctx.cleanup());

  it('an unchanged tree of hardlinked files is recorded the same way every time and never read again', async () => {
    const src = path.join(ctx.dir, 'data');
    mkdirSync(src);
    for (let i = 0; i < 16; i++) {
      mkdirSync(path.join(src, `d${i}`));
      writeFileSync(path.join(src, `d${i}`, 'x'), `${i}\n`);
      writeFileSync(path.join(src, `p${i}a`), `pair ${i}\n`);
      linkSync(path.join(src, `p${i}a`), path.join(src, `p${i}b`));
    }
    await initRepo(ctx);
    const ids: string[] = [];
    const reads: number[] = [];
    for (let run = 0; run < 8; run++) {
      const r = await lb(ctx, ['--json', 'backup', src]);
      expectCode(r, 0);
      const doc = lastJson<{ snapshot: { id: string }; summary: { filesRead: number } }>(r.stdout);
      reads.push(doc.summary.filesRead);
      ids.push(doc.snapshot.id);
    }
    // Read the trees in-process (faster than one `ls` per snapshot).
    const lib = await openRepo(ctx.repo, PW);
    const shapes: string[] = [];
    try {
      await lib.loadIndex();
      const { snapshots } = await lib.listSnapshots();
      for (const id of ids) {
        const nodes = await snapshotNodes(
          lib,
          snapshots.find((s) => s.id === id)!,
        );
        shapes.push(
          [...nodes]
            .filter(([, n]) => n.type !== 'file' && n.type !== 'dir')
            .map(([p, node]) => `${p.slice(src.length + 1)}:${node.type}`)
            .sort()
            .join(' '),
        );
        // Every name of a linked pair is recorded as a file with its link count.
        for (const [p, node] of nodes)
          if (/\/p\d+[ab]$/.test(p)) expect(node, p).toMatchObject({ type: 'file', links: 2 });
      }
    } finally {
      await lib.close();
    }
    // Which name of a hardlinked pair becomes the file must not depend on timing.
    expect(new Set(shapes).size, `hardlink names per backup:\n${shapes.join('\n')}`).toBe(1);
    expect(reads.slice(1), 'files read per backup of an unchanged tree').toEqual(reads.slice(1).map(() => 0));
  });
});
