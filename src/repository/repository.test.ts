import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { type Credentials, seal, encodeRecoveryKey, renderRecoveryKey } from './crypto/index.js';
import { sha256Hex } from './ids.js';
import { Repository } from './repository.js';
import { expectRejectsCode, rejection } from './testing/helpers.js';

const PASSWORD = 'correct horse battery staple';
const pw = (p: string, source = 'LIFEBOAT_PASSWORD'): Credentials => ({
  kind: 'password',
  password: Buffer.from(p),
  source,
});

/** A fresh storage over a deep copy of `objects` (so tests can damage it freely). */
function cloneStorage(objects: Map<string, Buffer>): { storage: MemoryStorage; objects: Map<string, Buffer> } {
  const copy = new Map([...objects].map(([k, v]) => [k, Buffer.from(v)] as const));
  return { storage: new MemoryStorage(copy), objects: copy };
}

const keyNames = (objects: Map<string, Buffer>) => [...objects.keys()].filter((k) => k.startsWith('keys/'));

let dir: string;
/** One repository initialised once (scrypt is deliberately slow); tests work on copies. */
let base: Map<string, Buffer>;
let baseRepo: Repository;
let recoveryFile: string;
/** Opens with the recovery key: no scrypt, so tests that only need an open repository stay fast. */
const openFast = (storage: MemoryStorage) => Repository.open(storage, { kind: 'key-file', path: recoveryFile });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-repository-'));
  base = new Map();
  baseRepo = await Repository.init(new MemoryStorage(base), Buffer.from(PASSWORD));
  recoveryFile = path.join(dir, 'base-recovery.txt');
  await writeFile(recoveryFile, renderRecoveryKey(baseRepo.id, baseRepo.keys.master));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Repository: init and open', () => {
  it('init writes one key slot and a sealed config; open with the right password gives the same keys', async () => {
    expect(keyNames(base)).toHaveLength(1);
    expect(base.has('config')).toBe(true);
    expect(baseRepo.id).toMatch(/^[0-9a-f]{64}$/);
    expect(baseRepo.keyName).toBe(keyNames(base)[0]);
    // The config is sealed: its JSON is not readable in storage.
    expect(base.get('config')!.toString('latin1')).not.toContain(baseRepo.id);

    const { storage } = cloneStorage(base);
    const repo = await Repository.open(storage, pw(PASSWORD));
    expect(repo.id).toBe(baseRepo.id);
    expect(repo.keys.master.equals(baseRepo.keys.master)).toBe(true);
    expect(repo.keys.encryption.equals(baseRepo.keys.encryption)).toBe(true);
    expect(repo.keyName).toBe(baseRepo.keyName);
    expect(repo.config).toEqual(baseRepo.config);
    await repo.close();
  });

  it('Repository.exists tells an initialised storage from an empty one', async () => {
    expect(await Repository.exists(new MemoryStorage())).toBe(false);
    expect(await Repository.exists(cloneStorage(base).storage)).toBe(true);
  });

  it('a wrong password → wrong_password', async () => {
    const err = await expectRejectsCode(
      Repository.open(cloneStorage(base).storage, pw('correct horse battery stapler')),
      ErrorCode.WrongPassword,
    );
    expect(err.hint).toContain('LIFEBOAT_PASSWORD');
  });

  it('an empty password → wrong_password', async () => {
    await expectRejectsCode(Repository.open(cloneStorage(base).storage, pw('')), ErrorCode.WrongPassword);
  });

  it('open of an empty storage → repository_not_found', async () => {
    await expectRejectsCode(Repository.open(new MemoryStorage(), pw(PASSWORD)), ErrorCode.RepositoryNotFound);
    await expectRejectsCode(
      Repository.open(new MemoryStorage(), { kind: 'key-file', path: path.join(dir, 'nope') }),
      ErrorCode.RepositoryNotFound,
    );
  });

  it('storage with keys but no config is not a repository', async () => {
    const { storage, objects } = cloneStorage(base);
    objects.delete('config');
    await expectRejectsCode(Repository.open(storage, pw(PASSWORD)), ErrorCode.RepositoryNotFound);
  });

  it('init twice → repository_exists, and the existing repository is untouched', async () => {
    const { storage, objects } = cloneStorage(base);
    const before = new Map(objects);
    await expectRejectsCode(Repository.init(storage, Buffer.from('another password')), ErrorCode.RepositoryExists);
    expect([...objects.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [k, v] of before) expect(objects.get(k)!.equals(v)).toBe(true);
  });

  it('init with an empty password or bad chunker params fails and writes nothing', async () => {
    const objects = new Map<string, Buffer>();
    await expectRejectsCode(Repository.init(new MemoryStorage(objects), Buffer.alloc(0)), ErrorCode.NoPassword);
    expect(objects.size).toBe(0);
    await expectRejectsCode(
      Repository.init(new MemoryStorage(objects), Buffer.from('pw'), { chunker: { min: 10, avg: 1000, max: 10 } }),
      ErrorCode.Usage,
    );
    expect(objects.size).toBe(0);
  });

  describe('damaged key files', () => {
    it.each([
      ['junk bytes', () => randomBytes(100)],
      ['empty', () => Buffer.alloc(0)],
      ['truncated JSON', (slot: Buffer) => slot.subarray(0, slot.length >> 1)],
      [
        'a flipped byte in the sealed secret',
        (slot: Buffer) => {
          const parsed = JSON.parse(slot.toString()) as { sealed: string };
          const sealed = Buffer.from(parsed.sealed, 'base64');
          sealed[10] = sealed[10]! ^ 0x40;
          return Buffer.from(JSON.stringify({ ...parsed, sealed: sealed.toString('base64') }));
        },
      ],
      [
        'another salt',
        (slot: Buffer) =>
          Buffer.from(
            JSON.stringify({
              ...JSON.parse(slot.toString()),
              kdf: { ...JSON.parse(slot.toString()).kdf, salt: randomBytes(32).toString('base64') },
            }),
          ),
      ],
      [
        'absurd kdf parameters',
        (slot: Buffer) =>
          Buffer.from(
            JSON.stringify({
              ...JSON.parse(slot.toString()),
              kdf: { algorithm: 'scrypt', N: 3, r: 8, p: 1, salt: '' },
            }),
          ),
      ],
    ])('the only key garbled (%s) → wrong_password, never corrupt', async (_name, garble) => {
      const { storage, objects } = cloneStorage(base);
      const [name] = keyNames(objects);
      objects.set(name!, garble(objects.get(name!)!));
      const err = await expectRejectsCode(Repository.open(storage, pw(PASSWORD)), ErrorCode.WrongPassword);
      expect(err.code).not.toBe(ErrorCode.Corrupt);
    });

    it('a garbled extra key does not stop the good key from opening', async () => {
      const { storage, objects } = cloneStorage(base);
      // Listed first (Map order), so open must skip it.
      const reordered = new Map<string, Buffer>([
        [`keys/${'0'.repeat(64)}`, Buffer.from('{"version":1,"kdf":"junk"}')],
        ...objects,
      ]);
      objects.clear();
      for (const [k, v] of reordered) objects.set(k, v);
      const repo = await Repository.open(storage, pw(PASSWORD));
      expect(repo.id).toBe(baseRepo.id);
    });

    it('a key file with kdf parameters scrypt refuses (N = 2^16, r = 1) is treated as damaged, not as a crash', async () => {
      // parseKeySlot accepts N = 65536 with r = 1, but scrypt requires N < 2^(16·r) and throws
      // RangeError ERR_CRYPTO_INVALID_SCRYPT_PARAMS. As the only key it must be wrong_password;
      // listed before a good key it must not prevent opening with the right password.
      const planted = Buffer.from(
        JSON.stringify({
          version: 1,
          createdAt: new Date().toISOString(),
          host: 'h',
          username: 'u',
          kdf: { algorithm: 'scrypt', N: 65536, r: 1, p: 1, salt: randomBytes(16).toString('base64') },
          sealed: randomBytes(73).toString('base64'),
        }),
      );
      const only = cloneStorage(base);
      only.objects.set(keyNames(only.objects)[0]!, planted);
      const err = await rejection(Repository.open(only.storage, pw(PASSWORD)));
      expect(err, `got ${String(err)}`).toBeInstanceOf(LifeboatError);
      expect((err as LifeboatError).code).toBe(ErrorCode.WrongPassword);

      const first = cloneStorage(base);
      const entries = [...first.objects];
      first.objects.clear();
      first.objects.set(`keys/${'0'.repeat(64)}`, planted);
      for (const [k, v] of entries) first.objects.set(k, v);
      const repo = await Repository.open(first.storage, pw(PASSWORD));
      expect(repo.id).toBe(baseRepo.id);
    });
  });
});

