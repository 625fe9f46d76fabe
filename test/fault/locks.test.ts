import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, truncateSync, writeFileSync, closeSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../src/repository/crypto/index.js';
import { randomId } from '../../src/repository/ids.js';
import type { LockRecord } from '../../src/repository/locks.js';
import { lastJson, runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { openRepo } from '../helpers/repo-lib.js';

/**
 * Repository locks (docs/cli.md, exit 11): a live holder of an exclusive lock blocks
 * a backup with a message naming it; a lock left by a dead process on this host
 * (or one not refreshed for longer than the stale time) never blocks.
 *
 * `key add` reads the new password before it takes its lock, so a slow
 * LIFEBOAT_NEW_PASSWORD_COMMAND does not make it a lock holder; live holders
 * are made with the library in this process, or with a CLI backup kept busy
 * reading a large sparse file.
 */

const PW = 'locks test password';
let dir: string;
let repo: string;
let data: string;
let cleanup: () => Promise<void>;

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const env = () => cliEnvFor(path.join(dir, 'cache'), PW);
const cli = (args: string[], extra: Record<string, string> = {}) =>
  runCli(['--repo', repo, ...args], { env: { ...env(), ...extra } });
const lockNames = () => readdirSync(path.join(repo, 'locks')).filter((n) => !n.startsWith('.'));
const snapshotCount = async () =>
  (JSON.parse((await cli(['--json', 'snapshots'])).stdout) as { snapshots: unknown[] }).snapshots.length;

/** Write a lock object as another process would have. */
async function plantLock(record: Partial<LockRecord>): Promise<string> {
  const lib = await openRepo(repo, PW);
  try {
    const full: LockRecord = {
      host: os.hostname(),
      pid: 999_999,
      username: 'someone',
      time: new Date().toISOString(),
      exclusive: true,
      purpose: 'planted',
      ...record,
    };
    const name = `locks/${randomId()}`;
    await lib.storage.put(name, seal(lib.keys.encryption, 'lock', Buffer.from(JSON.stringify(full))));
    return name.slice('locks/'.length);
  } finally {
    await lib.close();
  }
}

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-locks-'));
  repo = path.join(dir, 'repo');
  data = path.join(dir, 'data');
  mkdirSync(data);
  writeFileSync(path.join(data, 'file.txt'), 'locked data\n');
  const r = await cli(['init']);
  expect(r.code, show(r)).toBe(0);
});
afterAll(async () => cleanup());

