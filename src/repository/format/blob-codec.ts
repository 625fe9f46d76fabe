/**
 * A blob on its way into a pack: its plaintext is `codec byte ‖ payload`,
 * sealed in one envelope. These functions are pure and run in worker threads.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
// The inner file, not the crypto face: this file runs in the worker threads too (see seal-worker.ts).
import { blobId, open, seal, sealParts } from '../crypto/crypto.js';
import { Codec, type BlobCompressor, type Compressed } from './codec.js';
import type { BlobId } from './blob-types.js';

export interface SealedBlob {
  id: BlobId;
  sealed: Buffer;
  rawLength: number;
}

const CODEC_BYTE: Record<Codec, Buffer> = {
  [Codec.Raw]: Buffer.from([Codec.Raw]),
  [Codec.Zstd]: Buffer.from([Codec.Zstd]),
};

/** Seal already-compressed content: plaintext is the codec byte, then the payload. */
export function sealCompressed(encKey: Buffer, id: Buffer, compressed: Compressed): Buffer {
  return seal(encKey, 'blob', [CODEC_BYTE[compressed.codec], compressed.payload], id);
}

/** Compress and check as `sealVerified`; the envelope in pieces (see `sealParts`), for a pack to copy. */
export function sealVerifiedParts(
  encKey: Buffer,
  compressor: BlobCompressor,
  id: BlobId,
  data: Buffer,
): { id: BlobId; sealed: Buffer[]; rawLength: number } {
  const compressed = compressVerified(compressor, data);
  return {
    id,
    sealed: sealParts(encKey, 'blob', [CODEC_BYTE[compressed.codec], compressed.payload], id),
    rawLength: data.length,
  };
}

function compressVerified(compressor: BlobCompressor, data: Buffer): Compressed {
  const compressed = compressor.compress(data);
  if (compressed.codec !== Codec.Raw && !compressor.decodesTo(compressed, data)) {
    throw new LifeboatError(
      ErrorCode.Corrupt,
      'compression produced data that does not decompress to the input; nothing was stored',
    );
  }
  return compressed;
}

/**
 * Compress, prove the compressed form decodes to the input, then seal: a
 * faulty compressor must never produce an unrestorable backup. (Encryption is
 * deterministic code, not data-dependent, so decompression is what is checked.)
 * Used for every blob, in the workers and on the main thread.
 */
export function sealVerified(encKey: Buffer, compressor: BlobCompressor, id: BlobId, data: Buffer): SealedBlob {
  const compressed = compressVerified(compressor, data);
  return { id, sealed: sealCompressed(encKey, id, compressed), rawLength: data.length };
}

/**
 * Decrypt (authenticating the blob against its id, which is bound as AAD) and
 * decompress. With `verifyContent` (the default; restore, dump and
 * `check --read-data` use it) the content is also re-hashed and compared with
 * the id, which catches a blob stored under the id of other content. With
 * `transient` the result may lie in a buffer the compressor reuses (see
 * `BlobCompressor.decompress`). `spent`, when given, receives the decrypted
 * payload, which the result may be a view of: the caller may release it once
 * it is done with the result.
 */
export function openBlob(
  encKey: Buffer,
  idKey: Buffer,
  compressor: BlobCompressor,
  expectedId: Buffer,
  sealed: Buffer,
  rawLength: number,
  verifyContent = true,
  transient = false,
  spent?: Buffer[],
): Buffer {
  const plaintext = open(encKey, 'blob', sealed, expectedId);
  spent?.push(plaintext);
  if (plaintext.length < 1) throw new LifeboatError(ErrorCode.Corrupt, 'blob is empty');
  const data = compressor.decompress(plaintext[0]!, plaintext.subarray(1), rawLength, transient);
  if (!verifyContent) return data;
  const actual = blobId(idKey, data);
  if (!actual.equals(expectedId)) {
    throw new LifeboatError(
      ErrorCode.Corrupt,
      `blob ${expectedId.toString('hex').slice(0, 12)} has content of another id`,
      {
        context: { expected: expectedId.toString('hex'), actual: actual.toString('hex') },
      },
    );
  }
  return data;
}
