import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { deriveRepositoryKeys, newSessionKey, sealingPublicKey } from './crypto/index.js';
import { acquireLock, readLocks } from './locks.js';
import { expectRejectsCode } from './testing/helpers.js';

/**
 * A write-only session cannot read other processes' locks, yet must never back
 * up while an admin holds the exclusive lock (prune): exclusive locks say so
 * in their names. Its own shared lock is sealed with its session key, and the
 * admin reads it like any other.
 */
describe('locks of write-only sessions', () => {
  const keys = deriveRepositoryKeys(randomBytes(32));
  const session = () => newSessionKey(sealingPublicKey(keys.encryption));

  it('a write-only session is refused while an exclusive lock is held, and takes its shared lock once it is gone', async () => {
    const storage = new MemoryStorage();
    const prune = await acquireLock(storage, keys.encryption, true, 'prune');
    expect(prune.objectName).toMatch(/-exclusive$/);
    await expectRejectsCode(acquireLock(storage, session(), false, 'backup on web-2'), ErrorCode.Locked);
    // The refused attempt left no lock behind.
    expect((await storage.list('locks/')).map((o) => o.name)).toEqual([prune.objectName]);
    await prune.release();
    const backup = await acquireLock(storage, session(), false, 'backup on web-2');
    // The admin reads the write-only session's lock and so refuses to prune while it is held.
    const seen = await readLocks(storage, keys.encryption);
    expect(seen.map((l) => l.record?.purpose)).toEqual(['backup on web-2']);
    await expectRejectsCode(acquireLock(storage, keys.encryption, true, 'prune'), ErrorCode.Locked);
    await backup.release();
  });

  it('write-only sessions and admin backups share the repository (shared locks do not conflict)', async () => {
    const storage = new MemoryStorage();
    const admin = await acquireLock(storage, keys.encryption, false, 'backup on admin-host');
    const a = await acquireLock(storage, session(), false, 'backup on web-2');
    const b = await acquireLock(storage, session(), false, 'backup on web-3');
    for (const l of [admin, a, b]) await l.release();
  });
});
