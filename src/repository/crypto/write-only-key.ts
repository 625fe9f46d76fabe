/**
 * What a write-only key slot (version 3, format document §2.2) seals: enough
 * to add backups that deduplicate with every other host — the repository's
 * settings, its sealing public key, the blob-id and chunker keys and the
 * presence key — and a key for the host's own local state. Never the master
 * secret nor the encryption key: nothing in it opens an object of the
 * repository.
 *
 * @module
 */

import { hkdfSync, randomBytes } from 'node:crypto';
import type { ChunkerParams } from '../chunking/index.js';
import { deriveRepositoryKeys } from './crypto.js';
import { sealingPublicKey } from './sealing.js';

/** The repository settings a write-only host needs (a copy of the fields of `config` it cannot read). */
export interface WriteOnlyRepositorySettings {
  id: string;
  version: number;
  chunker: ChunkerParams;
  compression: { codec: 'zstd'; level: number };
  packSize: number;
}

export interface WriteOnlyKey {
  repository: WriteOnlyRepositorySettings;
  /** The repository's X25519 sealing public key (sealing.ts). */
  publicKey: Buffer;
  blobId: Buffer;
  chunker: Buffer;
  /** Opens presence sidecars (the blob ids each index file names). */
  presence: Buffer;
  /** Random per slot: seals this host's own local state (its last trees); not derived from the master. */
  state: Buffer;
}

/** The presence key of a repository, derived from its master secret. */
export function derivePresenceKey(master: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'lifeboat presence v1', 32));
}

/** The material of a new write-only slot of the repository with this master secret. */
export function newWriteOnlyKey(master: Buffer, repository: WriteOnlyRepositorySettings): WriteOnlyKey {
  const keys = deriveRepositoryKeys(master);
  return {
    repository,
    publicKey: sealingPublicKey(keys.encryption),
    blobId: keys.blobId,
    chunker: keys.chunker,
    presence: derivePresenceKey(master),
    state: randomBytes(32),
  };
}

const b64 = (b: Buffer) => b.toString('base64');

export function encodeWriteOnlyKey(key: WriteOnlyKey): Buffer {
  return Buffer.from(
    JSON.stringify({
      role: 'write-only',
      repository: key.repository,
      publicKey: b64(key.publicKey),
      blobId: b64(key.blobId),
      chunker: b64(key.chunker),
      presence: b64(key.presence),
      state: b64(key.state),
    }),
  );
}

/** The sealed plaintext of a version 3 slot, or undefined when it is not one. */
export function decodeWriteOnlyKey(plain: Buffer): WriteOnlyKey | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || v.role !== 'write-only') return undefined;
  const key = (name: string) => {
    const s = v[name];
    const b = typeof s === 'string' ? Buffer.from(s, 'base64') : undefined;
    return b?.length === 32 ? b : undefined;
  };
  const r = v.repository as Partial<WriteOnlyRepositorySettings> | undefined;
  const [publicKey, blobId, chunker, presence, state] = ['publicKey', 'blobId', 'chunker', 'presence', 'state'].map(
    key,
  );
  if (
    !publicKey ||
    !blobId ||
    !chunker ||
    !presence ||
    !state ||
    typeof r?.id !== 'string' ||
    typeof r.version !== 'number' ||
    typeof r.packSize !== 'number' ||
    typeof r.chunker !== 'object' ||
    typeof r.compression !== 'object'
  )
    return undefined;
  return { repository: r as WriteOnlyRepositorySettings, publicKey, blobId, chunker, presence, state };
}
