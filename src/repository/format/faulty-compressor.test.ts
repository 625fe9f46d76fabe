import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../errors/index.js';
import { openBlob, sealVerified } from './blob-codec.js';
import { BlobCompressor, type Compressed } from './codec.js';
import { blobId, deriveRepositoryKeys } from '../crypto/index.js';

/** A compressor that silently corrupts its output once every `every` calls. */
class CorruptingCompressor extends BlobCompressor {
  calls = 0;
  corrupted = 0;
  constructor(private readonly every: number) {
    super(2);
  }
  override compress(data: Buffer): Compressed {
    const out = super.compress(data);
    if (++this.calls % this.every !== 0 || out.codec === 0) return out;
    this.corrupted++;
    const payload = Buffer.from(out.payload);
    payload[payload.length >> 1]! ^= 0x40; // one flipped bit in the middle of the frame
    return { codec: out.codec, payload };
  }
}

describe('a compressor that corrupts 1 call in 1000', () => {
  it('is caught before anything is sealed: every corrupted call fails, every sealed blob restores', () => {
    const keys = deriveRepositoryKeys(randomBytes(32));
    const faulty = new CorruptingCompressor(1000);
    const honest = new BlobCompressor(2);
    let failures = 0;
    for (let i = 0; i < 5000; i++) {
      // Compressible content (text with a counter), so every call really compresses.
      const data = Buffer.from(`record ${i} `.repeat(200 + (i % 50)));
      const id = blobId(keys.blobId, data);
      let sealed;
      try {
        sealed = sealVerified(keys.encryption, faulty, id, data);
      } catch (err) {
        expect(isLifeboatError(err, 'corrupt')).toBe(true);
        failures++;
        continue;
      }
      // What was sealed decodes, authenticated, to exactly the input.
      expect(openBlob(keys.encryption, keys.blobId, honest, id, sealed.sealed, data.length).equals(data)).toBe(true);
    }
    expect(faulty.corrupted).toBe(5);
    expect(failures).toBe(faulty.corrupted);
  });
});
