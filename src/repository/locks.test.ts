import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { FaultyStorage } from '../storage/middleware/index.js';
import { open, seal } from './crypto/index.js';
import { randomId } from './ids.js';
import { acquireLock, isStale, readLocks, type LockHandle, type LockRecord, type LockTiming } from './locks.js';
import { expectRejectsCode } from './testing/helpers.js';

const STALE_MS = 30 * 60_000;
const T0 = Date.parse('2024-06-01T12:00:00.000Z');

let clock: number;
let timing: LockTiming;
let objects: Map<string, Buffer>;
let storage: MemoryStorage;
let key: Buffer;
const handles: LockHandle[] = [];

beforeEach(() => {
  clock = T0;
  // refreshMs stays within setInterval's range; the handles' timers never fire during a test.
  timing = { refreshMs: 10 * 60_000, staleMs: STALE_MS, now: () => clock };
  objects = new Map();
  storage = new MemoryStorage(objects);
  key = randomBytes(32);
});

afterEach(async () => {
  for (const h of handles.splice(0)) await h.release();
  vi.restoreAllMocks();
});

async function take(exclusive: boolean, purpose = exclusive ? 'prune' : 'backup'): Promise<LockHandle> {
  const h = await acquireLock(storage, key, exclusive, purpose, timing);
  handles.push(h);
  return h;
}

const lockNames = () => [...objects.keys()].filter((n) => n.startsWith('locks/'));

/** A lock record written by "someone else", sealed like a real one. */
async function plant(record: Partial<LockRecord>): Promise<string> {
  const full: LockRecord = {
    host: os.hostname(),
    pid: process.pid,
    username: 'someone',
    time: new Date(clock).toISOString(),
    exclusive: false,
    purpose: 'planted',
    ...record,
  };
  const name = `locks/${randomId()}`;
  await storage.put(name, seal(key, 'lock', Buffer.from(JSON.stringify(full))));
  return name;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
  // Reaped: signal 0 must now fail with ESRCH.
  expect(() => process.kill(pid, 0)).toThrow();
  return pid;
}

