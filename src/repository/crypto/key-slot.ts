/**
 * A key slot (`keys/<id>`) holds the repository's master secret sealed under a
 * key derived from one password with scrypt. A repository may have many slots;
 * any one of them opens it. A slot also gives its key a role: version 1 slots
 * (no role) are `admin`; version 2 slots seal the role next to the master
 * secret, so it cannot be changed without the slot's password. Version 3
 * slots are write-only keys (write-only-key.ts): they seal no master secret.
 *
 * @module
 */

import { randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import os from 'node:os';
import { ErrorCode, LifeboatError, isLifeboatError } from '../../errors/index.js';
import { MASTER_SECRET_BYTES, open, seal } from './crypto.js';
import { decodeWriteOnlyKey, encodeWriteOnlyKey, type WriteOnlyKey } from './write-only-key.js';

export interface KdfParams {
  algorithm: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
}

/**
 * What a key may do: `admin` everything; `append` add and read, never delete
 * or replace; `write-only` add backups, and read nothing (it holds no master secret).
 */
export type KeyRole = 'admin' | 'append' | 'write-only';

export const KEY_ROLES: readonly KeyRole[] = ['admin', 'append', 'write-only'];

export function isKeyRole(value: unknown): value is KeyRole {
  return value === 'admin' || value === 'append' || value === 'write-only';
}

/** The roles a version 2 slot may seal next to the master secret. */
function isMasterRole(value: unknown): value is 'admin' | 'append' {
  return value === 'admin' || value === 'append';
}

/** What opening a slot gives: the master secret and its role, or a write-only key. */
export type SlotOpening =
  { master: Buffer; role: 'admin' | 'append' } | { writeOnly: WriteOnlyKey; role: 'write-only' };

export interface KeySlot {
  /** 1: sealed plaintext is the master secret (role admin); 2: master secret then the role name; 3: a write-only key. */
  version: 1 | 2 | 3;
  /** Versions 2 and 3: the role in clear, for `key list`; the sealed copy is the one that counts. */
  role?: KeyRole;
  createdAt: string;
  host: string;
  username: string;
  label?: string;
  kdf: KdfParams;
  /** base64 of the sealed master secret. */
  sealed: string;
}

/** 64 MiB of memory and ~0.2 s per derivation on a 2-core machine. */
export const DEFAULT_KDF = { N: 2 ** 16, r: 8, p: 1 };

function scrypt(password: Buffer, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, 32, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

async function deriveSlotKey(password: Buffer, kdf: KdfParams): Promise<Buffer> {
  const maxmem = 128 * kdf.N * kdf.r * kdf.p + 32 * 1024 * 1024;
  return scrypt(password, Buffer.from(kdf.salt, 'base64'), { N: kdf.N, r: kdf.r, p: kdf.p, maxmem });
}

/**
 * A new slot for `password`. An admin slot is written as version 1, exactly as
 * before roles existed, so every reader opens it; any other role needs version 2.
 */
export async function createKeySlot(
  master: Buffer,
  password: Buffer,
  label?: string,
  role: 'admin' | 'append' = 'admin',
): Promise<KeySlot> {
  const plaintext = role === 'admin' ? master : Buffer.concat([master, Buffer.from(role, 'utf8')]);
  return newSlot(password, label, role === 'admin' ? 1 : 2, role, 'master-key', plaintext);
}

/**
 * A new version 3 slot for `password` holding a write-only key. Its envelope
 * has its own AAD (`write-only-key`), so it never opens as a version 1 or 2
 * slot, nor they as it.
 */
export async function createWriteOnlySlot(key: WriteOnlyKey, password: Buffer, label?: string): Promise<KeySlot> {
  return newSlot(password, label, 3, 'write-only', 'write-only-key', encodeWriteOnlyKey(key));
}

async function newSlot(
  password: Buffer,
  label: string | undefined,
  version: 1 | 2 | 3,
  role: KeyRole,
  kind: 'master-key' | 'write-only-key',
  plaintext: Buffer,
): Promise<KeySlot> {
  if (password.length === 0) {
    throw new LifeboatError(ErrorCode.NoPassword, 'an empty password is not allowed', {
      hint: 'choose a long passphrase',
    });
  }
  const kdf: KdfParams = { algorithm: 'scrypt', ...DEFAULT_KDF, salt: randomBytes(32).toString('base64') };
  const slotKey = await deriveSlotKey(password, kdf);
  return {
    version,
    ...(version === 1 ? {} : { role }),
    createdAt: new Date().toISOString(),
    host: os.hostname(),
    username: safeUsername(),
    ...(label ? { label } : {}),
    kdf,
    sealed: seal(slotKey, kind, plaintext).toString('base64'),
  };
}

/** Parse a slot; a garbled slot is reported as a key problem (exit 12), never as repository corruption. */
export function parseKeySlot(raw: Buffer, name: string): KeySlot {
  let slot: KeySlot;
  try {
    slot = JSON.parse(raw.toString('utf8')) as KeySlot;
  } catch {
    throw unreadableSlot(name);
  }
  const k = slot?.kdf;
  const valid =
    (slot?.version === 1 ||
      (slot?.version === 2 && isMasterRole(slot.role)) ||
      (slot?.version === 3 && slot.role === 'write-only')) &&
    typeof slot.sealed === 'string' &&
    k?.algorithm === 'scrypt' &&
    Number.isInteger(k.N) &&
    k.N >= 1024 &&
    k.N <= 2 ** 22 &&
    (k.N & (k.N - 1)) === 0 &&
    Number.isInteger(k.r) &&
    k.r >= 1 &&
    k.r <= 32 &&
    Number.isInteger(k.p) &&
    k.p >= 1 &&
    k.p <= 16 &&
    // scrypt itself requires N < 2^(16r); and a planted slot must not demand more than 1 GiB.
    k.N < 2 ** (16 * k.r) &&
    128 * k.N * k.r * k.p <= 1024 ** 3 &&
    typeof k.salt === 'string';
  if (!valid) throw unreadableSlot(name);
  return slot;
}

function unreadableSlot(name: string): LifeboatError {
  return new LifeboatError(ErrorCode.WrongPassword, `key ${name} is unreadable (damaged key file)`, {
    hint: 'use another key of this repository, or the recovery key from `lifeboat key export --paper`',
  });
}

/** The role a slot claims in clear (for listing only: `unlockKeySlot` gives the authenticated one). */
export function claimedRole(slot: KeySlot): KeyRole {
  return slot.version === 1 ? 'admin' : (slot.role ?? 'admin');
}

/**
 * The master secret and the authenticated role (or a write-only key), or
 * undefined when the password does not open this slot. The role comes from
 * the sealed plaintext only: a version 1 slot must seal exactly the master
 * secret (admin), a version 2 slot the master secret followed by a known role
 * name, a version 3 slot a write-only key under its own AAD. So a slot whose
 * clear `version` or `role` was edited does not open as another role: it does not open.
 */
export async function unlockKeySlot(slot: KeySlot, password: Buffer): Promise<SlotOpening | undefined> {
  const slotKey = await deriveSlotKey(password, slot.kdf);
  try {
    const sealed = Buffer.from(slot.sealed, 'base64');
    if (slot.version === 3) {
      const writeOnly = decodeWriteOnlyKey(open(slotKey, 'write-only-key', sealed));
      return writeOnly ? { writeOnly, role: 'write-only' } : undefined;
    }
    const plain = open(slotKey, 'master-key', sealed);
    if (slot.version === 1) return plain.length === MASTER_SECRET_BYTES ? { master: plain, role: 'admin' } : undefined;
    if (plain.length <= MASTER_SECRET_BYTES) return undefined;
    const role = plain.subarray(MASTER_SECRET_BYTES).toString('utf8');
    if (!isMasterRole(role)) return undefined;
    return { master: Buffer.from(plain.subarray(0, MASTER_SECRET_BYTES)), role };
  } catch (err) {
    if (isLifeboatError(err, ErrorCode.Corrupt)) return undefined;
    throw err;
  }
}

function safeUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
