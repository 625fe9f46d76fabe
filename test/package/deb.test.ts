import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * The Debian package of `npm run package:deb` on this machine: built from the
 * tree's dist/ (built before the tests, as for every end-to-end test),
 * installed with `dpkg -i`, run, checked by `systemd-analyze verify`, then
 * purged: nothing of it may remain but the repositories under
 * /var/lib/lifeboat/repositories (and, with them, the user that owns them).
 *
 * Needs root (dpkg). Slow: building the package installs the npm package,
 * which compiles the native modules (over 20 minutes on the shared 2-core test
 * machine under a load of 25), so the build is bounded at 45 minutes to stop a
 * hung build, not to time it.
 */
const BUILD_TIMEOUT_MS = 45 * 60_000;
const STATE = '/var/lib/lifeboat';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 300_000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}
/** The long build without blocking the test worker's event loop (a synchronous wait of many minutes times out vitest's own RPC). */
function runAsync(
  cmd: string,
  args: string[],
  timeout: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        stdout,
        stderr: `${stderr}${err ? String(err) : ''}`,
      });
    });
  });
}
const userExists = (name: string) => run('getent', ['passwd', name]).code === 0;
const groupExists = (name: string) => run('getent', ['group', name]).code === 0;

describe('the Debian package (dpkg -i, systemd-analyze verify, dpkg --purge)', () => {
  let tmp: string;
  let deb: string;

  beforeAll(async () => {
    expect(process.getuid?.(), 'dpkg -i needs root').toBe(0);
    expect(
      run('dpkg', ['-s', 'lifeboat']).code,
      'a lifeboat package is installed on this machine already: remove it first',
    ).not.toBe(0);
    expect(userExists('lifeboat'), 'a lifeboat user exists already').toBe(false);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-deb-test-'));
    const build = await runAsync(
      process.execPath,
      // The npm package test's install of this same tree is reused (scripts/packed-install.mjs).
      [path.join(ROOT, 'scripts/package-deb.mjs'), '--no-build', '--shared-cache', '--out', tmp],
      BUILD_TIMEOUT_MS,
    );
    expect(build.code, build.stderr).toBe(0);
    deb = build.stdout.trim().split('\n').pop()!;
    expect(existsSync(deb), build.stdout).toBe(true);
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    // Whatever a failed assertion left behind: the package, its kept repositories, its user.
    if (run('dpkg', ['-s', 'lifeboat']).code === 0) run('dpkg', ['--purge', 'lifeboat']);
    await rm(STATE, { recursive: true, force: true });
    if (userExists('lifeboat')) run('userdel', ['lifeboat']);
    if (groupExists('lifeboat')) run('groupdel', ['lifeboat']);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('declares its layout and dependencies', () => {
    const info = run('dpkg-deb', ['--info', deb]);
    expect(info.stdout).toMatch(/Depends: nodejs \(>= 20[.\d]*\), nodejs \(<< \d+\), adduser/);
    expect(info.stdout).toContain('conffiles');
    const contents = run('dpkg-deb', ['--contents', deb]).stdout;
    for (const p of [
      './usr/bin/lifeboat',
      './usr/bin/lifeboat-wal-spool -> ../lib/lifeboat/bin/lifeboat-wal-spool',
      './usr/lib/lifeboat/bin/lifeboat-wal-spool',
      './usr/lib/lifeboat/dist/cli/main.js',
      './usr/lib/lifeboat/dist/web/index.html',
      './usr/lib/lifeboat/native/build/Release/lifeboat_fs.node',
      './lib/systemd/system/lifeboat.service',
      './lib/systemd/system/lifeboat-replicate@.service',
      './etc/lifeboat/lifeboat.yaml',
    ]) {
      expect(contents).toContain(p);
    }
    expect(contents).not.toMatch(/node_modules\/(vitest|typescript|vite)\//);
  });

  it('installs, runs, passes systemd-analyze verify, and purges to nothing but the repositories', () => {
    const install = run('dpkg', ['-i', deb]);
    expect(install.code, install.stderr).toBe(0);
    expect(userExists('lifeboat')).toBe(true);
    const st = statSync(STATE);
    expect(st.mode & 0o777).toBe(0o750);
    expect(run('id', ['-u', 'lifeboat']).stdout.trim()).toBe(String(st.uid));

    const version = run('/usr/bin/lifeboat', ['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/\d+\.\d+\.\d+/);
    const validate = run('/usr/bin/lifeboat', ['config', 'validate', '/etc/lifeboat/lifeboat.yaml']);
    expect(validate.stdout + validate.stderr).toContain('lifeboat.yaml');

    // The units as installed; the template through an instance name, as systemd would load it.
    const units = ['/lib/systemd/system/lifeboat.service', '/lib/systemd/system/lifeboat-replicate@.service'];
    const verify = run('systemd-analyze', [
      'verify',
      '--man=no',
      units[0]!,
      `${units[1]!.replace('@.service', '@app-db.service')}`,
    ]);
    const complaints = verify.stderr.split('\n').filter((l) => l.includes('lifeboat'));
    expect(complaints, `${verify.stdout}\n${verify.stderr}`).toEqual([]);
    expect(verify.code, verify.stderr).toBe(0);

    // A repository kept under the state directory, and state that purge must remove.
    const repo = path.join(STATE, 'repositories', 'main');
    const init = run('/usr/bin/lifeboat', ['--repo', repo, 'init'], {
      ...process.env,
      LIFEBOAT_PASSWORD: 'deb test passphrase',
      LIFEBOAT_CACHE_DIR: path.join(tmp, 'cache'),
    });
    expect(init.code, init.stderr).toBe(0);
    run('install', ['-d', '-o', 'lifeboat', path.join(STATE, 'runs')]);

    // dpkg -L starts with `/.`, the root itself, which no package owns.
    const listed = run('dpkg', ['-L', 'lifeboat'])
      .stdout.split('\n')
      .filter((p) => p && p !== '/.');
    expect(listed.length).toBeGreaterThan(100);
    const purge = run('dpkg', ['--purge', 'lifeboat']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stderr).toContain('kept /var/lib/lifeboat/repositories');
    // A path that remains must be a directory another package owns (such as /usr/bin, or /lib, a link to usr/lib).
    const left = listed.filter(
      (p) => existsSync(p) && !(statSync(p).isDirectory() && run('dpkg', ['-S', p]).code === 0),
    );
    expect(left).toEqual([]);
    expect(existsSync('/etc/lifeboat')).toBe(false);
    expect(readdirSync(STATE)).toEqual(['repositories']);
    expect(existsSync(path.join(repo, 'config'))).toBe(true);
    expect(userExists('lifeboat')).toBe(true);
  });

  it('purged without repositories, leaves no state and no user', async () => {
    await rm(STATE, { recursive: true, force: true });
    const install = run('dpkg', ['-i', deb]);
    expect(install.code, install.stderr).toBe(0);
    const purge = run('dpkg', ['--purge', 'lifeboat']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(existsSync(STATE)).toBe(false);
    expect(existsSync('/etc/lifeboat')).toBe(false);
    expect(existsSync('/usr/lib/lifeboat')).toBe(false);
    expect(existsSync('/usr/bin/lifeboat')).toBe(false);
    expect(userExists('lifeboat')).toBe(false);
    expect(groupExists('lifeboat')).toBe(false);
  });
});
