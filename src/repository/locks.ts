/**
 * Repository locks (`locks/<random id>`, sealed). Backups take shared locks;
 * prune and key changes take exclusive ones. A lock is refreshed every
 * `refreshMs`; a lock not refreshed for `staleMs`, or held by a dead process on
 * this host, is stale and removed by whoever finds it. A process that cannot
 * prove it still holds its lock (its lock vanished, or it was frozen longer than
 * `staleMs`) must stop without saving a snapshot: `assertHeld` checks that.
 *
 * @module
 */

import { z } from 'zod';
import os from 'node:os';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { exponentialBackoff, retry } from '../util/retry.js';
import type { Storage } from '../storage/contract.js';
import { isSessionKey, open, seal } from './crypto/index.js';
import { randomId } from './ids.js';

/** The content of a lock object: who holds it (host, pid), how (shared or exclusive), and when it was last refreshed. */
export interface LockRecord {
  host: string;
  pid: number;
  username: string;
  time: string;
  exclusive: boolean;
  purpose: string;
}

/** A lock object that decrypts but lacks a field is treated like a damaged one: it cannot name a holder. */
const lockRecordSchema = z.looseObject({
  host: z.string(),
  pid: z.number().int(),
  username: z.string(),
  // An unparseable time is kept: such a lock is stale (see isStale), not damaged.
  time: z.string(),
  exclusive: z.boolean(),
  purpose: z.string(),
});

/**
 * The name of a new lock object. An exclusive lock says so in its name too, in
 * clear: a write-only key cannot open other processes' locks, and must still
 * never start a backup while an admin holds the exclusive lock (format document §12).
 */
function lockName(exclusive: boolean): string {
  return `locks/${randomId()}${exclusive ? EXCLUSIVE_SUFFIX : ''}`;
}
const EXCLUSIVE_SUFFIX = '-exclusive';

export interface LockTiming {
  refreshMs: number;
  staleMs: number;
  now: () => number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { refreshMs: 5 * 60_000, staleMs: 30 * 60_000, now: Date.now };

/** The user name, or the uid when it has no passwd entry (containers with arbitrary uids). */
function currentUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

export function isStale(lock: LockRecord, timing: LockTiming): boolean {
  const age = timing.now() - Date.parse(lock.time);
  if (!(age < timing.staleMs)) return true;
  return lock.host === os.hostname() && lock.pid !== process.pid && !processAlive(lock.pid);
}

export class LockHandle {
  private name: string;
  private lastRefresh: number;
  private timer: NodeJS.Timeout | undefined;
  private lost: Error | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly key: Buffer,
    private readonly record: LockRecord,
    name: string,
    private readonly timing: LockTiming,
  ) {
    this.name = name;
    this.lastRefresh = timing.now();
    this.timer = setInterval(() => void this.refresh().catch((err: Error) => (this.lost ??= err)), timing.refreshMs);
    this.timer.unref();
  }

  get objectName(): string {
    return this.name;
  }

  /** Replace the lock object with a fresh one (objects are never rewritten in place). */
  async refresh(): Promise<void> {
    await this.assertHeld();
    const old = this.name;
    const now = this.timing.now();
    const record = { ...this.record, time: new Date(now).toISOString() };
    const name = lockName(this.record.exclusive);
    await this.storage.put(name, seal(this.key, 'lock', Buffer.from(JSON.stringify(record))));
    this.name = name;
    this.lastRefresh = now;
    await this.storage.remove(old);
  }

  /** Throws `lock_lost` unless this process provably still holds its lock. */
  async assertHeld(): Promise<void> {
    if (this.lost) throw lockLost(`refreshing the lock failed: ${this.lost.message}`);
    if (this.timing.now() - this.lastRefresh >= this.timing.staleMs) {
      throw lockLost('the lock was not refreshed in time (was the process suspended?)');
    }
    try {
      await this.storage.stat(this.name);
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.NotFound)) throw lockLost('the lock was removed by another process');
      throw err;
    }
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.storage.remove(this.name).catch(() => undefined);
  }
}

function lockLost(why: string): LifeboatError {
  return new LifeboatError(ErrorCode.LockLost, `lost the repository lock: ${why}; nothing was saved`, {
    hint: 'run the command again',
  });
}

