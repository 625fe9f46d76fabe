/**
 * A key slot (`keys/<id>`) holds the repository's master secret sealed under a
 * key derived from one password with scrypt. A repository may have many slots;
 * any one of them opens it. A slot also gives its key a role: version 1 slots
 * (no role) are `admin`; version 2 slots seal the role next to the master
 * secret, so it cannot be changed without the slot's password.
 *
 * @module
 */

import { randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import os from 'node:os';
import { ErrorCode, LifeboatError, isLifeboatError } from '../../errors/index.js';
import { MASTER_SECRET_BYTES, open, seal } from './crypto.js';

export interface KdfParams {
  algorithm: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
}

/** What a key may do: `admin` everything; `append` add and read, never delete or replace. */
export type KeyRole = 'admin' | 'append';

export const KEY_ROLES: readonly KeyRole[] = ['admin', 'append'];

export function isKeyRole(value: unknown): value is KeyRole {
  return value === 'admin' || value === 'append';
}

export interface KeySlot {
  /** 1: sealed plaintext is the master secret (role admin); 2: master secret then the role name. */
  version: 1 | 2;
  /** Version 2 only: the role in clear, for `key list`; the sealed copy is the one that counts. */
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
  role: KeyRole = 'admin',
): Promise<KeySlot> {
  if (password.length === 0) {
    throw new LifeboatError(ErrorCode.NoPassword, 'an empty password is not allowed', {
      hint: 'choose a long passphrase',
    });
  }
  const kdf: KdfParams = { algorithm: 'scrypt', ...DEFAULT_KDF, salt: randomBytes(32).toString('base64') };
  const slotKey = await deriveSlotKey(password, kdf);
  const plaintext = role === 'admin' ? master : Buffer.concat([master, Buffer.from(role, 'utf8')]);
  return {
    version: role === 'admin' ? 1 : 2,
    ...(role === 'admin' ? {} : { role }),
    createdAt: new Date().toISOString(),
    host: os.hostname(),
    username: safeUsername(),
    ...(label ? { label } : {}),
    kdf,
    sealed: seal(slotKey, 'master-key', plaintext).toString('base64'),
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
    (slot?.version === 1 || (slot?.version === 2 && isKeyRole(slot.role))) &&
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
 * The master secret and the authenticated role, or undefined when the password
 * does not open this slot. The role comes from the sealed plaintext only: a
 * version 1 slot must seal exactly the master secret (admin), a version 2 slot
 * the master secret followed by a known role name. So a slot whose clear
 * `version` or `role` was edited does not open as another role: it does not open.
 */
export async function unlockKeySlot(
  slot: KeySlot,
  password: Buffer,
): Promise<{ master: Buffer; role: KeyRole } | undefined> {
  const slotKey = await deriveSlotKey(password, slot.kdf);
  try {
    const plain = open(slotKey, 'master-key', Buffer.from(slot.sealed, 'base64'));
    if (slot.version === 1) return plain.length === MASTER_SECRET_BYTES ? { master: plain, role: 'admin' } : undefined;
    if (plain.length <= MASTER_SECRET_BYTES) return undefined;
    const role = plain.subarray(MASTER_SECRET_BYTES).toString('utf8');
    if (!isKeyRole(role)) return undefined;
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