describe('locks', () => {
  it('an exclusive lock of a live process makes backup exit 11 naming the holder; nothing is saved', async () => {
    const lib = await openRepo(repo, PW);
    const lock = await lib.lock(true, 'test-exclusive-holder');
    try {
      const before = await snapshotCount().catch(() => 0);
      const r = await cli(['backup', data]);
      expect(r.code, show(r)).toBe(11);
      expect(r.stderr).toContain('test-exclusive-holder');
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(r.stderr).toContain(os.hostname());
      expect(r.stderr).toMatch(/hint:/);

      const j = await cli(['--json', 'backup', data]);
      expect(j.code, show(j)).toBe(11);
      const err = lastJson<{
        type: string;
        error: { code: string; context?: { holder?: { pid: number; purpose: string; exclusive: boolean } } };
      }>(j.stdout);
      expect(err.type).toBe('error');
      expect(err.error.code).toBe('locked');
      expect(err.error.context?.holder).toMatchObject({
        pid: process.pid,
        purpose: 'test-exclusive-holder',
        exclusive: true,
      });

      // Structure checks take a shared lock: blocked too.
      expect((await cli(['check'])).code).toBe(11);
      // The refused runs left no lock of their own and saved nothing.
      expect(lockNames()).toEqual([lock.objectName.slice('locks/'.length)]);
      expect(await snapshotCount()).toBe(before);
    } finally {
      await lock.release();
      await lib.close();
    }
    const after = await cli(['backup', data]);
    expect(after.code, show(after)).toBe(0);
    expect(lockNames()).toEqual([]);
  });

  it('a shared lock of a live process lets backups run but blocks exclusive operations', async () => {
    const lib = await openRepo(repo, PW);
    const lock = await lib.lock(false, 'test-shared-holder');
    try {
      const b = await cli(['backup', data]);
      expect(b.code, show(b)).toBe(0);
      const k = await cli(['key', 'add'], { LIFEBOAT_NEW_PASSWORD: 'another' });
      expect(k.code, show(k)).toBe(11);
      expect(k.stderr).toContain('test-shared-holder');
    } finally {
      await lock.release();
      await lib.close();
    }
  });

  it('a CLI backup in progress holds a lock that blocks `key add`; once it is killed, the lock no longer blocks', async () => {
    // A large sparse file keeps the backup reading (zeros, deduplicated) for a long while.
    const big = path.join(dir, 'busy');
    mkdirSync(big);
    closeSync(openSync(path.join(big, 'sparse.img'), 'w'));
    truncateSync(path.join(big, 'sparse.img'), 64 * 1024 ** 3);
    const child = startCli(['--repo', repo, 'backup', big], { env: env() });
    child.stdin!.end();
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    try {
      const deadline = Date.now() + 15_000;
      while (lockNames().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(lockNames().length, 'the backup never took its lock').toBe(1);
      const k = await cli(['key', 'add'], { LIFEBOAT_NEW_PASSWORD: 'another' });
      expect(k.code, show(k)).toBe(11);
      expect(k.stderr).toContain(`pid ${child.pid}`);
      expect(k.stderr).toMatch(/backup on /);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // The killed backup's lock is still in storage, but its process is dead: it must not block.
    expect(lockNames().length).toBe(1);
    const k2 = await cli(['--json', 'key', 'add'], { LIFEBOAT_NEW_PASSWORD: 'another' });
    expect(k2.code, show(k2)).toBe(0);
    expect(lockNames()).toEqual([]);
    const rm = await cli(['key', 'remove', (JSON.parse(k2.stdout) as { added: string }).added]);
    expect(rm.code, show(rm)).toBe(0);
  });

  it('a lock of a dead process on this host does not block and is removed', async () => {
    const pid = await deadPid();
    const planted = await plantLock({ pid, exclusive: true, purpose: 'crashed prune' });
    expect(lockNames()).toEqual([planted]);
    const r = await cli(['backup', data]);
    expect(r.code, show(r)).toBe(0);
    expect(lockNames()).toEqual([]);

    await plantLock({ pid: await deadPid(), exclusive: true, purpose: 'crashed key change' });
    const k = await cli(['key', 'add'], { LIFEBOAT_NEW_PASSWORD: 'third' });
    expect(k.code, show(k)).toBe(0);
    expect(lockNames()).toEqual([]);
  });

  it('a fresh lock from another host blocks; one not refreshed for longer than the stale time does not', async () => {
    const fresh = await plantLock({
      host: 'some-other-host.invalid',
      pid: 4242,
      exclusive: true,
      purpose: 'prune elsewhere',
    });
    const r = await cli(['backup', data]);
    expect(r.code, show(r)).toBe(11);
    expect(r.stderr).toContain('some-other-host.invalid');
    expect(r.stderr).toContain('prune elsewhere');
    // Remove it as its owner would, then plant one that is 2 hours old.
    const lib = await openRepo(repo, PW);
    await lib.storage.remove(`locks/${fresh}`);
    await lib.close();
    await plantLock({
      host: 'some-other-host.invalid',
      pid: 4242,
      exclusive: true,
      purpose: 'prune that died',
      time: new Date(Date.now() - 2 * 3600_000).toISOString(),
    });
    const ok = await cli(['backup', data]);
    expect(ok.code, show(ok)).toBe(0);
    expect(lockNames()).toEqual([]);
  });
});
