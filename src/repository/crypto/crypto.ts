/**
 * Authenticated encryption of every object in the repository.
 *
 * Envelope: version (1 byte, = 1) ‖ key salt (16 bytes) ‖ nonce (12 bytes) ‖
 * AES-256-GCM ciphertext ‖ tag (16 bytes).
 * The AES key of an envelope is derived with HKDF-SHA256 from the repository's
 * encryption key and the key salt. A writer draws a random key salt once per
 * session (and again after 2^32 envelopes) and numbers its envelopes with a
 * counter nonce (4 zero bytes ‖ 8-byte counter), so a (key, nonce) pair is never used twice however many
 * objects a repository holds, and HKDF runs once per session instead of once
 * per blob. The object's kind (blob, index, snapshot, …) is bound as
 * additional authenticated data: a valid ciphertext of one kind cannot be
 * passed off as another. Blobs also bind their id: AAD = kind ‖ blob id, so a
 * blob's ciphertext can only ever stand for the content it was sealed as.
 *
 * Version 2 envelopes (written by write-only keys) carry a write session's
 * ephemeral X25519 public key after the version byte; their key is the
 * session key (sealing.ts). A sealing key of 64 bytes (ephemeral public key ‖
 * session key) writes them; the 32-byte encryption key opens both versions.
 *
 * @module
 */

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
// The type only, from its own file: the format room's face imports this file.
import type { BlobId } from '../format/blob-types.js';
import { isSessionKey, PUBLIC_KEY_BYTES, sessionKeyFor } from './sealing.js';

export const ENVELOPE_VERSION = 1;
/** Envelopes sealed by a write session (sealing.ts): the session's ephemeral public key follows the version byte. */
export const SESSION_ENVELOPE_VERSION = 2;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + SALT_BYTES + NONCE_BYTES;
export const ENVELOPE_OVERHEAD = HEADER_BYTES + TAG_BYTES;
/** Overhead of a version 2 envelope: 32 more bytes for the ephemeral public key. */
export const SESSION_ENVELOPE_OVERHEAD = ENVELOPE_OVERHEAD + PUBLIC_KEY_BYTES;
const NONCES_PER_SALT = 2 ** 32;

export type ObjectKind =
  | 'blob'
  | 'pack-header'
  | 'index'
  | 'snapshot'
  | 'config'
  | 'lock'
  | 'master-key'
  | 'audit'
  | 'prune'
  | 'drill'
  | 'tombstone'
  | 'wal'
  | 'write-only-key'
  | 'presence'
  | 'write-only-state'
  | 'forget-request';

function deriveObjectKey(key: Uint8Array, salt: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, 'lifeboat object v1', 32));
}

/** The sealing session of one key in this thread: its salt, derived key and next nonce. */
interface SealSession {
  salt: Buffer;
  key: Buffer;
  counter: number;
}
const sessions = new Map<string, SealSession>();

function sessionFor(key: Uint8Array): SealSession {
  const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  let session = sessions.get(id);
  if (!session || session.counter >= NONCES_PER_SALT) {
    const salt = randomBytes(SALT_BYTES);
    // A session sealing key is ephemeral public key ‖ session key: the second half keys the envelopes.
    const k = isSessionKey(key) ? key.subarray(PUBLIC_KEY_BYTES) : key;
    session = { salt, key: deriveObjectKey(k, salt), counter: 0 };
    sessions.set(id, session);
  }
  return session;
}

/** Derived keys of salts seen while opening (envelopes of one pack share a salt). */
const openKeys = new Map<string, Buffer>();

function openKeyFor(key: Uint8Array, salt: Buffer): Buffer {
  const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1') + salt.toString('latin1');
  let k = openKeys.get(id);
  if (!k) {
    if (openKeys.size >= 1024) openKeys.clear();
    k = deriveObjectKey(key, salt);
    openKeys.set(id, k);
  }
  return k;
}

function aad(kind: ObjectKind, context: Uint8Array | undefined): Buffer {
  return context ? Buffer.concat([Buffer.from(kind), context]) : Buffer.from(kind);
}

/**
 * Ciphertext pieces up to this size (a blob's codec byte) are copied next to
 * the header and tag instead of kept in a buffer of their own: every buffer
 * is an allocation and, in the workers, a transfer.
 */
