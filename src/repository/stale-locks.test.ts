import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { seal } from './crypto/index.js';
import type { LockRecord, LockTiming } from './locks.js';
import { listLocks, removeLocks } from './stale-locks.js';

/** `unlock` over locks planted in memory, with a fixed clock. */
const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const timing: LockTiming = { refreshMs: 5 * 60_000, staleMs: 30 * 60_000, now: () => NOW };

async function setup() {
  const objects = new Map<string, Buffer>();
  const storage = new MemoryStorage(objects);
  const key = randomBytes(32);
  const plant = (name: string, r: Partial<LockRecord>) =>
    storage.put(
      `locks/${name}`,
      seal(
        key,
        'lock',
        Buffer.from(
          JSON.stringify({
            host: 'other-host',
            pid: 42,
            username: 'u',
            time: new Date(NOW).toISOString(),
            exclusive: false,
            purpose: 'backup',
            ...r,
          }),
        ),
      ),
    );
  return { objects, storage, key, plant };
}

describe('stale locks', () => {
  it('a lock not refreshed for 30 minutes is stale; 29 minutes old on another host is live', async () => {
    const { storage, key, plant } = await setup();
    await plant('old', { time: new Date(NOW - 30 * 60_000).toISOString() });
    await plant('recent', { time: new Date(NOW - 29 * 60_000).toISOString() });
    await plant('garbled-time', { time: 'yesterday' });
    const states = Object.fromEntries((await listLocks(storage, key, timing)).map((l) => [l.name, l.state]));
    expect(states).toEqual({ 'locks/old': 'stale', 'locks/recent': 'live', 'locks/garbled-time': 'stale' });
  });

  it('a fresh lock of this host whose process is gone is stale; one of a running process is live', async () => {
    const { storage, key, plant } = await setup();
    await plant('mine', { host: os.hostname(), pid: process.pid === 1 ? 2 : 1 }); // pid 1 always runs
    await plant('dead', { host: os.hostname(), pid: 2 ** 22 + 12345 }); // above pid_max: no such process
    const result = await removeLocks(storage, key, { timing });
    expect(result.removed.map((l) => l.name)).toEqual(['locks/dead']);
    expect(result.kept.map((l) => [l.name, l.state])).toEqual([['locks/mine', 'live']]);
  });

  it('removes only stale locks, keeps live and unreadable ones; with all, removes every one', async () => {
    const { objects, storage, key, plant } = await setup();
    await plant('live', {});
    await plant('stale', { time: new Date(NOW - 3600_000).toISOString() });
    await storage.put('locks/foreign', seal(randomBytes(32), 'lock', Buffer.from('{}')));
    const first = await removeLocks(storage, key, { timing });
    expect(first.removed.map((l) => l.name)).toEqual(['locks/stale']);
    expect(first.kept.map((l) => [l.name, l.state, l.holder?.pid ?? null]).sort()).toEqual([
      ['locks/foreign', 'unreadable', null],
      ['locks/live', 'live', 42],
    ]);
    expect([...objects.keys()].sort()).toEqual(['locks/foreign', 'locks/live']);
    const all = await removeLocks(storage, key, { all: true, timing });
    expect(all.removed).toHaveLength(2);
    expect([...objects.keys()]).toEqual([]);
  });
});