describe('Repository: keys', () => {
  it('addKey → the new password opens; both keys are listed; the current one is marked', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    const newId = await repo.addKey(Buffer.from('second password'), 'backup-server');
    expect(newId).toMatch(/^[0-9a-f]{64}$/);
    expect(keyNames(objects)).toHaveLength(2);

    const viaNew = await Repository.open(new MemoryStorage(objects), pw('second password'));
    expect(viaNew.id).toBe(baseRepo.id);
    expect(viaNew.keys.master.equals(baseRepo.keys.master)).toBe(true);
    expect(viaNew.keyName).toBe(`keys/${newId}`);

    const keys = await viaNew.listKeys();
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => k.readable)).toBe(true);
    expect(keys.find((k) => k.id === newId)).toMatchObject({ current: true, label: 'backup-server' });
    expect(keys.find((k) => k.id !== newId)).toMatchObject({ current: false });
    // The old password still works too.
    expect((await Repository.open(new MemoryStorage(objects), pw(PASSWORD))).keyName).toBe(baseRepo.keyName);
  });

  it('an append key opens with role append: listed as such, and key changes with it are refused with nothing written', async () => {
    const { storage, objects } = cloneStorage(base);
    const admin = await openFast(storage);
    expect(admin.role).toBe('admin');
    const appendId = await admin.addKey(Buffer.from('append password'), 'web-1', 'append');

    const viaAppend = await Repository.open(new MemoryStorage(objects), pw('append password'));
    expect(viaAppend.role).toBe('append');
    expect(viaAppend.readingFromStorage().role).toBe('append');
    const keys = await viaAppend.listKeys();
    expect(keys.find((k) => k.id === appendId)).toMatchObject({ current: true, role: 'append' });
    expect(keys.find((k) => k.id !== appendId)).toMatchObject({ current: false, role: 'admin' });

    const before = keyNames(objects);
    await expectRejectsCode(viaAppend.addKey(Buffer.from('another')), ErrorCode.RoleRefused);
    await expectRejectsCode(viaAppend.removeKey(keys.find((k) => !k.current)!.id), ErrorCode.RoleRefused);
    await expectRejectsCode(viaAppend.unlock(true), ErrorCode.RoleRefused);
    expect(keyNames(objects)).toEqual(before);
    // The admin password still opens as admin.
    expect((await Repository.open(new MemoryStorage(objects), pw(PASSWORD))).role).toBe('admin');
  });

  it('removeKey of the last key → refused, and the key stays', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    const [only] = await repo.listKeys();
    await expectRejectsCode(repo.removeKey(only!.id), ErrorCode.Refused);
    await expectRejectsCode(repo.removeKey(only!.id.slice(0, 8)), ErrorCode.Refused);
    expect(keyNames(objects)).toHaveLength(1);
  });

  it('removeKey refuses when the only other key is unreadable', async () => {
    const { storage, objects } = cloneStorage(base);
    objects.set(`keys/${'f'.repeat(64)}`, Buffer.from('garbage'));
    const repo = await openFast(storage);
    await expectRejectsCode(repo.removeKey(baseRepo.keyName!.slice('keys/'.length)), ErrorCode.Refused);
    // Removing the unreadable one is fine.
    expect(await repo.removeKey('ffffffff')).toBe('f'.repeat(64));
    expect(keyNames(objects)).toEqual([baseRepo.keyName]);
  });

  it('removeKey with another key present removes it; its password no longer opens', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    const newId = await repo.addKey(Buffer.from('temporary'));
    expect(await repo.removeKey(newId)).toBe(newId);
    expect(keyNames(objects)).toEqual([baseRepo.keyName]);
    await expectRejectsCode(Repository.open(new MemoryStorage(objects), pw('temporary')), ErrorCode.WrongPassword);
  });

  it('removeKey with an unknown id → not_found, with an ambiguous prefix → usage', async () => {
    const { storage } = cloneStorage(base);
    const repo = await openFast(storage);
    await repo.addKey(Buffer.from('another'));
    await expectRejectsCode(repo.removeKey('zzzz'), ErrorCode.NotFound);
    await expectRejectsCode(repo.removeKey(''), ErrorCode.Usage);
  });
});

