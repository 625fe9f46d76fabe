/**
 * Sealing to the repository's public key (format document §3.1): the key pair
 * that lets a write-only host write envelopes it cannot open later.
 *
 * Every repository has an X25519 key pair derived from its encryption key, so
 * every existing repository has one without rewriting anything and every
 * holder of the encryption key (admin and append keys, the recovery key) can
 * open what is sealed to it. A write-only session draws an ephemeral key pair;
 * its session key is HKDF of the X25519 shared secret. Envelopes of version 2
 * carry the ephemeral public key, so a reader with the encryption key derives
 * the session key from the envelope alone; the writer forgets the session key
 * when its process ends.
 *
 * @module
 */

import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { ErrorCode, LifeboatError } from '../../errors/index.js';

export const PUBLIC_KEY_BYTES = 32;
/** A session sealing key: the session's ephemeral public key ‖ its 32-byte session key. */
export const SESSION_KEY_BYTES = 64;

// DER prefixes of an X25519 private key (PKCS#8) and public key (SPKI) of 32 raw bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES) {
    throw new LifeboatError(ErrorCode.Corrupt, `a sealing public key has ${raw.length} bytes instead of 32`);
  }
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));
}

/** The repository's sealing private key (32 raw bytes), derived from its encryption key. */
function sealingPrivateKey(encryptionKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'lifeboat sealing v1', 32));
}

/** The repository's sealing public key (32 raw bytes): what a write-only key slot carries. */
export function sealingPublicKey(encryptionKey: Uint8Array): Buffer {
  return rawPublicKey(createPublicKey(privateKeyFromRaw(sealingPrivateKey(encryptionKey))));
}

function sessionKeyFrom(shared: Buffer, ephemeral: Uint8Array, recipient: Uint8Array): Buffer {
  return Buffer.from(
    hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), 'lifeboat write session v1', 32),
  );
}

/**
 * A new write session sealed to `publicKey`: ephemeral public key ‖ session
 * key (64 bytes). Sealing with it writes version 2 envelopes; the ephemeral
 * private key is dropped here, so only the repository's private key can
 * derive the session key again.
 */
export function newSessionKey(publicKey: Uint8Array): Buffer {
  const recipient = publicKeyFromRaw(publicKey);
  const { publicKey: ephPub, privateKey: ephPriv } = generateKeyPairSync('x25519');
  const ephemeral = rawPublicKey(ephPub);
  const shared = diffieHellman({ privateKey: ephPriv, publicKey: recipient });
  return Buffer.concat([ephemeral, sessionKeyFrom(shared, ephemeral, publicKey)]);
}

/** Whether a sealing key is a write session's (version 2 envelopes) rather than the repository key. */
export function isSessionKey(key: Uint8Array): boolean {
  return key.length === SESSION_KEY_BYTES;
}

const derivedSessionKeys = new Map<string, Buffer>();

/**
 * The session key of the envelope whose ephemeral public key is `ephemeral`,
 * derived with the repository's private key (from `encryptionKey`). Cached:
 * every envelope of one session carries the same ephemeral key.
 */
export function sessionKeyFor(encryptionKey: Uint8Array, ephemeral: Uint8Array): Buffer {
  const id = Buffer.concat([encryptionKey, ephemeral]).toString('latin1');
  let key = derivedSessionKeys.get(id);
  if (!key) {
    const priv = sealingPrivateKey(encryptionKey);
    const recipient = sealingPublicKey(encryptionKey);
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: privateKeyFromRaw(priv), publicKey: publicKeyFromRaw(ephemeral) });
    } catch (cause) {
      throw new LifeboatError(ErrorCode.Corrupt, 'an envelope carries an invalid session public key', { cause });
    }
    key = sessionKeyFrom(shared, ephemeral, recipient);
    if (derivedSessionKeys.size >= 1024) derivedSessionKeys.clear();
    derivedSessionKeys.set(id, key);
  }
  return key;
}
