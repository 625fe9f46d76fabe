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
 * @module
 */

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
// The type only, from its own file: the format room's face imports this file.
import type { BlobId } from '../format/blob-types.js';

export const ENVELOPE_VERSION = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + SALT_BYTES + NONCE_BYTES;
export const ENVELOPE_OVERHEAD = HEADER_BYTES + TAG_BYTES;
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
  | 'forget-request'
  | 'wal';

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
    session = { salt, key: deriveObjectKey(key, salt), counter: 0 };
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
 * `seal`, with the envelope returned in pieces that concatenate to it (header,
 * ciphertext pieces, tag) instead of copied into one buffer: for callers that
 * copy it somewhere anyway (a pack). Every piece owns its ArrayBuffer, so it
 * can be transferred between threads.
 */
export function sealParts(
  key: Uint8Array,
  kind: ObjectKind,
  plaintext: readonly Uint8Array[],
  context?: Uint8Array,
): Buffer[] {
  const session = sessionFor(key);
  const header = Buffer.allocUnsafeSlow(HEADER_BYTES);
  header[0] = ENVELOPE_VERSION;
  session.salt.copy(header, 1);
  const nonce = header.subarray(1 + SALT_BYTES, HEADER_BYTES);
  nonce.writeUInt32BE(0, 0);
  nonce.writeBigUInt64BE(BigInt(session.counter++), 4);
  const cipher = createCipheriv('aes-256-gcm', session.key, nonce);
  cipher.setAAD(aad(kind, context));
  const out: Buffer[] = [header];
  for (const part of plaintext) {
    const c = cipher.update(part);
    if (c.length) out.push(owned(c));
  }
  const f = cipher.final();
  if (f.length) out.push(owned(f));
  out.push(owned(cipher.getAuthTag()));
  return out;
}

/** A buffer that owns its whole ArrayBuffer (small ones come from Node's shared pool). */
function owned(b: Buffer): Buffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b;
  const copy = Buffer.allocUnsafeSlow(b.length);
  b.copy(copy);
  return copy;
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
  const out = Buffer.allocUnsafe(ENVELOPE_OVERHEAD + length);
  out[0] = ENVELOPE_VERSION;
  session.salt.copy(out, 1);
  // Nonce: 4 zero bytes, then the 8-byte counter of this session (the session key is unique).
  const nonce = out.subarray(1 + SALT_BYTES, HEADER_BYTES);
  nonce.writeUInt32BE(0, 0);
  nonce.writeBigUInt64BE(BigInt(session.counter++), 4);
  const cipher = createCipheriv('aes-256-gcm', session.key, nonce);
  cipher.setAAD(aad(kind, context));
  let pos = HEADER_BYTES;
  for (const part of parts) pos += cipher.update(part).copy(out, pos);
  pos += cipher.final().copy(out, pos);
  cipher.getAuthTag().copy(out, pos);
  return out;
}

/** Decrypt and authenticate. Throws `corrupt` when anything does not verify. */
export function open(key: Uint8Array, kind: ObjectKind, envelope: Uint8Array, context?: Uint8Array): Buffer {
  if (envelope.length < ENVELOPE_OVERHEAD) {
    throw new LifeboatError(ErrorCode.Corrupt, `encrypted ${kind} is too short (${envelope.length} bytes)`);
  }
  if (envelope[0] !== ENVELOPE_VERSION) {
    throw new LifeboatError(ErrorCode.Corrupt, `encrypted ${kind} has unknown envelope version ${envelope[0]}`);
  }
  const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  const salt = buf.subarray(1, 1 + SALT_BYTES);
  const nonce = buf.subarray(1 + SALT_BYTES, HEADER_BYTES);
  const body = buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', openKeyFor(key, salt), nonce);
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
