import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobId, open, seal } from './crypto.js';
import type { BlobCompressor } from './codec.js';

/**
 * A blob on its way into a pack: its plaintext is `codec byte ‖ payload`,
 * sealed in one envelope. These functions are pure and run in worker threads.
 */
export interface SealedBlob {
  id: Buffer;
  sealed: Buffer;
  rawLength: number;
}

export function sealBlob(encKey: Buffer, compressor: BlobCompressor, id: Buffer, data: Buffer): SealedBlob {
  const { codec, payload } = compressor.compress(data);
  const plaintext = Buffer.allocUnsafe(1 + payload.length);
  plaintext[0] = codec;
  payload.copy(plaintext, 1);
  return { id, sealed: seal(encKey, 'blob', plaintext), rawLength: data.length };
}

/**
 * Decrypt, decompress and check that the content hashes to the expected id:
 * a blob that was swapped for another valid blob is caught here too.
 */
export function openBlob(
  encKey: Buffer,
  idKey: Buffer,
  compressor: BlobCompressor,
  expectedId: Buffer,
  sealed: Buffer,
  rawLength: number,
): Buffer {
  const plaintext = open(encKey, 'blob', sealed);
  if (plaintext.length < 1) throw new LifeboatError(ErrorCode.Corrupt, 'blob is empty');
  const data = compressor.decompress(plaintext[0]!, plaintext.subarray(1), rawLength);
  const actual = blobId(idKey, data);
  if (!actual.equals(expectedId)) {
    throw new LifeboatError(ErrorCode.Corrupt, `blob ${expectedId.toString('hex').slice(0, 12)} has content of another id`, {
      context: { expected: expectedId.toString('hex'), actual: actual.toString('hex') },
    });
  }
  return data;
}