describe('Repository: recovery key', () => {
  it('the rendered recovery key, written to a file, opens the repository via a key-file', async () => {
    const file = path.join(dir, 'recovery.txt');
    await writeFile(file, renderRecoveryKey(baseRepo.id, baseRepo.keys.master));
    const repo = await Repository.open(cloneStorage(base).storage, { kind: 'key-file', path: file });
    expect(repo.id).toBe(baseRepo.id);
    expect(repo.keys.encryption.equals(baseRepo.keys.encryption)).toBe(true);
    expect(repo.keyName).toBeUndefined();
    // Works even with every key slot gone.
    const { storage, objects } = cloneStorage(base);
    for (const k of keyNames(objects)) objects.delete(k);
    expect((await Repository.open(storage, { kind: 'key-file', path: file })).id).toBe(baseRepo.id);
  });

  it('just the key lines work too', async () => {
    const file = path.join(dir, 'bare.txt');
    await writeFile(file, `${encodeRecoveryKey(baseRepo.keys.master).toLowerCase()}\n`);
    expect((await Repository.open(cloneStorage(base).storage, { kind: 'key-file', path: file })).id).toBe(baseRepo.id);
  });

  it('the recovery key of another repository → wrong_password', async () => {
    const otherObjects = new Map<string, Buffer>();
    const other = await Repository.init(new MemoryStorage(otherObjects), Buffer.from('other'));
    const file = path.join(dir, 'other.txt');
    await writeFile(file, renderRecoveryKey(other.id, other.keys.master));
    await expectRejectsCode(
      Repository.open(cloneStorage(base).storage, { kind: 'key-file', path: file }),
      ErrorCode.WrongPassword,
    );
  });

  it('a random secret, a typo, or an unreadable key file are key errors', async () => {
    const random = path.join(dir, 'random.txt');
    await writeFile(random, encodeRecoveryKey(randomBytes(32)));
    await expectRejectsCode(
      Repository.open(cloneStorage(base).storage, { kind: 'key-file', path: random }),
      ErrorCode.WrongPassword,
    );

    const typo = path.join(dir, 'typo.txt');
    const key = encodeRecoveryKey(baseRepo.keys.master);
    await writeFile(typo, (key[0] === 'A' ? 'B' : 'A') + key.slice(1));
    await expectRejectsCode(
      Repository.open(cloneStorage(base).storage, { kind: 'key-file', path: typo }),
      ErrorCode.WrongPassword,
    );

    await expectRejectsCode(
      Repository.open(cloneStorage(base).storage, { kind: 'key-file', path: path.join(dir, 'missing.txt') }),
      ErrorCode.NoPassword,
    );
  });
});

