import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isLifeboatError } from '../../errors/index.js';
import { seal } from './crypto.js';
import { createKeySlot, DEFAULT_KDF, parseKeySlot, unlockKeySlot, type KeySlot, type SlotOpening } from './key-slot.js';
import { expectRejectsCode, expectThrowsCode, rejection } from '../testing/helpers.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const masterOf = (o: SlotOpening | undefined) => (o && 'master' in o ? o.master : undefined);

/** A slot sealed by hand with cheap scrypt parameters (parseKeySlot accepts N >= 1024). */
function cheapSlot(master: Buffer, password: string, kdf = { N: 1024, r: 8, p: 1 }, version: 1 | 2 = 1): KeySlot {
  const salt = randomBytes(16);
  const slotKey = scryptSync(Buffer.from(password), salt, 32, {
    ...kdf,
    maxmem: 128 * kdf.N * kdf.r * kdf.p + 32 * 1024 * 1024,
  });
  return {
    version,
    ...(version === 2 ? { role: 'append' as const } : {}),
    createdAt: new Date().toISOString(),
    host: 'test',
    username: 'test',
    kdf: { algorithm: 'scrypt', ...kdf, salt: salt.toString('base64') },
    sealed: seal(slotKey, 'master-key', master).toString('base64'),
  };
}