describe('repository locks', () => {
  it('refuses a lock when the listing of locks/ does not show the lock just written (a short listing)', async () => {
    const short = new FaultyStorage(storage, (op, name) =>
      op === 'list' && name === 'locks/' ? { kind: 'filter-list', keep: () => false } : undefined,
    );
    await expectRejectsCode(acquireLock(short, key, true, 'prune', timing), ErrorCode.Storage);
    expect([...objects.keys()].filter((n) => n.startsWith('locks/'))).toEqual([]);
  });

  it('an exclusive lock counts a holder that only one of two listings shows', async () => {
    const backup = await take(false);
    let lists = 0;
    const flaky = new FaultyStorage(storage, (op, name) =>
      op === 'list' && name === 'locks/' && ++lists === 1
        ? { kind: 'filter-list', keep: (o) => o.name !== backup.objectName }
        : undefined,
    );
    await expectRejectsCode(acquireLock(flaky, key, true, 'prune', timing), ErrorCode.Locked);
  });

  it('a lock is a sealed record in locks/ describing its holder', async () => {
    const h = await take(false, 'backup');
    expect(lockNames()).toEqual([h.objectName]);
    const record = JSON.parse(open(key, 'lock', objects.get(h.objectName)!).toString()) as LockRecord;
    expect(record).toMatchObject({
      host: os.hostname(),
      pid: process.pid,
      exclusive: false,
      purpose: 'backup',
      time: new Date(T0).toISOString(),
    });
    // Not readable without the key.
    expect(objects.get(h.objectName)!.toString('latin1')).not.toContain('backup');
  });

  it('two shared locks coexist', async () => {
    const a = await take(false);
    const b = await take(false);
    expect(a.objectName).not.toBe(b.objectName);
    expect(lockNames().sort()).toEqual([a.objectName, b.objectName].sort());
    await a.assertHeld();
    await b.assertHeld();
  });

  it('exclusive after shared → locked, and the refused attempt leaves no lock behind', async () => {
    const shared = await take(false, 'backup');
    const err = await expectRejectsCode(acquireLock(storage, key, true, 'prune', timing), ErrorCode.Locked);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('backup');
    expect(err.context.holder).toMatchObject({ pid: process.pid, purpose: 'backup', exclusive: false });
    expect(lockNames()).toEqual([shared.objectName]);
  });

  it('shared after exclusive → locked', async () => {
    const ex = await take(true, 'prune');
    await expectRejectsCode(acquireLock(storage, key, false, 'backup', timing), ErrorCode.Locked);
    expect(lockNames()).toEqual([ex.objectName]);
  });

  it('exclusive after exclusive → locked', async () => {
    await take(true);
    await expectRejectsCode(acquireLock(storage, key, true, 'key remove', timing), ErrorCode.Locked);
  });

  it('after release, the other kind of lock can be taken', async () => {
    const a = await take(false);
    const b = await take(false);
    await expectRejectsCode(acquireLock(storage, key, true, 'prune', timing), ErrorCode.Locked);
    await a.release();
    await expectRejectsCode(acquireLock(storage, key, true, 'prune', timing), ErrorCode.Locked);
    await b.release();
    const ex = await take(true);
    expect(lockNames()).toEqual([ex.objectName]);
  });

  it('a stale lock (older than staleMs) is removed by the next acquirer', async () => {
    const stale = await plant({ exclusive: true, time: new Date(T0 - STALE_MS - 1).toISOString() });
    const h = await take(true);
    expect(objects.has(stale)).toBe(false);
    expect(lockNames()).toEqual([h.objectName]);
  });

  it('a stale lock the storage refuses to remove (append-only server) is left and ignored, not fatal', async () => {
    const stale = await plant({ exclusive: true, time: new Date(T0 - STALE_MS - 1).toISOString() });
    const remove = storage.remove.bind(storage);
    vi.spyOn(storage, 'remove').mockImplementation(async (name: string) => {
      if (name === stale) throw new LifeboatError(ErrorCode.AppendOnly, 'refused: not this token’s lock');
      return remove(name);
    });
    const h = await take(false);
    expect(objects.has(stale)).toBe(true);
    expect(lockNames().sort()).toEqual([h.objectName, stale].sort());
  });

  it('any other failure to remove a stale lock still fails the acquisition', async () => {
    const stale = await plant({ exclusive: true, time: new Date(T0 - STALE_MS - 1).toISOString() });
    vi.spyOn(storage, 'remove').mockImplementation(async (name: string) => {
      if (name === stale) throw new LifeboatError(ErrorCode.Storage, 'network down');
    });
    await expectRejectsCode(acquireLock(storage, key, false, 'backup', timing), 'storage');
  });

  it('a lock exactly staleMs old is stale; one a millisecond younger is not', async () => {
    const old = await plant({ exclusive: true, time: new Date(T0 - STALE_MS).toISOString() });
    await take(false);
    expect(objects.has(old)).toBe(false);

    const young = await plant({ exclusive: true, time: new Date(T0 - STALE_MS + 1).toISOString() });
    await expectRejectsCode(acquireLock(storage, key, false, 'backup', timing), ErrorCode.Locked);
    expect(objects.has(young)).toBe(true);
  });

  it('a lock becomes stale when time passes without a refresh', async () => {
    const planted = await plant({ exclusive: true });
    await expectRejectsCode(acquireLock(storage, key, false, 'backup', timing), ErrorCode.Locked);
    clock += STALE_MS;
    await take(false);
    expect(objects.has(planted)).toBe(false);
  });

  it('an authentic lock with a field missing or of the wrong type is treated like a damaged one, never crashes', async () => {
    await plant({ pid: 'not-a-pid' as unknown as number, exclusive: true });
    await plant({ host: null as unknown as string, exclusive: true });
    const listed = await readLocks(storage, key);
    expect(listed.filter((l) => l.record === undefined)).toHaveLength(2);
  });

  it('a lock with an unparseable time is stale', async () => {
    const bad = await plant({ exclusive: true, time: 'yesterday-ish' });
    await take(true);
    expect(objects.has(bad)).toBe(false);
  });

  it('a fresh lock of a dead process on this host is stale and removed', async () => {
    const pid = await deadPid();
    const dead = await plant({ exclusive: true, pid });
    expect(
      isStale(
        { host: os.hostname(), pid, username: 'x', time: new Date(clock).toISOString(), exclusive: true, purpose: 'p' },
        timing,
      ),
    ).toBe(true);
    const h = await take(true);
    expect(objects.has(dead)).toBe(false);
    expect(lockNames()).toEqual([h.objectName]);
  });

  it('a fresh lock of a live process on this host is respected', async () => {
    // The parent of this test process is alive for the whole test.
    await plant({ exclusive: true, pid: process.ppid });
    await expectRejectsCode(acquireLock(storage, key, false, 'backup', timing), ErrorCode.Locked);
  });

  it('a fresh lock of a (locally dead) pid on another host is respected', async () => {
    const pid = await deadPid();
    const remote = await plant({ exclusive: true, pid, host: `${os.hostname()}-elsewhere` });
    await expectRejectsCode(acquireLock(storage, key, false, 'backup', timing), ErrorCode.Locked);
    expect(objects.has(remote)).toBe(true);
  });

  it('readLocks reads every lock, leaving unreadable ones without a record', async () => {
    const a = await plant({ purpose: 'one' });
    objects.set(`locks/${'e'.repeat(64)}`, randomBytes(80));
    const locks = await readLocks(storage, key);
    expect(locks).toHaveLength(2);
    expect(locks.find((l) => l.name === a)?.record?.purpose).toBe('one');
    expect(locks.find((l) => l.name !== a)?.record).toBeUndefined();
  });

  describe('assertHeld', () => {
    it('passes while the lock is present and fresh', async () => {
      const h = await take(false);
      clock += STALE_MS - 1;
      await h.assertHeld();
    });

    it('throws lock_lost when the lock object was removed by someone else', async () => {
      const h = await take(false);
      objects.delete(h.objectName);
      await expectRejectsCode(h.assertHeld(), ErrorCode.LockLost);
    });

    it('throws lock_lost when a stale-lock sweep by another process removed it', async () => {
      const h = await take(true);
      // Another process, later: it sees our lock as stale and removes it.
      clock += STALE_MS + 1;
      const other = await acquireLock(storage, key, true, 'prune', timing);
      handles.push(other);
      clock -= STALE_MS + 1; // (even with our own clock looking fine)
      await expectRejectsCode(h.assertHeld(), ErrorCode.LockLost);
    });

    it('throws lock_lost when now jumps past staleMs (process suspended), even if the object is still there', async () => {
      const h = await take(false);
      clock += STALE_MS;
      await expectRejectsCode(h.assertHeld(), ErrorCode.LockLost);
      expect(objects.has(h.objectName)).toBe(true);
    });

    it('refresh replaces the lock object, updates its time and resets the deadline', async () => {
      const h = await take(false);
      const before = h.objectName;
      clock += STALE_MS - 1000;
      await h.refresh();
      expect(h.objectName).not.toBe(before);
      expect(objects.has(before)).toBe(false);
      expect(lockNames()).toEqual([h.objectName]);
      const record = JSON.parse(open(key, 'lock', objects.get(h.objectName)!).toString()) as LockRecord;
      expect(Date.parse(record.time)).toBe(clock);
      clock += STALE_MS - 1;
      await h.assertHeld();
      clock += 1;
      await expectRejectsCode(h.assertHeld(), ErrorCode.LockLost);
    });

    it('refresh of a lost lock fails with lock_lost and does not recreate it', async () => {
      const h = await take(false);
      objects.delete(h.objectName);
      await expectRejectsCode(h.refresh(), ErrorCode.LockLost);
      expect(lockNames()).toEqual([]);
    });
  });

  it('release removes the lock object and is idempotent', async () => {
    const h = await take(true);
    await h.release();
    expect(lockNames()).toEqual([]);
    await h.release();
    await take(true);
  });

  it('locks can be taken when the current user has no passwd entry (os.userInfo throws)', async () => {
    // Containers often run with an arbitrary uid that /etc/passwd does not know; Node then throws
    // SystemError ERR_SYSTEM_ERROR (uv_os_get_passwd returned ENOENT). key-slot.ts already falls
    // back for this case; a backup must not fail just because the lock record wants a user name.
    vi.spyOn(os, 'userInfo').mockImplementation(() => {
      throw Object.assign(
        new Error('A system error occurred: uv_os_get_passwd returned ENOENT (no such file or directory)'),
        { code: 'ERR_SYSTEM_ERROR' },
      );
    });
    const h = await take(false);
    expect(lockNames()).toEqual([h.objectName]);
  });
});