describe('Repository: sealed objects', () => {
  it('writeObject → readObject round-trips; the name is the SHA-256 of the stored bytes', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    for (const plain of [Buffer.alloc(0), Buffer.from('{"hello":"world"}'), randomBytes(100_000)]) {
      const id = await repo.writeObject('snapshots', 'snapshot', plain);
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const stored = objects.get(`snapshots/${id}`)!;
      expect(sha256Hex(stored)).toBe(id);
      if (plain.length > 4) expect(stored.includes(plain)).toBe(false);
      expect((await repo.readObject(`snapshots/${id}`, 'snapshot')).equals(plain)).toBe(true);
    }
  });

  it('a flipped byte in a stored object → corrupt', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    const id = await repo.writeObject('index', 'index', Buffer.from('some index bytes'));
    const name = `index/${id}`;
    const good = objects.get(name)!;
    for (const at of [0, 1, good.length >> 1, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0x01;
      objects.set(name, bad);
      await expectRejectsCode(repo.readObject(name, 'index'), ErrorCode.Corrupt);
    }
    objects.set(name, good.subarray(0, good.length - 1));
    await expectRejectsCode(repo.readObject(name, 'index'), ErrorCode.Corrupt);
  });

  it('a validly sealed object swapped under another name → corrupt', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    const a = await repo.writeObject('snapshots', 'snapshot', Buffer.from('{"a":1}'));
    const b = await repo.writeObject('snapshots', 'snapshot', Buffer.from('{"b":2}'));
    objects.set(`snapshots/${a}`, objects.get(`snapshots/${b}`)!);
    await expectRejectsCode(repo.readObject(`snapshots/${a}`, 'snapshot'), ErrorCode.Corrupt);
  });

  it('reading an object as another kind → corrupt', async () => {
    const { storage } = cloneStorage(base);
    const repo = await openFast(storage);
    const id = await repo.writeObject('index', 'index', Buffer.from('x'));
    await expectRejectsCode(repo.readObject(`index/${id}`, 'snapshot'), ErrorCode.Corrupt);
  });

  it('an object sealed by another repository (stored under its correct hash) → corrupt', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    const foreign = seal(randomBytes(32), 'snapshot', Buffer.from('{}'));
    const name = `snapshots/${sha256Hex(foreign)}`;
    objects.set(name, foreign);
    await expectRejectsCode(repo.readObject(name, 'snapshot'), ErrorCode.Corrupt);
  });

  it('a missing object → not_found', async () => {
    const repo = await openFast(cloneStorage(base).storage);
    await expectRejectsCode(repo.readObject(`index/${'a'.repeat(64)}`, 'index'), ErrorCode.NotFound);
  });

  it('listSnapshots reports damaged snapshots as problems and lists the rest in time order', async () => {
    const { storage, objects } = cloneStorage(base);
    const repo = await openFast(storage);
    const mk = (time: string) => ({
      version: 1 as const,
      time,
      host: 'h',
      username: 'u',
      paths: ['/x'],
      tags: [],
      tree: 'ab'.repeat(32),
      summary: {
        files: 0,
        dirs: 0,
        bytes: 0,
        filesRead: 0,
        addedBytes: 0,
        addedStoredBytes: 0,
        durationMs: 0,
        errors: 0,
      },
      program: 'test',
      metadata: {},
    });
    const late = await repo.saveSnapshot(mk('2024-02-01T00:00:00Z'));
    const early = await repo.saveSnapshot(mk('2024-01-01T00:00:00Z'));
    const damaged = await repo.saveSnapshot(mk('2024-03-01T00:00:00Z'));
    const bytes = objects.get(`snapshots/${damaged}`)!;
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    const { snapshots, problems } = await repo.listSnapshots();
    expect(snapshots.map((s) => s.id)).toEqual([early, late]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.name).toBe(`snapshots/${damaged}`);
    expect(problems[0]!.error.code).toBe(ErrorCode.Corrupt);
  });
});
