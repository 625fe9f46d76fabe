import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * The npm package as a new user gets it: `npm pack` of this tree (its built
 * dist/, as every end-to-end test uses), installed with `npm install -g` into a
 * fresh prefix from a directory outside the repository, with an environment
 * that holds nothing of the development tree (no node_modules/.bin on PATH, no
 * npm_* variables of the test runner). Through the INSTALLED `lifeboat`: init,
 * backup, restore (same bytes), and `serve` with the dashboard.
 *
 * Slow by nature: installing resolves every dependency and compiles the native
 * modules (better-sqlite3's SQLite amalgamation at -O3 alone took over 20
 * minutes on the shared 2-core test machine under a load of 25), so the install
 * is bounded at 45 minutes, not to time it but to stop a hung install.
 * Dependencies come from npm's cache (--prefer-offline).
 */
const INSTALL_TIMEOUT_MS = 45 * 60_000;

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_|^NODE_PATH$|^INIT_CWD$|^LIFEBOAT_|^VITEST|^TEST$/i.test(k)) continue;
    env[k] = v;
  }
  // The system's directories only: the Node.js running this test and nothing under the repository.
  env.PATH = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin']
    .filter((d, i, all) => all.indexOf(d) === i && !d.startsWith(ROOT))
    .join(':');
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The long install without blocking the test worker's event loop (a synchronous wait of many minutes can time out vitest's own RPC). */
function runAsync(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeout: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        stdout,
        stderr: `${stderr}${err ? String(err) : ''}`,
      });
    });
  });
}

describe('the npm package, installed into a fresh prefix', () => {
  let tmp: string;
  let prefix: string;
  let lifeboat: string;
  let work: string;
  const PW = 'packed tarball passphrase';

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-npm-pack-'));
    work = path.join(tmp, 'work');
    mkdirSync(work);
    // Packed and installed once per tree: the Debian package test reuses the same install (scripts/packed-install.mjs).
    const packed = await runAsync(
      process.execPath,
      [path.join(ROOT, 'scripts/packed-install.mjs'), '--shared-cache'],
      tmp,
      cleanEnv(),
      INSTALL_TIMEOUT_MS,
    );
    expect(packed.code, packed.stderr).toBe(0);
    const { tarball, prefix: installed } = JSON.parse(packed.stdout.trim().split('\n').pop()!) as {
      tarball: string;
      prefix: string;
    };
    prefix = installed;
    const listing = run('tar', ['tzf', tarball], tmp, cleanEnv()).stdout.split('\n');
    for (const f of [
      'package/native/binding.gyp',
      'package/native/lifeboat_fs.c',
      'package/dist/cli/main.js',
      'package/dist/web/index.html',
      'package/bin/lifeboat-wal-spool',
    ])
      expect(listing).toContain(f);
    // The reference is built with the package but not shipped in it (the types are).
    expect(listing.some((f) => f.startsWith('package/dist/api/'))).toBe(false);
    expect(listing).toContain('package/dist/index.d.ts');
    lifeboat = path.join(prefix, 'bin', 'lifeboat');
  }, INSTALL_TIMEOUT_MS + 120_000);
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const env = () =>
    cleanEnv({
      PATH: `${path.join(prefix, 'bin')}:${cleanEnv().PATH}`,
      LIFEBOAT_PASSWORD: PW,
      LIFEBOAT_CACHE_DIR: path.join(tmp, 'cache'),
    });

  it('is the installed program, with its native helper built, not the development tree', () => {
    expect(existsSync(lifeboat)).toBe(true);
    const target = realpathSync(lifeboat);
    expect(target.startsWith(realpathSync(prefix))).toBe(true);
    expect(target.startsWith(realpathSync(ROOT))).toBe(false);
    expect(existsSync(path.join(prefix, 'lib/node_modules/lifeboat/native/build/Release/lifeboat_fs.node'))).toBe(true);
    const which = run('sh', ['-c', 'command -v lifeboat'], work, env());
    expect(which.stdout.trim()).toBe(lifeboat);
    const version = run('lifeboat', ['--version'], work, env());
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toContain(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('inits a repository, backs up and restores the same bytes', () => {
    const data = path.join(work, 'data');
    mkdirSync(path.join(data, 'sub'), { recursive: true });
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
    writeFileSync(path.join(data, 'sub', 'blob.bin'), bytes);
    writeFileSync(path.join(data, 'notes.txt'), 'remember the milk\n');
    const repo = path.join(work, 'repo');
    const init = run('lifeboat', ['--repo', repo, 'init'], work, env());
    expect(init.code, init.stderr).toBe(0);
    const backup = run('lifeboat', ['--repo', repo, 'backup', data], work, env());
    expect(backup.code, backup.stderr).toBe(0);
    const target = path.join(work, 'restored');
    const restore = run('lifeboat', ['--repo', repo, 'restore', 'latest', '--target', target], work, env());
    expect(restore.code, restore.stderr).toBe(0);
    const under = path.join(target, ...data.split('/').filter(Boolean));
    expect(readFileSync(path.join(under, 'sub', 'blob.bin')).equals(bytes)).toBe(true);
    expect(readFileSync(path.join(under, 'notes.txt'), 'utf8')).toBe('remember the milk\n');
  });

  it('serves the API and the dashboard, and stops on SIGTERM', async () => {
    writeFileSync(path.join(work, 'repo.pass'), `${PW}\n`, { mode: 0o600 });
    writeFileSync(path.join(work, 'notes.txt'), 'n\n');
    const config = path.join(work, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  notes: { type: files, paths: [./notes.txt] }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [notes], to: local }
server: { listen: "127.0.0.1:0" }
`,
    );
    const child = spawn('lifeboat', ['--config', config, 'serve'], {
      cwd: work,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // 60 s to start: the daemon opens the repository and rebuilds its catalog on a shared, busy machine.
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 60_000);
        child.stderr.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toMatch(/<!doctype html>/i);
      const asset = /(?:src|href)="(\/assets\/[^"]+)"/.exec(html)?.[1];
      expect(asset, html).toBeDefined();
      const a = await fetch(`${url}${asset}`);
      expect(a.status).toBe(200);
      expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 120_000);
});
