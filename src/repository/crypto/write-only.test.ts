import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { expectThrowsCode } from '../testing/helpers.js';
import { deriveRepositoryKeys, ENVELOPE_OVERHEAD, open, seal, SESSION_ENVELOPE_OVERHEAD } from './crypto.js';
import { createKeySlot, createWriteOnlySlot, parseKeySlot, unlockKeySlot, type KeySlot } from './key-slot.js';
import { newSessionKey, sealingPublicKey } from './sealing.js';
import { derivePresenceKey, newWriteOnlyKey } from './write-only-key.js';

const SETTINGS = {
  id: 'a'.repeat(64),
  version: 2,
  chunker: { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 },
  compression: { codec: 'zstd' as const, level: 2 },
  packSize: 16 * 1024 * 1024,
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('sealing to the repository public key (envelope version 2)', () => {
  const keys = deriveRepositoryKeys(randomBytes(32));
  const publicKey = sealingPublicKey(keys.encryption);

  it('a session seals version 2 envelopes that the encryption key opens, and the session only its own', () => {
    const session = newSessionKey(publicKey);
    const sealed = seal(session, 'snapshot', Buffer.from('{"a":1}'));
    expect(sealed[0]).toBe(2);
    expect(sealed.length).toBe(7 + SESSION_ENVELOPE_OVERHEAD);
    expect(SESSION_ENVELOPE_OVERHEAD).toBe(ENVELOPE_OVERHEAD + 32);
    expect(open(keys.encryption, 'snapshot', sealed).toString()).toBe('{"a":1}');
    expect(open(session, 'snapshot', sealed).toString()).toBe('{"a":1}');
    // Another session (a later run of the same host) cannot open it, nor anything sealed under the repository key.
    const later = newSessionKey(publicKey);
    expectThrowsCode(() => open(later, 'snapshot', sealed), ErrorCode.RoleRefused);
    expectThrowsCode(
      () => open(session, 'snapshot', seal(keys.encryption, 'snapshot', Buffer.from('x'))),
      ErrorCode.RoleRefused,
    );
  });

  it('the kind, the blob id and every byte are authenticated; another repository cannot open it', () => {
    const session = newSessionKey(publicKey);
    const id = randomBytes(32);
    const sealed = seal(session, 'blob', Buffer.from('content'), id);
    expectThrowsCode(() => open(keys.encryption, 'blob', sealed, randomBytes(32)), ErrorCode.Corrupt);
    expectThrowsCode(() => open(keys.encryption, 'index', sealed), ErrorCode.Corrupt);
    for (const at of [1, 20, 40, 60, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 1;
      expectThrowsCode(() => open(keys.encryption, 'blob', bad, id), ErrorCode.Corrupt);
    }
    const other = deriveRepositoryKeys(randomBytes(32));
    expectThrowsCode(() => open(other.encryption, 'blob', sealed, id), ErrorCode.Corrupt);
  });

  it('the public key is stable for a repository and differs between repositories', () => {
    expect(sealingPublicKey(keys.encryption).equals(publicKey)).toBe(true);
    expect(sealingPublicKey(deriveRepositoryKeys(randomBytes(32)).encryption).equals(publicKey)).toBe(false);
  });
});

describe('write-only key slots (version 3)', () => {
  const master = randomBytes(32);
  const keys = deriveRepositoryKeys(master);

  it('seal what a write-only host needs and never the master secret or the encryption key', async () => {
    const key = newWriteOnlyKey(master, SETTINGS);
    const slot = parseKeySlot(json(await createWriteOnlySlot(key, Buffer.from('wo pass'), 'web-2')), 'k');
    expect(slot.version).toBe(3);
    expect(slot.role).toBe('write-only');
    const opened = await unlockKeySlot(slot, Buffer.from('wo pass'));
    if (!opened || !('writeOnly' in opened)) throw new Error('the write-only slot did not open as one');
    const w = opened.writeOnly;
    expect(w.publicKey.equals(sealingPublicKey(keys.encryption))).toBe(true);
    expect(w.blobId.equals(keys.blobId)).toBe(true);
    expect(w.chunker.equals(keys.chunker)).toBe(true);
    expect(w.presence.equals(derivePresenceKey(master))).toBe(true);
    expect(w.repository).toEqual(SETTINGS);
    for (const secret of [master, keys.encryption])
      for (const v of [w.publicKey, w.blobId, w.chunker, w.presence, w.state]) expect(v.equals(secret)).toBe(false);
    expect(await unlockKeySlot(slot, Buffer.from('wrong'))).toBeUndefined();
  });

  it('a version 3 slot relabelled as version 1 or 2 (any role) does not open', async () => {
    const slot = await createWriteOnlySlot(newWriteOnlyKey(master, SETTINGS), Buffer.from('pw'));
    for (const edit of [
      { version: 1, role: undefined },
      { version: 2, role: 'admin' },
      { version: 2, role: 'append' },
    ]) {
      const relabelled = parseKeySlot(json({ ...slot, ...edit }), 'k');
      expect(await unlockKeySlot(relabelled, Buffer.from('pw'))).toBeUndefined();
    }
    // A version 3 slot claiming another role is not even a slot.
    expect(() => parseKeySlot(json({ ...slot, role: 'admin' }), 'k')).toThrow();
  });

  it('an admin or append slot relabelled as write-only does not open (its AAD is master-key)', async () => {
    for (const role of ['admin', 'append'] as const) {
      const slot: KeySlot = await createKeySlot(master, Buffer.from('pw'), undefined, role);
      const relabelled = parseKeySlot(json({ ...slot, version: 3, role: 'write-only' }), 'k');
      expect(await unlockKeySlot(relabelled, Buffer.from('pw'))).toBeUndefined();
    }
    // And a version 2 slot may not seal the write-only role next to a master secret.
    expect(() => parseKeySlot(json({ version: 2, role: 'write-only', kdf: {}, sealed: '' }), 'k')).toThrow();
  });
});