const SMALL_PIECE = 256;

/**
 * `seal`, with the envelope returned in pieces that concatenate to it (header,
 * ciphertext pieces, tag) instead of copied into one buffer: for callers that
 * copy it somewhere anyway (a pack). The header, the small ciphertext pieces
 * and the tag share one buffer; each large piece has its own. No other buffer
 * uses their ArrayBuffers, so the pieces can be transferred between threads.
 */
export function sealParts(
  key: Uint8Array,
  kind: ObjectKind,
  plaintext: readonly Uint8Array[],
  context?: Uint8Array,
): Buffer[] {
  const session = sessionFor(key);
  // AES-GCM ciphertext is as long as its plaintext, so the shared buffer is sized now.
  let small = 0;
  for (const part of plaintext) if (part.length <= SMALL_PIECE) small += part.length;
  const slab = Buffer.allocUnsafeSlow(headerBytes(key) + small + TAG_BYTES);
  const nonce = writeHeader(slab, key, session);
  const cipher = createCipheriv('aes-256-gcm', session.key, nonce);
  cipher.setAAD(aad(kind, context));
  const out: Buffer[] = [];
  // slab[start, at) is the run of header and small pieces not yet in `out`.
  let start = 0;
  let at = headerBytes(key);
  const endRun = () => {
    if (at > start) out.push(slab.subarray(start, at));
    start = at;
  };
  for (const part of plaintext) {
    const c = cipher.update(part);
    if (part.length <= SMALL_PIECE) {
      if (c.length !== part.length) throw new Error('AES-GCM ciphertext length differs from the plaintext');
      at += c.copy(slab, at);
    } else {
      endRun();
      if (c.length) out.push(owned(c));
    }
  }
  const f = cipher.final();
  if (f.length) {
    endRun();
    out.push(owned(f));
  }
  at += cipher.getAuthTag().copy(slab, at);
  endRun();
  return out;
}

/** A buffer that owns its whole ArrayBuffer (small ones come from Node's shared pool). */
function owned(b: Buffer): Buffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b;
  const copy = Buffer.allocUnsafeSlow(b.length);
  b.copy(copy);
  return copy;
}

function headerBytes(key: Uint8Array): number {
  return isSessionKey(key) ? HEADER_BYTES + PUBLIC_KEY_BYTES : HEADER_BYTES;
}

/**
 * Write the envelope header for `key` into `out`: version 1, or version 2 with
 * the session's ephemeral public key; then the key salt and the nonce (4 zero
 * bytes, then the 8-byte counter of this session: the session key is unique).
 * Returns the nonce.
 */
function writeHeader(out: Buffer, key: Uint8Array, session: SealSession): Buffer {
  let pos = 1;
  if (isSessionKey(key)) {
    out[0] = SESSION_ENVELOPE_VERSION;
    pos += Buffer.from(key.buffer, key.byteOffset, PUBLIC_KEY_BYTES).copy(out, pos);
  } else out[0] = ENVELOPE_VERSION;
  pos += session.salt.copy(out, pos);
  const nonce = out.subarray(pos, pos + NONCE_BYTES);
  nonce.writeUInt32BE(0, 0);
  nonce.writeBigUInt64BE(BigInt(session.counter++), 4);
  return nonce;
}

/** Seal a plaintext given whole or in parts (parts are encrypted in order, without joining them first). */
export function seal(
  key: Uint8Array,
  kind: ObjectKind,
  plaintext: Uint8Array | readonly Uint8Array[],
  context?: Uint8Array,
): Buffer {
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  const length = parts.reduce((n, p) => n + p.length, 0);
  const session = sessionFor(key);
  const out = Buffer.allocUnsafe(headerBytes(key) + TAG_BYTES + length);
  const nonce = writeHeader(out, key, session);
  const cipher = createCipheriv('aes-256-gcm', session.key, nonce);
  cipher.setAAD(aad(kind, context));
  let pos = headerBytes(key);
  for (const part of parts) pos += cipher.update(part).copy(out, pos);
  pos += cipher.final().copy(out, pos);
  cipher.getAuthTag().copy(out, pos);
  return out;
}