export async function readLocks(
  storage: Storage,
  key: Buffer,
): Promise<Array<{ name: string; record: LockRecord | undefined }>> {
  const objects = await storage.list('locks/');
  return Promise.all(
    objects.map(async (o) => {
      let data: Buffer;
      try {
        data = await storage.get(o.name);
      } catch (err) {
        // Released while we listed: no longer a holder. Any other read error must not be mistaken for "no lock".
        if (isLifeboatError(err, ErrorCode.NotFound)) return { name: o.name, record: undefined };
        throw err;
      }
      try {
        const checked = lockRecordSchema.safeParse(JSON.parse(open(key, 'lock', data).toString('utf8')));
        return { name: o.name, record: checked.success ? (checked.data as LockRecord) : undefined };
      } catch {
        return { name: o.name, record: undefined }; // damaged lock object: cannot name a holder
      }
    }),
  );
}

function unionByName<T extends { name: string; record: unknown }>(a: T[], b: T[]): T[] {
  const out = new Map(a.map((l) => [l.name, l]));
  for (const l of b) if (!out.get(l.name)?.record) out.set(l.name, l);
  return [...out.values()];
}

export async function acquireLock(
  storage: Storage,
  key: Buffer,
  exclusive: boolean,
  purpose: string,
  timing: LockTiming = DEFAULT_LOCK_TIMING,
): Promise<LockHandle> {
  const record: LockRecord = {
    host: os.hostname(),
    pid: process.pid,
    username: currentUsername(),
    time: new Date(timing.now()).toISOString(),
    exclusive,
    purpose,
  };
  const name = lockName(exclusive);
  await storage.put(name, seal(key, 'lock', Buffer.from(JSON.stringify(record))));
  const handle = new LockHandle(storage, key, record, name, timing);
  try {
    const listed = await readLocks(storage, key);
    // A listing that lacks the lock just written is short: it cannot prove that no other lock conflicts.
    if (!listed.some((l) => l.name === name)) {
      throw new LifeboatError(
        ErrorCode.Storage,
        `the listing of locks/ does not show the lock just written (${name}); the storage lists objects incompletely`,
        {
          hint: 'check the storage endpoint or server; no lock can be trusted while its listings are short',
          retryable: true,
        },
      );
    }
    // An exclusive lock guards deletions: a holder seen by either of two listings counts.
    const others = exclusive ? unionByName(listed, await readLocks(storage, key)) : listed;
    for (const other of others) {
      if (other.name === name) continue;
      if (!other.record) {
        // A write session cannot read other locks: their names say which are exclusive.
        if (isSessionKey(key) && other.name.endsWith(EXCLUSIVE_SUFFIX)) throw lockedByUnreadable(other.name);
        continue; // vanished while listing, or not ours to read
      }
      if (isStale(other.record, timing)) {
        // Through an append-only repository server only the lock's own token may remove it:
        // a stale lock of another host is then left for an admin's next command, and ignored here.
        await storage.remove(other.name).catch((err: unknown) => {
          if (!isLifeboatError(err, ErrorCode.AppendOnly)) throw err;
        });
        continue;
      }
      if (exclusive || other.record.exclusive) {
        const o = other.record;
        throw new LifeboatError(
          ErrorCode.Locked,
          `the repository is locked by ${o.purpose} (pid ${o.pid} on ${o.host} since ${o.time})`,
          {
            hint: 'wait for it to finish; a lock of a dead process is cleared automatically',
            retryable: true,
            context: { holder: { host: o.host, pid: o.pid, purpose: o.purpose, exclusive: o.exclusive, time: o.time } },
          },
        );
      }
    }
  } catch (err) {
    await handle.release();
    throw err;
  }
  return handle;
}

function lockedByUnreadable(name: string): LifeboatError {
  return new LifeboatError(
    ErrorCode.Locked,
    `the repository is locked exclusively (${name}) by a process whose lock a write-only key cannot read`,
    {
      hint: 'wait for it to finish (prune or a key change); if its process is gone, an admin key runs `lifeboat unlock`',
      retryable: true,
    },
  );
}

/**
 * `acquireLock`, retrying a conflicting lock with backoff (0.5 s doubling to
 * 10 s, jittered) until `waitMs` has passed; other errors fail at once.
 */
export async function acquireLockWaiting(
  storage: Storage,
  key: Buffer,
  exclusive: boolean,
  purpose: string,
  timing: LockTiming = DEFAULT_LOCK_TIMING,
  waitMs = 0,
): Promise<LockHandle> {
  // Waits of 0.5 s doubling to 10 s, each with equal jitter, while the deadline leaves room for the wait.
  return retry(() => acquireLock(storage, key, exclusive, purpose, timing), {
    retryable: (err) => isLifeboatError(err, ErrorCode.Locked),
    maxElapsedMs: waitMs,
    delayMs: (failed) => exponentialBackoff({ baseDelayMs: 500, maxDelayMs: 10_000, random: Math.random }, failed),
  });
}