describe('key slots', () => {
  it('createKeySlot → unlock with the right password gives the master; a wrong one gives undefined', async () => {
    const master = randomBytes(32);
    const slot = await createKeySlot(master, Buffer.from('correct horse battery staple'), 'laptop');
    expect(slot.version).toBe(1);
    expect(slot.label).toBe('laptop');
    expect(slot.kdf).toMatchObject({ algorithm: 'scrypt', ...DEFAULT_KDF });
    expect(Buffer.from(slot.kdf.salt, 'base64').length).toBeGreaterThanOrEqual(16);
    // The slot does not contain the master in the clear.
    expect(JSON.stringify(slot)).not.toContain(master.toString('base64'));
    expect(JSON.stringify(slot)).not.toContain(master.toString('hex'));

    const reparsed = parseKeySlot(json(slot), 'k');
    const unlocked = await unlockKeySlot(reparsed, Buffer.from('correct horse battery staple'));
    expect(masterOf(unlocked)?.equals(master)).toBe(true);
    expect(unlocked?.role).toBe('admin');
    expect(await unlockKeySlot(reparsed, Buffer.from('correct horse battery stapler'))).toBeUndefined();
    expect(await unlockKeySlot(reparsed, Buffer.from('x'))).toBeUndefined();
  });

  it('two slots of the same master and password differ (fresh salt)', async () => {
    const master = randomBytes(32);
    const [a, b] = await Promise.all([
      createKeySlot(master, Buffer.from('pw')),
      createKeySlot(master, Buffer.from('pw')),
    ]);
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.sealed).not.toBe(b.sealed);
    expect(a.label).toBeUndefined();
  });

  it('rejects an empty password at creation', async () => {
    await expectRejectsCode(createKeySlot(randomBytes(32), Buffer.alloc(0)), ErrorCode.NoPassword);
  });

  it('passwords are compared as bytes (unicode, no trimming)', async () => {
    const master = randomBytes(32);
    const slot = cheapSlot(master, 'pässwörd ');
    expect(masterOf(await unlockKeySlot(slot, Buffer.from('pässwörd ')))?.equals(master)).toBe(true);
    expect(await unlockKeySlot(slot, Buffer.from('pässwörd'))).toBeUndefined();
    expect(await unlockKeySlot(slot, Buffer.from('passwörd '))).toBeUndefined();
  });

  it('a slot whose sealed secret has the wrong length does not unlock', async () => {
    const slot = cheapSlot(randomBytes(16), 'pw');
    expect(await unlockKeySlot(slot, Buffer.from('pw'))).toBeUndefined();
  });

  it('a slot with a damaged sealed secret does not unlock (undefined, not an exception)', async () => {
    const slot = cheapSlot(randomBytes(32), 'pw');
    const sealed = Buffer.from(slot.sealed, 'base64');
    sealed[sealed.length - 1] = sealed[sealed.length - 1]! ^ 1;
    expect(await unlockKeySlot({ ...slot, sealed: sealed.toString('base64') }, Buffer.from('pw'))).toBeUndefined();
    expect(await unlockKeySlot({ ...slot, sealed: '' }, Buffer.from('pw'))).toBeUndefined();
    expect(await unlockKeySlot({ ...slot, sealed: '!!!not base64!!!' }, Buffer.from('pw'))).toBeUndefined();
  });

  describe('parseKeySlot', () => {
    const good = cheapSlot(randomBytes(32), 'pw');

    it('accepts a valid slot', () => {
      expect(parseKeySlot(json(good), 'k')).toEqual(good);
    });

    it.each([
      ['empty', ''],
      ['not JSON', '{"version":1,'],
      ['binary junk', '\u0000\u00ff\u0001garbage'],
      ['null', 'null'],
      ['a number', '42'],
      ['a string', '"slot"'],
      ['an array', '[1,2,3]'],
      ['an empty object', '{}'],
    ])('rejects %s with wrong_password', (_name, text) => {
      const err = expectThrowsCode(
        () => parseKeySlot(Buffer.from(text, 'latin1'), 'keys/abc'),
        ErrorCode.WrongPassword,
      );
      expect(err.message).toContain('keys/abc');
    });

    it.each(['version', 'sealed', 'kdf'] as const)('rejects a slot without %s', (field) => {
      const copy: Record<string, unknown> = { ...good };
      delete copy[field];
      expectThrowsCode(() => parseKeySlot(json(copy), 'k'), ErrorCode.WrongPassword);
    });

    it.each(['algorithm', 'N', 'r', 'p', 'salt'] as const)('rejects a slot whose kdf lacks %s', (field) => {
      const kdf: Record<string, unknown> = { ...good.kdf };
      delete kdf[field];
      expectThrowsCode(() => parseKeySlot(json({ ...good, kdf }), 'k'), ErrorCode.WrongPassword);
    });

    it.each([
      ['version 2', { version: 2 }],
      ['version "1"', { version: '1' }],
      ['sealed not a string', { sealed: 123 }],
      ['kdf not an object', { kdf: 'scrypt' }],
    ])('rejects %s', (_name, patch) => {
      expectThrowsCode(() => parseKeySlot(json({ ...good, ...patch }), 'k'), ErrorCode.WrongPassword);
    });

    it.each([
      ['another algorithm', { algorithm: 'argon2id' }],
      ['N not a power of two', { N: 65535 }],
      ['N not a power of two (large)', { N: 3 * 2 ** 20 }],
      ['N too large', { N: 2 ** 23 }],
      ['N absurdly large', { N: 2 ** 40 }],
      ['N too small', { N: 512 }],
      ['N zero', { N: 0 }],
      ['N negative', { N: -1024 }],
      ['N fractional', { N: 1024.5 }],
      ['N a string', { N: '65536' }],
      ['r zero', { r: 0 }],
      ['r too large', { r: 33 }],
      ['r fractional', { r: 8.5 }],
      ['p zero', { p: 0 }],
      ['p too large', { p: 17 }],
      ['salt not a string', { salt: 5 }],
    ])('rejects absurd kdf parameters: %s', (_name, patch) => {
      expectThrowsCode(
        () => parseKeySlot(json({ ...good, kdf: { ...good.kdf, ...patch } }), 'k'),
        ErrorCode.WrongPassword,
      );
    });
  });

  it('a slot with kdf parameters scrypt refuses is a key problem (wrong_password or no unlock), never a raw crypto error', async () => {
    // N = 2^16 with r = 1 passes parseKeySlot's range checks, but scrypt requires N < 2^(16·r)
    // and throws ERR_CRYPTO_INVALID_SCRYPT_PARAMS. A damaged or planted key file must not
    // surface as an unexpected exception (Repository.open would then fail with it).
    const slot = {
      ...cheapSlot(randomBytes(32), 'pw'),
      kdf: { algorithm: 'scrypt' as const, N: 2 ** 16, r: 1, p: 1, salt: randomBytes(16).toString('base64') },
    };
    const outcome = await rejection(async () => {
      const parsed = parseKeySlot(json(slot), 'keys/planted');
      const master = await unlockKeySlot(parsed, Buffer.from('pw'));
      expect(master).toBeUndefined();
    });
    if (outcome !== undefined) {
      expect(isLifeboatError(outcome, ErrorCode.WrongPassword), `got ${String(outcome)}`).toBe(true);
    }
  });

  describe('roles', () => {
    it('an admin slot is written as version 1 with no role field; an append slot as version 2 with its role', async () => {
      const master = randomBytes(32);
      const admin = await createKeySlot(master, Buffer.from('pw'), undefined, 'admin');
      expect(admin.version).toBe(1);
      expect(admin.role).toBeUndefined();
      const append = parseKeySlot(json(await createKeySlot(master, Buffer.from('pw2'), 'web-1', 'append')), 'k');
      expect(append.version).toBe(2);
      expect(append.role).toBe('append');
      const opened = await unlockKeySlot(append, Buffer.from('pw2'));
      expect(masterOf(opened)?.equals(master)).toBe(true);
      expect(opened?.role).toBe('append');
      expect(await unlockKeySlot(append, Buffer.from('pw'))).toBeUndefined();
    });

    it('editing the clear fields of an append slot never makes it open as admin', async () => {
      const master = randomBytes(32);
      const append = await createKeySlot(master, Buffer.from('pw'), undefined, 'append');
      // Claiming admin in clear: the sealed role still says append.
      const claimed = parseKeySlot(json({ ...append, role: 'admin' }), 'k');
      expect((await unlockKeySlot(claimed, Buffer.from('pw')))?.role).toBe('append');
      // Downgrading to version 1: the sealed plaintext is longer than a master secret, so it does not open.
      const v1 = parseKeySlot(json({ ...append, version: 1, role: undefined }), 'k');
      expect(await unlockKeySlot(v1, Buffer.from('pw'))).toBeUndefined();
    });

    it('a version 1 slot relabelled as version 2 does not open (no role sealed in it)', async () => {
      const master = randomBytes(32);
      const slot = cheapSlot(master, 'pw');
      const relabelled = parseKeySlot(json({ ...slot, version: 2, role: 'append' }), 'k');
      expect(await unlockKeySlot(relabelled, Buffer.from('pw'))).toBeUndefined();
    });

    it('a version 2 slot sealing an unknown role does not open', async () => {
      const slot = cheapSlot(Buffer.concat([randomBytes(32), Buffer.from('root')]), 'pw', undefined, 2);
      expect(await unlockKeySlot(slot, Buffer.from('pw'))).toBeUndefined();
      const good = cheapSlot(Buffer.concat([randomBytes(32), Buffer.from('append')]), 'pw', undefined, 2);
      expect((await unlockKeySlot(good, Buffer.from('pw')))?.role).toBe('append');
    });

    it('a version 2 slot without a known role in clear is unreadable (damaged), like any unknown version', () => {
      const slot = cheapSlot(randomBytes(32), 'pw', undefined, 2);
      expectThrowsCode(() => parseKeySlot(json({ ...slot, role: 'root' }), 'k'), ErrorCode.WrongPassword);
      expectThrowsCode(() => parseKeySlot(json({ ...slot, role: undefined }), 'k'), ErrorCode.WrongPassword);
      expectThrowsCode(() => parseKeySlot(json({ ...slot, version: 3 }), 'k'), ErrorCode.WrongPassword);
    });
  });
});