/**
 * Decrypt and authenticate. Throws `corrupt` when anything does not verify.
 * `key` is the repository encryption key, which opens version 1 envelopes and
 * (through the sealing key pair) version 2 ones; or a write session's key,
 * which opens only the version 2 envelopes of that same session.
 */
export function open(key: Uint8Array, kind: ObjectKind, envelope: Uint8Array, context?: Uint8Array): Buffer {
  const version = envelope[0];
  const extra = version === SESSION_ENVELOPE_VERSION ? PUBLIC_KEY_BYTES : 0;
  if (envelope.length < ENVELOPE_OVERHEAD + extra) {
    throw new LifeboatError(ErrorCode.Corrupt, `encrypted ${kind} is too short (${envelope.length} bytes)`);
  }
  if (version !== ENVELOPE_VERSION && version !== SESSION_ENVELOPE_VERSION) {
    throw new LifeboatError(ErrorCode.Corrupt, `encrypted ${kind} has unknown envelope version ${version}`);
  }
  const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  const k = envelopeKey(key, kind, buf, version);
  const salt = buf.subarray(1 + extra, 1 + extra + SALT_BYTES);
  const nonce = buf.subarray(1 + extra + SALT_BYTES, HEADER_BYTES + extra);
  const body = buf.subarray(HEADER_BYTES + extra, buf.length - TAG_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', openKeyFor(k, salt), nonce);
  decipher.setAAD(aad(kind, context));
  decipher.setAuthTag(tag);
  try {
    const head = decipher.update(body);
    const tail = decipher.final();
    return tail.length ? Buffer.concat([head, tail]) : head;
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `${kind} failed authentication (corrupted or tampered)`, { cause });
  }
}

/** The key `K` of §3 for this envelope (see `open`). */
function envelopeKey(key: Uint8Array, kind: ObjectKind, envelope: Buffer, version: number): Uint8Array {
  if (!isSessionKey(key)) {
    return version === ENVELOPE_VERSION ? key : sessionKeyFor(key, envelope.subarray(1, 1 + PUBLIC_KEY_BYTES));
  }
  const ephemeral = Buffer.from(key.buffer, key.byteOffset, PUBLIC_KEY_BYTES);
  if (version === SESSION_ENVELOPE_VERSION && ephemeral.equals(envelope.subarray(1, 1 + PUBLIC_KEY_BYTES))) {
    return key.subarray(PUBLIC_KEY_BYTES);
  }
  throw new LifeboatError(
    ErrorCode.RoleRefused,
    `this ${kind} cannot be opened with a write-only key: it was not sealed by this write session`,
  );
}

/**
 * The keyed id of a blob: HMAC-SHA256 under the repository's id key. The one
 * place the formula lives: workers, the main thread and tests all call it.
 */
export function blobId(idKey: Uint8Array, data: Uint8Array): BlobId {
  return createHmac('sha256', idKey).update(data).digest() as BlobId;
}

/** The blob id of `data`, written into `out` at `offset` (32 bytes). */
export function blobIdInto(idKey: Uint8Array, data: Uint8Array, out: Buffer, offset: number): void {
  blobId(idKey, data).copy(out, offset);
}

/**
 * The keys of a repository, all derived from one 32-byte master secret (the
 * thing a key slot or a paper key protects).
 */
export interface RepositoryKeys {
  master: Buffer;
  /** Encrypts every object. */
  encryption: Buffer;
  /** Keys blob ids, so ids reveal nothing about content to someone without the key. */
  blobId: Buffer;
  /** Seeds the chunker's gear table, so chunk boundaries are keyed too. */
  chunker: Buffer;
}

export const MASTER_SECRET_BYTES = 32;

export function deriveRepositoryKeys(master: Uint8Array): RepositoryKeys {
  if (master.length !== MASTER_SECRET_BYTES) {
    throw new LifeboatError(ErrorCode.WrongPassword, 'master key has the wrong length');
  }
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  return {
    master: Buffer.from(master),
    encryption: derive('lifeboat encryption v1'),
    blobId: derive('lifeboat blob id v1'),
    chunker: derive('lifeboat chunker v1'),
  };
}

export function newMasterSecret(): Buffer {
  return randomBytes(MASTER_SECRET_BYTES);
}
